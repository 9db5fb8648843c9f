"""The summaries and tables of `db info`, `import`, `templates lint`, `policy validate` / `features` and
`dispatch` fit 80 columns without cutting names, ids or counts, print counts with separators (JSON keeps plain
numbers), and follow `--lang` given before or after the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from arrears.domain.features import FEATURES
from arrears.entrypoints.cli.language import lang_first
from tests.cli.conftest import run_arrears

ROOT = Path(__file__).resolve().parents[2]
BAD_TEMPLATES = ROOT / "tests" / "compliance" / "fixtures" / "templates" / "bad"

LOANS = """\
loan_id,borrower_id,product,currency,seq,due_date,principal,interest,fees,opened_on
L1,B1,baitiao-3,CNY,1,2026-02-10,333.33,20.00,,2026-01-10
L1,B1,baitiao-3,CNY,2,2026-03-10,333.33,20.00,0,2026-01-10
L2,B2,baitiao-30d,CNY,1,2026-02-15,800.00,,,2026-01-16
"""


def fits(text: str, width: int = 80) -> bool:
    return all(len(line) <= width for line in text.splitlines()) and "…" not in text


def figure(text: str, name: str) -> str:
    """The value beside `name` in a figures table (name │ value)."""
    found = re.search(rf"│ {re.escape(name)}\s*│\s*(\S+)\s*│", text)
    assert found, f"{name!r} not in\n{text}"
    return found[1]


def test_lang_moves_to_the_front_from_anywhere_before_a_double_dash() -> None:
    assert lang_first(["kpi", "--from", "2026-01-01", "--lang", "zh-CN"]) == [
        "--lang",
        "zh-CN",
        "kpi",
        "--from",
        "2026-01-01",
    ]
    assert lang_first(["db", "info", "--lang=en", "--json"]) == ["--lang=en", "db", "info", "--json"]
    assert lang_first(["sim", "--", "--lang", "x"]) == ["sim", "--", "--lang", "x"]
    assert lang_first(["policy", "--lang"]) == ["policy", "--lang"]  # no value: click says so


def test_db_info_fits_and_counts_every_table(store_url: str) -> None:
    assert run_arrears("db", "upgrade").returncode == 0
    data = json.loads(run_arrears("db", "info", "--json").stdout)
    assert data["revision"] == data["head"] and data["revision"]
    assert data["rows"]["products"] >= 1 and data["rows"]["loans"] == 0
    assert "alembic_version" not in data["rows"]
    done = run_arrears("db", "info")
    assert done.returncode == 0, done.stderr
    where, table = done.stdout.split("\n", 1)
    assert data["url"] in where  # the URL whole on its line, however long (the terminal wraps it)
    assert fits(table)
    for table, n in data["rows"].items():
        assert re.search(rf"│ {table}\s*│\s*{n:,} │", done.stdout), table
    zh = run_arrears("db", "info", "--lang", "zh-CN").stdout  # --lang after the command
    assert "行数" in zh and f"版本 {data['revision']}" in zh


def test_the_import_summary_is_a_table_of_counts_in_either_language(store_url: str, tmp_path: Path) -> None:
    assert run_arrears("db", "upgrade").returncode == 0
    loans = tmp_path / "a-loans-file-with-a-rather-long-name-so-the-title-has-to-fold-somewhere.csv"
    loans.write_text(LOANS, encoding="utf-8")
    done = run_arrears("import", "loans", str(loans))
    assert done.returncode == 0, done.stderr
    assert fits(done.stdout)
    assert (figure(done.stdout, "rows read"), figure(done.stdout, "written")) == ("3", "3")
    assert (figure(done.stdout, "loans"), figure(done.stdout, "borrowers")) == ("2", "2")
    assert (figure(done.stdout, "duplicates"), figure(done.stdout, "rejected")) == ("0", "0")
    again = run_arrears("import", "loans", str(loans), "--lang", "zh-CN")
    assert again.returncode == 0, again.stderr
    assert (figure(again.stdout, "读取行数"), figure(again.stdout, "重复")) == ("3", "3")


def test_templates_lint_counts_findings_per_category_at_80_columns() -> None:
    data = json.loads(run_arrears("templates", "lint", str(BAD_TEMPLATES), "--json").stdout)
    done = run_arrears("templates", "lint", str(BAD_TEMPLATES))
    assert done.returncode == 1
    table = done.stdout[done.stdout.index("finding(s) in") :]
    assert fits(table)
    for category, n in data["counts"].items():
        assert re.search(rf"│ {category}\s*│.*│\s*{n:,} │", table), category


@pytest.mark.parametrize("width", [60, 80])
def test_policy_validate_and_features_keep_every_name_whole(width: int) -> None:
    policy = str(ROOT / "policies" / "segmented.yaml")
    summary = json.loads(run_arrears("policy", "validate", policy, "--json").stdout)[0]
    done = run_arrears("policy", "validate", policy, env={"COLUMNS": str(width)})
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("\n", 2)[2]  # the summary line above may wrap
    assert fits(table, width)
    for segment in summary["segments"]:
        assert re.search(rf"^\s+{segment['name']}\s", table, re.MULTILINE), segment["name"]
    features = run_arrears("policy", "features", env={"COLUMNS": str(width)}).stdout
    assert fits(features, width)
    for name in FEATURES:
        assert re.search(rf"^\s+{name}\s", features, re.MULTILINE), name


def test_policy_validate_in_chinese_with_lang_after_the_command() -> None:
    policy = str(ROOT / "policies" / "segmented.yaml")
    done = run_arrears("policy", "validate", policy, "--lang", "zh-CN")
    assert done.returncode == 0, done.stderr
    assert "条件" in done.stdout and "处置" in done.stdout and "（其余所有人）" in done.stdout
    bad = run_arrears("policy", "validate", policy, "--lang=fr")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: field '--lang': unknown language 'fr' (use en or zh-CN)"


def test_the_dispatch_report_is_a_table_of_outcomes(store_url: str) -> None:
    assert run_arrears("db", "upgrade").returncode == 0
    data = json.loads(run_arrears("dispatch", "--once", "--dev", "--json").stdout)
    done = run_arrears("dispatch", "--once", "--dev")
    assert done.returncode == 0, done.stderr
    assert fits(done.stdout)
    for outcome in ("claimed", "sent", "cancelled", "deferred", "blocked", "failed", "dead"):
        assert figure(done.stdout, outcome) == f"{data[outcome]:,}"
    assert figure(done.stdout, "workers") == "1"
    zh = run_arrears("dispatch", "--once", "--dev", "--lang", "zh-CN").stdout
    assert figure(zh, "已领取") == "0" and figure(zh, "工作进程") == "1"
