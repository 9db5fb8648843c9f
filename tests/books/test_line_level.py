"""A product whose loans under one credit line move together (`line_level_delinquency: true`), through
`arrears run` (SQLite and PostgreSQL): the line's worst loan sets the DPD the ladder reads, the line gets one
reminder and one freeze where each loan would get its own; a product without the setting keeps per-loan
steps under its line. 白条 purchases, borrowers in Shanghai:

    LN1 (B1, baitiao-30d, line-level):  L1 500.00 due 2026-03-01 · L2 300.00 due 2026-03-10
    LN2 (B2, baitiao-3, per loan):      L3 400.00 due 2026-03-01 · L4 200.00 due 2026-03-10
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

LOANS = """loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,timezone,language
L1,B1,baitiao-30d,CNY,1,2026-03-01,500.00,0.00,张一,13800000001,Asia/Shanghai,zh-CN
L2,B1,baitiao-30d,CNY,1,2026-03-10,300.00,0.00,张一,13800000001,Asia/Shanghai,zh-CN
L3,B2,baitiao-3,CNY,1,2026-03-01,400.00,0.00,李二,13800000002,Asia/Shanghai,zh-CN
L4,B2,baitiao-3,CNY,1,2026-03-10,200.00,0.00,李二,13800000002,Asia/Shanghai,zh-CN
"""
LINES = """line_id,borrower_id,currency,limit,loan_ids
LN1,B1,CNY,5000.00,L1;L2
LN2,B2,CNY,5000.00,L3;L4
"""
POLICY = """name: line-level
version: 1
compliance_profile: cn
products:
  baitiao-30d: {line_level_delinquency: true}
segments:
  - {name: everyone, ladder: steps}
ladders:
  steps:
    - {id: remind, offset: 1, channel: sms, template: sms/reminder, tone: regular}
    - {id: freeze, offset: 12, channel: freeze_line, template: sms/line_frozen, tone: firm}
"""


def ok(result: CliResult) -> str:
    assert result.code == 0, result.stdout + result.stderr
    return result.stdout


def planned(cli: Cli) -> list[tuple[str, str, str]]:
    rows: list[dict[str, Any]] = json.loads(ok(cli("outbox", "list", "--json")))
    return sorted((r["day"], r["loan_id"], r["step"]) for r in rows)


# By parts of one loan each, a line's loans lie in different parts: the same rows.
@pytest.mark.parametrize("parts", [(), ("--part-accounts", "1")], ids=["whole", "by-parts"])
def test_a_line_level_product_gives_the_line_one_step_from_its_worst_loan(
    cli: Cli, store_url: str, tmp_path: Path, parts: tuple[str, ...]
) -> None:
    for name, text in (("loans.csv", LOANS), ("lines.csv", LINES), ("policy.yaml", POLICY)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    ok(cli("import", "lines", str(tmp_path / "lines.csv")))
    policy = str(tmp_path / "policy.yaml")

    ok(cli("run", "--as-of", "2026-03-02", "--through", "2026-03-13", "--policy", policy, "--json", *parts))
    assert planned(cli) == [
        ("2026-03-02", "L1", "remind"),  # the line's reminder: L1 is its worst loan
        ("2026-03-02", "L3", "remind"),
        ("2026-03-11", "L4", "remind"),  # per loan: L4 falls due too and gets its own
        ("2026-03-13", "L1", "freeze"),  # the line's DPD is L1's 12 days (L2's own is 3)
        ("2026-03-13", "L3", "freeze"),  # LN2 per loan: L3's own 12 days (L4 would freeze on 03-22)
    ]
    lines = {x["line_id"]: x for x in json.loads(ok(cli("lines", "list", "--json")))}
    assert (lines["LN1"]["status"], lines["LN2"]["status"]) == ("frozen", "frozen")

    # L1 paid in full: L2 is the line's worst loan, a new episode anchored at its own due date, 4 days
    # late — as a loan whose first instalment is paid: its day-1 reminder has passed, nothing is repeated,
    # and the line stays frozen while L2 is overdue.
    (tmp_path / "payments.csv").write_text(
        "payment_id,loan_id,paid_on,amount\nP1,L1,2026-03-14,600.00\n", encoding="utf-8"
    )
    ok(cli("import", "payments", str(tmp_path / "payments.csv")))
    ok(cli("run", "--as-of", "2026-03-14", "--through", "2026-03-15", "--policy", policy, *parts))
    assert [p for p in planned(cli) if p[1] in ("L1", "L2") and p[0] >= "2026-03-14"] == []
    lines = {x["line_id"]: x for x in json.loads(ok(cli("lines", "list", "--json")))}
    assert lines["LN1"]["status"] == "frozen"


def test_the_representative_is_the_worst_loan_and_a_tie_goes_to_the_lower_id() -> None:
    from datetime import date

    from arrears.domain.credit_lines import LineAccount, line_level_accounts, line_steps_taken

    due = date(2026, 3, 1)
    accounts = [
        LineAccount("L2", "LN1", 12, due),
        LineAccount("L1", "LN1", 12, due),
        LineAccount("L3", "LN1", 3, date(2026, 3, 10)),
        LineAccount("L9", "LN2", 0, None),
    ]
    assert line_level_accounts(accounts) == {"LN1": "L1", "LN2": "L9"}
    # L1 paid: L2 (same anchor) represents the line and is not given L1's steps of the episode again
    history = [("L1", "remind", due), ("L1", "old", date(2026, 1, 1)), ("L3", "other", date(2026, 3, 10))]
    paid = [LineAccount("L1", "LN1", 0, None), accounts[0], accounts[2]]
    assert line_level_accounts(paid) == {"LN1": "L2"}
    assert line_steps_taken(paid, history) == {"LN1": {"remind"}}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["L1", "L2", "L3", "L4", "L5"]),
            st.sampled_from(["LN1", "LN2"]),
            st.integers(0, 400),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    ),
    st.randoms(),
)
def test_each_line_is_led_by_a_worst_loan_whatever_the_order(
    loans: list[tuple[str, str, int]], rng: Random
) -> None:
    from arrears.domain.credit_lines import LineAccount, line_level_accounts

    accounts = [LineAccount(loan, line, dpd, None) for loan, line, dpd in loans]
    chosen = line_level_accounts(accounts)
    shuffled = list(accounts)
    rng.shuffle(shuffled)
    assert line_level_accounts(shuffled) == chosen
    assert set(chosen) == {a.line_id for a in accounts}
    for line_id, loan_id in chosen.items():
        mine = [a for a in accounts if a.line_id == line_id]
        leader = next(a for a in mine if a.loan_id == loan_id)
        assert leader.dpd == max(a.dpd for a in mine)
        assert leader.loan_id == min(a.loan_id for a in mine if a.dpd == leader.dpd)
