"""Litigation as a case through the CLI (SQLite and PostgreSQL): referral leaves the ladder running, filing
holds it (the run plans the day's SMS as blocked by cn.litigation_hold) and takes the loan back from its
agency, closing lets it run again; a court fee is booked as a fee on the loan only where the product's
contract allows it.

    L1 B1 白条 30-day purchase of 1000.00 due 2026-01-10; reminders on days 20, 30 and 50 past due.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

LOANS = """loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,timezone,language
L1,B1,baitiao-30d,CNY,1,2026-01-10,1000.00,0.00,张一,13800000001,Asia/Shanghai,zh-CN
"""
POLICY = """name: litigation-e2e
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: reminders}
ladders:
  reminders:
    - {id: reminder_d20, offset: 20, channel: sms, template: sms/reminder, tone: regular}
    - {id: reminder_d30, offset: 30, channel: sms, template: sms/reminder, tone: regular}
    - {id: reminder_d50, offset: 50, channel: sms, template: sms/reminder, tone: regular}
"""


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    return result


def as_json(result: CliResult) -> Any:
    return json.loads(ok(result).stdout)


def outbox(cli: Cli, day: str) -> list[tuple[str, str, str]]:
    rows = as_json(cli("outbox", "list", "--day", day, "--json"))
    return [(r["step"], r["status"], ",".join(r["rules"])) for r in rows]


def test_a_filed_case_holds_the_ladder_until_it_closes(cli: Cli, store_url: str, tmp_path: Path) -> None:
    (tmp_path / "loans.csv").write_text(LOANS, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    policy = str(tmp_path / "policy.yaml")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    ok(cli("agency", "create", "AG1", "--name", "一号催收", "--commission-rate", "0.18"))
    ok(cli("agency", "place", "AG1", "L1", "--on", "2026-01-20", "--days", "90"))

    case = as_json(cli("litigation", "open", "L1", "--on", "2026-01-25", "--json"))
    # the claim: 1000.00 and 15 days of late fee at 0.05 % a day (11-25 January), 7.50
    assert (case["stage"], case["claim"], case["ladder"]) == ("referred", "1007.50", "continues")
    ok(cli("run", "--as-of", "2026-01-30", "--policy", policy))
    assert outbox(cli, "2026-01-30") == [("reminder_d20", "pending", "")]  # referred: the ladder goes on

    # filing needs the court and its case number
    bad = cli("litigation", "stage", str(case["id"]), "filed", "--on", "2026-02-01")
    assert bad.code == 2 and "case number" in bad.stderr + bad.stdout
    filed = as_json(
        cli("litigation", "stage", str(case["id"]), "filed", "--on", "2026-02-01",
            "--court", "上海市浦东新区人民法院", "--case-number", "(2026)沪0115民初1234号", "--json")
    )  # fmt: skip
    assert (filed["stage"], filed["ladder"]) == ("filed", "held")
    assert {a["id"]: a["holding"] for a in as_json(cli("agency", "list", "--json"))} == {"AG1": 0}

    ok(cli("run", "--as-of", "2026-02-09", "--policy", policy))
    assert outbox(cli, "2026-02-09") == [("reminder_d30", "blocked", "cn.litigation_hold")]

    # stages move forward only
    back = cli("litigation", "stage", str(case["id"]), "referred", "--on", "2026-02-10")
    assert back.code == 2 and "forward" in back.stderr + back.stdout

    # a court fee: refused as a fee where the contract does not allow it, booked where it does
    refused = cli("litigation", "cost", str(case["id"]), "--amount", "500.00", "--kind", "court_fee",
                  "--on", "2026-02-12", "--book-as-fee")  # fmt: skip
    assert refused.code == 2 and "contract" in refused.stderr + refused.stdout
    costed = as_json(
        cli("litigation", "cost", str(case["id"]), "--amount", "500.00", "--kind", "court_fee", "--on",
            "2026-02-12", "--book-as-fee", "--fee-products", "baitiao-30d", "--json")
    )  # fmt: skip
    assert (costed["costs"], costed["costs_booked_as_fees"]) == ("500.00", "500.00")
    account = as_json(cli("account", "show", "L1", "--as-of", "2026-02-12", "--json"))
    assert account["outstanding"]["fees"] == "500.00"

    for stage, day in (("hearing", "2026-02-15"), ("judgment", "2026-02-18"), ("closed", "2026-02-20")):
        ok(cli("litigation", "stage", str(case["id"]), stage, "--on", day))
    ok(cli("run", "--as-of", "2026-03-01", "--policy", policy))
    assert outbox(cli, "2026-03-01") == [("reminder_d50", "pending", "")]  # closed: the ladder runs again
    shown = as_json(cli("litigation", "show", str(case["id"]), "--json"))
    assert [(e["kind"], e["stage"], e["on"]) for e in shown["events"]] == [
        ("stage", "referred", "2026-01-25"),
        ("stage", "filed", "2026-02-01"),
        ("cost", "filed", "2026-02-12"),
        ("stage", "hearing", "2026-02-15"),
        ("stage", "judgment", "2026-02-18"),
        ("stage", "closed", "2026-02-20"),
    ]
