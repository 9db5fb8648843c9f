"""Differential tests: the vectorised ledger must agree with the reference (domain) ledger to the fen."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.domain.loan_document import parse_loan_document
from arrears.domain.loans import Loan
from arrears.domain.products import Component
from arrears.engine.portfolio import epoch_day, portfolio_from_loans
from arrears.engine.vector_ledger import NONE_DAY, LedgerColumns, compute_ledger
from tests.unit.ledger_strategies import as_of_dates, loans

COMPONENTS = (Component.PRINCIPAL, Component.INTEREST, Component.FEES, Component.LATE_FEE)


def _day(d: date | None) -> int:
    return NONE_DAY if d is None else epoch_day(d)


def assert_same(pos: LedgerPosition, cols: LedgerColumns, i: int) -> None:
    where = f"loan {pos.loan_id} as of {pos.as_of}"
    assert cols.dpd[i] == pos.dpd, where
    assert cols.delinquent_days[i] == pos.delinquent_days, where
    assert cols.paused_days[i] == pos.paused_days, where
    assert cols.bucket[i] == pos.bucket, where
    assert cols.oldest_unpaid_due[i] == _day(pos.oldest_unpaid_due), where
    for j, comp in enumerate(COMPONENTS):
        assert cols.overdue[i, j] == pos.overdue.get(comp), (where, "overdue", comp)
        assert cols.outstanding[i, j] == pos.outstanding.get(comp), (where, "outstanding", comp)
        assert cols.paid[i, j] == pos.paid.get(comp), (where, "paid", comp)
    assert cols.credit[i] == pos.credit, where
    assert cols.late_fee_accrued[i] == pos.late_fee_accrued, where
    assert cols.late_fee_waived[i] == pos.late_fee_waived, where
    assert cols.last_payment_on[i] == _day(pos.last_payment_on), where
    rows = {int(s): r for r, s in enumerate(cols.inst_seq) if cols.inst_account[r] == i}
    for inst in pos.instalments:
        r = rows[inst.seq]
        assert cols.inst_accrued[r] == inst.late_fee_accrued, (where, inst.seq)
        assert cols.inst_waived[r] == inst.late_fee_waived, (where, inst.seq)
        assert cols.inst_paid_on[r] == _day(inst.paid_on), (where, inst.seq)
        for j, comp in enumerate(COMPONENTS):
            assert cols.inst_outstanding[r, j] == inst.outstanding.get(comp), (where, inst.seq, comp)


def check(portfolio_loans: list[Loan], as_of: date) -> None:
    portfolio = portfolio_from_loans(portfolio_loans)
    cols = compute_ledger(portfolio, as_of)
    for i, loan in enumerate(portfolio_loans):
        assert_same(compute_position(loan, as_of), cols, i)


@settings(max_examples=150, deadline=None)
@given(st.lists(loans(), min_size=1, max_size=8), as_of_dates)
def test_vector_ledger_matches_reference(generated: list[Loan], as_of: date) -> None:
    renamed = [
        Loan(f"L{i}", ln.instalments, ln.payments, ln.pauses, ln.waivers, ln.settings)
        for i, ln in enumerate(generated)
    ]
    check(renamed, as_of)


SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios" / "ledger").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_vector_ledger_on_the_literal_scenarios(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    loan = parse_loan_document(doc)
    for case in doc["expect"]:
        as_of = case["as_of"]
        for day in (as_of - timedelta(days=1), as_of, as_of + timedelta(days=3)):
            check([loan], day)
