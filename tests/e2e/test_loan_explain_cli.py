"""`arrears loan explain` through the real console script: the DESIGN.md contract, tables, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ARREARS = [sys.executable, "-m", "arrears.entrypoints.cli"]

LOAN = """\
currency: CNY
grace_days: 0
late_fee: {daily_rate: "0.0005"}
instalments:
  - {due: 2026-01-10, principal: "800.00", interest: "200.00"}
  - {due: 2026-02-10, principal: "800.00", interest: "200.00"}
payments:
  - {date: 2026-01-15, amount: "302.50"}
  - {date: 2026-02-01, amount: "2000.00"}
"""


WAIVER = """\
waivers:
  - {{date: {date}, amount: "3.00", user: agent1, approver: sup1, reason: goodwill, seq: {seq}}}
"""


def arrears(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARREARS, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def loan_file(tmp_path: Path) -> Path:
    path = tmp_path / "loan.yaml"
    path.write_text(LOAN, encoding="utf-8")
    return path


def test_json_contract(loan_file: Path) -> None:
    result = arrears("loan", "explain", str(loan_file), "--as-of", "2026-01-20", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    for key in (
        "as_of",
        "dpd",
        "delinquent_days",
        "bucket",
        "oldest_unpaid_due",
        "overdue",
        "outstanding",
        "paid",
        "credit",
        "instalments",
    ):
        assert key in out
    assert out["dpd"] == 10 and out["bucket"] == "M1"
    assert out["overdue"] == {
        "principal": "700.00",
        "interest": "0.00",
        "fees": "0.00",
        "late_fee": "1.75",
        "total": "701.75",
    }
    # As of 1 February the 2000.00 settles the first instalment and prepays the second; the rest is credit.
    later = json.loads(arrears("loan", "explain", str(loan_file), "--as-of", "2026-02-20", "--json").stdout)
    assert later["dpd"] == 0 and later["oldest_unpaid_due"] is None
    # first instalment: 700.00 + late fee 01-16..02-01 (17 days × 0.35 = 5.95); second: 1000.00
    assert later["credit"] == "294.05"
    assert [i["status"] for i in later["instalments"]] == ["paid_late", "paid"]


def test_table_output(loan_file: Path) -> None:
    result = arrears("loan", "explain", str(loan_file), "--as-of", "2026-01-20")
    assert result.returncode == 0
    assert "M1" in result.stdout and "701.75" in result.stdout and "overdue" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LOAN.replace('"302.50"', '"30x"'), "loan.yaml:8: field 'payments[0].amount'"),
        (LOAN.replace('"302.50"', '"302.505"'), "payments[0].amount"),
        (LOAN.replace("2026-01-15", "2026-13-15"), "payments[0].date"),
        (LOAN.replace("instalments:", "instalment:"), "instalment"),
        ("instalments: [\n", "invalid YAML"),
        (LOAN.replace('daily_rate: "0.0005"', 'daily_rate: "-1"'), "late_fee.daily_rate"),
        # an instalment number that is not a whole number: never truncated, never a traceback
        (
            LOAN.replace("- {due: 2026-01-10", "- {seq: 1.5, due: 2026-01-10"),
            "loan.yaml:5: field 'instalments[0].seq'",
        ),
        (
            LOAN.replace("- {due: 2026-02-10", "- {seq: abc, due: 2026-02-10"),
            "loan.yaml:6: field 'instalments[1].seq'",
        ),
        (LOAN + WAIVER.format(date="2026-01-15", seq="1.5"), "loan.yaml:11: field 'waivers[0].seq'"),
        (LOAN + WAIVER.format(date="2026-01-15", seq="abc"), "loan.yaml:11: field 'waivers[0].seq'"),
        (
            LOAN + WAIVER.format(date="2026-01-15", seq="3"),
            "field 'waivers[0].seq': there is no instalment 3",
        ),
        # a bucket table must end open-ended
        (
            LOAN.replace(
                "instalments:",
                "buckets: [{name: M0, min: 0, max: 0}, {name: M1, min: 1, max: 30}]\ninstalments:",
            ),
            "loan.yaml:4: field 'buckets[1].max'",
        ),
        # a waiver inside grace, or above the unpaid late fee on its day, is refused (not silently dropped)
        (
            LOAN.replace("grace_days: 0", "grace_days: 3") + WAIVER.format(date="2026-01-12", seq="1"),
            "loan.yaml:11: field 'waivers[0].amount'",
        ),
        (
            LOAN + WAIVER.format(date="2026-01-15", seq="1"),
            "is more than instalment 1's unpaid late fee on that day",
        ),
    ],
)
def test_bad_input_exits_2_with_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "loan.yaml"
    path.write_text(text, encoding="utf-8")
    result = arrears("loan", "explain", str(path), "--as-of", "2026-01-20", "--json")
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_date_option() -> None:
    result = arrears("loan", "explain", "whatever.yaml", "--as-of", "20-01-2026")
    assert result.returncode == 2 and "--as-of" in result.stderr
