"""Text output for people: tables fit 80 columns without cutting ids, dates or amounts; money and counts
carry thousands separators (JSON does not); one mark for "not defined"; zh-CN from --lang or the locale;
`compliance check` names each rule with its own reason, in the debtor's zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from arrears.entrypoints.cli.language import CATALOGUES, _catalogue
from arrears.entrypoints.cli.output import Column, fitted_table, grouped
from tests.cli.conftest import run_arrears

CLI_SOURCE = Path(__file__).resolve().parents[2] / "src" / "arrears" / "entrypoints" / "cli"
AS_OF = "2026-03-31"


@pytest.fixture
def portfolio_store(cli, store_url, tmp_path) -> str:
    """A small synthetic portfolio loaded and run as of AS_OF (SQLite and PostgreSQL)."""
    out = str(tmp_path / "portfolio")
    result = cli(
        "sim", "portfolio", "--borrowers", "60", "--seed", "4", "--as-of", AS_OF, "--out", out, "--load"
    )
    assert result.code == 0, result.stderr
    assert cli("run", "--as-of", AS_OF).code == 0
    return store_url


def test_outbox_list_at_80_columns_prints_every_id_and_day_whole(portfolio_store) -> None:
    rows = json.loads(run_arrears("outbox", "list", "--limit", "8", "--json").stdout)
    assert rows
    done = run_arrears("outbox", "list", "--limit", "8", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    for row in rows:
        assert row["loan_id"] in done.stdout
        assert row["day"] in done.stdout
    assert "…" not in done.stdout
    assert "not shown at this width" in done.stdout  # the low-priority columns gave way, named


def test_account_show_at_80_columns_keeps_dates_and_amounts_whole(portfolio_store) -> None:
    loan = json.loads(run_arrears("outbox", "list", "--limit", "1", "--json").stdout)[0]["loan_id"]
    data = json.loads(run_arrears("account", "show", loan, "--as-of", AS_OF, "--json").stdout)
    done = run_arrears("account", "show", loan, "--as-of", AS_OF, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    for instalment in data["instalments"]:
        assert instalment["due"] in done.stdout
        assert grouped(instalment["outstanding"]["total"]) in done.stdout
    assert "…" not in done.stdout


def test_money_and_counts_carry_separators_in_text_and_not_in_json(portfolio_store) -> None:
    data = json.loads(run_arrears("portfolio", "--as-of", AS_OF, "--json").stdout)
    total = next(b for b in data["buckets"] if b["bucket"] == "total")
    assert float(total["outstanding"]) >= 1000 and "," not in total["outstanding"]
    text = run_arrears("portfolio", "--as-of", AS_OF).stdout
    assert grouped(total["outstanding"]) in text
    assert re.search(r"\d{1,3}(,\d{3})+\.\d\d", text)


def test_undefined_kpis_print_one_mark(store_url, cli) -> None:
    """An empty store: every rate has nothing to divide by."""
    assert run_arrears("db", "upgrade").returncode == 0
    done = run_arrears("kpi", "--from", "2026-01-01", "--to", "2026-01-31")
    assert done.returncode == 0, done.stderr
    assert "—" in done.stdout
    assert "–" not in done.stdout  # the en dash once used for the same thing
    assert (
        json.loads(run_arrears("kpi", "--from", "2026-01-01", "--to", "2026-01-31", "--json").stdout)[
            "cure_rate"
        ]
        is None
    )


def test_zh_cn_from_the_option_and_from_the_locale(portfolio_store) -> None:
    english = run_arrears("portfolio", "--as-of", AS_OF)
    assert "Portfolio by bucket" in english.stdout
    by_option = run_arrears("--lang", "zh-CN", "portfolio", "--as-of", AS_OF)
    by_locale = run_arrears("portfolio", "--as-of", AS_OF, env={"LANG": "zh_CN.UTF-8"})
    for done in (by_option, by_locale):
        assert done.returncode == 0, done.stderr
        assert "按账龄段的资产组合" in done.stdout and "账户数" in done.stdout
        assert "Portfolio by bucket" not in done.stdout
    # LC_ALL wins over LANG, as gettext reads them; --lang wins over both
    assert (
        "账龄段"
        not in run_arrears("portfolio", "--as-of", AS_OF, env={"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}).stdout
    )
    assert (
        "账龄段"
        not in run_arrears(
            "--lang", "en", "portfolio", "--as-of", AS_OF, env={"LC_ALL": "zh_CN.UTF-8"}
        ).stdout
    )
    # JSON is never translated
    assert (
        run_arrears("--lang", "zh-CN", "portfolio", "--as-of", AS_OF, "--json").stdout
        == run_arrears("portfolio", "--as-of", AS_OF, "--json").stdout
    )
    zh_outbox = run_arrears("--lang", "zh-CN", "outbox", "list", "--limit", "3").stdout
    assert "发件箱" in zh_outbox and "贷款" in zh_outbox


def test_an_unknown_language_is_bad_input() -> None:
    done = run_arrears("--lang", "fr", "--version")
    assert done.returncode in (0, 2)  # --version is eager: it may answer first
    done = run_arrears("--lang", "fr", "policy", "validate", "policies/segmented.yaml")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: field '--lang': unknown language 'fr' (use en or zh-CN)"


def test_every_message_of_the_cli_has_a_chinese_translation() -> None:
    catalogue = _catalogue("zh-CN")
    messages = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(CLI_SOURCE), method_map=[("**.py", "python")], keywords={"_": None}
        )
    }
    assert messages, "no messages found"
    missing = sorted(m for m in messages if not catalogue.get(m))
    assert missing == [], f"add to {CATALOGUES}/zh_CN/LC_MESSAGES/cli.po: {missing}"
    for message in messages:  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", message)) == set(re.findall(r"{(\w+)}", catalogue[message])), (
            message
        )


CAP = """\
profile: cn
debtor: {timezone: Asia/Shanghai}
history:
  - {channel: call, at: "2026-03-09T09:00:00+08:00", outcome: connected, target: "+8613800138000"}
  - {channel: call, at: "2026-03-09T10:00:00+08:00", outcome: connected, target: "+8613800138000"}
  - {channel: call, at: "2026-03-09T11:00:00+08:00", outcome: connected, target: "+8613800138000"}
attempt: {channel: call, at: "2026-03-09T07:00:00Z", target: "+8613800138000"}
"""


def test_compliance_check_names_each_rule_with_its_own_reason_in_the_debtors_zone(tmp_path: Path) -> None:
    doc = tmp_path / "cap.yaml"
    doc.write_text(CAP, encoding="utf-8")
    done = run_arrears("compliance", "check", str(doc), env={"COLUMNS": "200"})
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["DEFER", "profile", "cn", "at", "2026-03-09T15:00:00+08:00"]
    assert "next allowed at 2026-03-10T08:00:00+08:00" in lines
    cap = lines.index("cn.calls.connected_per_day (defer until 2026-03-10T00:00:00+08:00)")
    assert lines[cap + 1].strip().startswith("cap reached: 3 of at most 3")
    then = lines.index("then at 2026-03-10T00:00:00+08:00, the first instant the rules above allow:")
    assert then > cap + 1
    assert lines[then + 1] == "cn.hours (defer until 2026-03-10T08:00:00+08:00)"
    assert "local time 00:00" in lines[then + 2]
    assert "+00:00" not in done.stdout  # every instant in the debtor's zone, as the JSON prints them
    data = json.loads(run_arrears("compliance", "check", str(doc), "--json").stdout)
    assert data["rules"] == ["cn.calls.connected_per_day", "cn.hours"]
    assert data["details"][0]["until"] == "2026-03-10T00:00:00+08:00"
    chinese = run_arrears("--lang", "zh-CN", "compliance", "check", str(doc), env={"COLUMNS": "200"}).stdout
    assert chinese.splitlines()[0].startswith("推迟")
    assert "已达上限" in chinese and "cap reached" not in chinese


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grouping_keeps_the_amount(minor: int) -> None:
    text = f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"
    shown = grouped(text)
    assert shown.replace(",", "") == text
    whole = shown.lstrip("-").split(".")[0].split(",")
    assert all(len(group) == 3 for group in whole[1:]) and 1 <= len(whole[0]) <= 3


ids = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=4, max_size=16)
prose = st.text(alphabet="abcdefghij klmnopq_", min_size=0, max_size=60)


@given(
    width=st.integers(min_value=60, max_value=160),
    rows=st.lists(st.tuples(ids, ids, prose, prose), min_size=1, max_size=5),
)
def test_a_fitted_table_never_cuts_a_key_column(width: int, rows) -> None:
    columns = [Column("id", "key"), Column("day", "key"), Column("note", drop=1), Column("more", drop=2)]
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(fitted_table(columns, [list(r) for r in rows], console=console))
    out = console.export_text()
    assert all(len(line) <= width for line in out.splitlines())
    for key, day, _note, _more in rows:
        assert key in out and day in out
