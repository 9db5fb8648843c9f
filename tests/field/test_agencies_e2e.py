"""The policy's agency step end to end through the CLI (SQLite and PostgreSQL): it places each borrower's
delinquent loans together with the agency the allocation rules choose, never a bankrupt borrower's; the
run recalls the placements at their recall date and places the loans again elsewhere; the commission
statement pays each agency its rate on what it recovered while it held the loan.

    loans (白条 30-day purchases, due 2026-01-10):  L1 B1 1000.00 · L2 B1 500.00 · L3 B2 2000.00 · L4 B3 800.00
    agencies:  AG1 18 % · capacity 2 · M2 only · 20-day placements
               AG2 20 % · capacity 10 · M2, M3 · 60-day placements
    B2 is in bankruptcy proceedings.
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
L2,B1,baitiao-30d,CNY,1,2026-01-10,500.00,0.00,张一,13800000001,Asia/Shanghai,zh-CN
L3,B2,baitiao-30d,CNY,1,2026-01-10,2000.00,0.00,李二,13800000002,Asia/Shanghai,zh-CN
L4,B3,baitiao-30d,CNY,1,2026-01-10,800.00,0.00,王三,13800000003,Asia/Shanghai,zh-CN
"""
PAYMENTS = """payment_id,loan_id,paid_on,amount
P1,L1,2026-02-20,300.00
P2,L4,2026-02-25,333.33
P3,L2,2026-03-05,500.00
"""
POLICY = """name: agency-e2e
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: reminders}
ladders:
  reminders:
    - {id: reminder_sms_d1, offset: 1, channel: sms, template: sms/reminder, tone: regular}
jumps:
  - id: agency_placement
    when: "dpd >= 31"
    step: {channel: agency, template: agency/placement, tone: firm}
"""


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    return result


def as_json(result: CliResult) -> Any:
    return json.loads(ok(result).stdout)


def setup(cli: Cli, tmp_path: Path) -> Path:
    (tmp_path / "loans.csv").write_text(LOANS, encoding="utf-8")
    (tmp_path / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    ok(cli("import", "payments", str(tmp_path / "payments.csv")))
    ok(cli("borrower", "flag", "B2", "--set", "bankruptcy", "--by", "legal", "--reason", "court accepted",
           "--effective-at", "2026-02-01T09:00:00+08:00"))  # fmt: skip
    ok(cli("agency", "create", "AG1", "--name", "一号催收", "--commission-rate", "0.18", "--capacity", "2",
           "--buckets", "M2", "--placement-days", "20"))  # fmt: skip
    ok(cli("agency", "create", "AG2", "--name", "二号催收", "--commission-rate", "0.20", "--capacity", "10",
           "--buckets", "M2,M3", "--placement-days", "60"))  # fmt: skip
    return tmp_path / "policy.yaml"


def holders(cli: Cli) -> dict[str, int]:
    return {a["id"]: a["holding"] for a in as_json(cli("agency", "list", "--json"))}


def test_agency_step_places_recalls_and_pays_commission(cli: Cli, store_url: str, tmp_path: Path) -> None:
    policy = setup(cli, tmp_path)

    # 2026-02-10: 31 days past due, the jump fires; B1's two loans fill AG1 (ties on performance and
    # spare capacity go to the lower id), B3's loan goes to AG2, bankrupt B2 goes nowhere
    day = as_json(cli("run", "--as-of", "2026-02-10", "--policy", str(policy), "--json"))
    assert day["field"] == {"placed": 3}  # one result per borrower
    assert holders(cli) == {"AG1": 2, "AG2": 1}
    statement = as_json(cli("agency", "statement", "--period", "2026-02", "--json"))
    assert [(a["agency_id"], a["recovered"], a["commission"]) for a in statement["agencies"]] == [
        ("AG1", "300.00", "54.00"),  # P1 on L1: 300.00 × 18 %
        ("AG2", "333.33", "66.67"),  # P2 on L4: 333.33 × 20 % = 66.666, half-up
    ]
    assert [(r["loan_id"], r["paid_on"]) for r in statement["agencies"][0]["lines"]] == [("L1", "2026-02-20")]

    # the same day again changes nothing
    again = as_json(cli("run", "--as-of", "2026-02-10", "--policy", str(policy), "--json"))
    assert again["written"] == 0
    assert holders(cli) == {"AG1": 2, "AG2": 1}

    # 2026-03-02: AG1's 20 days are up; B1's loans (still delinquent) go to AG2, AG1 is not chosen again
    as_json(cli("run", "--as-of", "2026-03-02", "--policy", str(policy), "--json"))
    assert holders(cli) == {"AG1": 0, "AG2": 3}
    march = as_json(cli("agency", "statement", "--period", "2026-03", "--json"))
    assert [(a["agency_id"], a["recovered"], a["commission"]) for a in march["agencies"]] == [
        ("AG1", "0.00", "0.00"),
        ("AG2", "500.00", "100.00"),  # P3 on L2 after the re-placement: 500.00 × 20 %
    ]
    # February's statement is unchanged by the recall
    assert as_json(cli("agency", "statement", "--period", "2026-02", "--json")) == statement

    league = as_json(cli("agency", "league", "--from", "2026-02-01", "--to", "2026-03-31", "--json"))
    assert [(r["rank"], r["agency_id"], r["recovered"], r["commission"]) for r in league] == [
        (1, "AG2", 83333, 16667),
        (2, "AG1", 30000, 5400),
    ]
    kpis = as_json(cli("kpi", "--from", "2026-02-01", "--to", "2026-03-31", "--json"))
    assert [(r["rank"], r["agency_id"], r["recovered"], r["commission"]) for r in kpis["agency_league"]] == [
        (1, "AG2", "833.33", "166.67"),
        (2, "AG1", "300.00", "54.00"),
    ]


def test_statement_rejects_a_month_that_is_not_one(cli: Cli, store_url: str, tmp_path: Path) -> None:
    setup(cli, tmp_path)
    bad = cli("agency", "statement", "--period", "2026-13")
    assert bad.code == 2 and "--period" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_a_placement_made_by_hand_is_recalled_at_its_date_and_placed_elsewhere(
    cli: Cli, store_url: str, tmp_path: Path
) -> None:
    setup(cli, tmp_path)
    no_jump = tmp_path / "reminders.yaml"
    no_jump.write_text(POLICY.split("jumps:")[0], encoding="utf-8")
    placed = as_json(cli("agency", "place", "AG1", "L1", "--on", "2026-02-01", "--days", "10", "--json"))
    assert [(p["loan_id"], p["recall_on"]) for p in placed] == [("L1", "2026-02-11")]
    ok(cli("run", "--as-of", "2026-02-10", "--policy", str(no_jump)))
    assert holders(cli) == {"AG1": 1, "AG2": 0}
    ok(cli("run", "--as-of", "2026-02-11", "--policy", str(no_jump)))  # the recall date: AG2 takes it
    assert holders(cli) == {"AG1": 0, "AG2": 1}
