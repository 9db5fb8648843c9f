"""Differential tests: the vectorised ledger must agree with the reference (domain) ledger to the fen."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.loan_document import parse_loan_document
from arrears.domain.errors import InputError
from arrears.domain.ledger import LedgerPosition, compute_position
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
    """The same figures; or, where the reference refuses a loan (a bad waiver), the vector ledger too."""
    portfolio = portfolio_from_loans(portfolio_loans)
    try:
        positions = [compute_position(loan, as_of) for loan in portfolio_loans]
    except InputError:
        with pytest.raises(InputError):
            compute_ledger(portfolio, as_of)
        return
    cols = compute_ledger(portfolio, as_of)
    for i, pos in enumerate(positions):
        assert_same(pos, cols, i)


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


@settings(max_examples=150, deadline=None)
@given(st.lists(loans(any_waivers=True), min_size=1, max_size=4), as_of_dates)
def test_a_bad_waiver_is_refused_by_both(generated: list[Loan], as_of: date) -> None:
    """Waivers drawn freely (inside grace, above the unpaid late fee): refused by both ledgers or by none."""
    renamed = [
        Loan(f"L{i}", ln.instalments, ln.payments, ln.pauses, ln.waivers, ln.settings)
        for i, ln in enumerate(generated)
    ]
    check(renamed, as_of)


def test_the_vector_ledger_names_the_loan_of_a_bad_waiver() -> None:
    good = parse_loan_document({"id": "G1", "instalments": [{"due": "2026-01-10", "principal": "1000.00"}]})
    bad = parse_loan_document(
        {
            "id": "B7",
            "grace_days": 3,
            "instalments": [{"due": "2026-01-10", "principal": "1000.00"}],
            "waivers": [
                {"date": "2026-01-12", "amount": "1.00", "user": "a", "approver": "b", "reason": "r"}
            ],
        }
    )
    portfolio = portfolio_from_loans([good, bad])
    compute_ledger(portfolio, date(2026, 1, 11))  # not in effect yet
    with pytest.raises(InputError, match=r"loan B7: a waiver of 1\.00 on 2026-01-12 is more than"):
        compute_ledger(portfolio, date(2026, 1, 12))


def test_a_pause_inside_grace_is_not_subtracted_twice() -> None:
    """Due 10 Jan, 5 grace days, paused 13–17 Jan: as of 25 Jan, 16–25 Jan less 16–17 Jan = 8 days."""
    loan = parse_loan_document(
        {
            "grace_days": 5,
            "instalments": [{"due": "2026-01-10", "principal": "1000.00"}],
            "pauses": [{"start": "2026-01-13", "end": "2026-01-17"}],
        }
    )
    cols = compute_ledger(portfolio_from_loans([loan]), date(2026, 1, 25))
    assert (cols.dpd[0], cols.paused_days[0], cols.delinquent_days[0]) == (15, 5, 8)
    check([loan], date(2026, 1, 25))


def test_a_day_count_beyond_the_bucket_table_is_an_error_in_both_ledgers() -> None:
    """BucketTable refuses a closed last bucket; should one get past it, neither ledger picks the last."""
    from dataclasses import replace

    from arrears.domain.products import Bucket, BucketTable

    table = BucketTable((Bucket("M0", 0, 0), Bucket("M1+", 1, None)))
    object.__setattr__(table, "buckets", (Bucket("M0", 0, 0), Bucket("M1", 1, 30)))  # behind its back
    loan = parse_loan_document({"instalments": [{"due": "2026-01-10", "principal": "1000.00"}]})
    loan = replace(loan, settings=replace(loan.settings, buckets=table))
    assert compute_position(loan, date(2026, 2, 9)).bucket == "M1"  # 30 DPD
    check([loan], date(2026, 2, 9))
    with pytest.raises(InputError, match="no bucket holds 31 days"):
        compute_position(loan, date(2026, 2, 10))
    with pytest.raises(InputError, match="no bucket of product"):
        compute_ledger(portfolio_from_loans([loan]), date(2026, 2, 10))
