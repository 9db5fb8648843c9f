"""Invariants of the ledger that must hold for every loan and every date."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.ledger import compute_position
from arrears.domain.loans import Loan
from arrears.domain.products import Component
from tests.unit.ledger_strategies import as_of_dates, loans

SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(loans(), as_of_dates)
def test_allocations_sum_to_the_amount_paid(loan: Loan, as_of: date) -> None:
    pos = compute_position(loan, as_of)
    for alloc in pos.allocations:
        assert alloc.allocated == alloc.amount
    counted = sum(p.amount for p in loan.payments if p.counts_as_of(as_of))
    assert pos.paid.total + pos.credit == counted  # money is conserved


@SETTINGS
@given(loans(), as_of_dates)
def test_nothing_outstanding_is_negative_and_components_balance(loan: Loan, as_of: date) -> None:
    pos = compute_position(loan, as_of)
    for inst in pos.instalments:
        for comp in Component:
            assert inst.outstanding.get(comp) >= 0
            assert inst.paid.get(comp) >= 0
        for comp in (Component.PRINCIPAL, Component.INTEREST, Component.FEES):
            assert inst.paid.get(comp) + inst.outstanding.get(comp) == inst.scheduled.get(comp)
        assert inst.paid.late_fee + inst.outstanding.late_fee + inst.late_fee_waived == inst.late_fee_accrued
    assert pos.credit >= 0
    assert pos.dpd >= 0 and pos.delinquent_days >= 0
    assert pos.delinquent_days <= pos.dpd


@SETTINGS
@given(loans(), as_of_dates)
def test_dpd_is_zero_exactly_when_nothing_is_overdue(loan: Loan, as_of: date) -> None:
    pos = compute_position(loan, as_of)
    assert (pos.dpd == 0) == (pos.overdue.total == 0)
    assert (pos.bucket == "M0") == (pos.dpd == 0)


@SETTINGS
@given(loans(), as_of_dates, st.integers(1, 60))
def test_a_later_date_never_lowers_the_accrued_late_fee(loan: Loan, as_of: date, later: int) -> None:
    first = compute_position(loan, as_of)
    second = compute_position(loan, as_of + timedelta(days=later))
    assert second.late_fee_accrued >= first.late_fee_accrued
    for a, b in zip(first.instalments, second.instalments, strict=True):
        assert b.late_fee_accrued >= a.late_fee_accrued


@SETTINGS
@given(loans(max_payments=0), as_of_dates)
def test_cap_is_never_exceeded(loan: Loan, as_of: date) -> None:
    cap = loan.settings.late_fee.cap
    if cap is None:
        return
    pos = compute_position(loan, as_of)
    for inst in pos.instalments:
        base = sum(inst.scheduled.get(c) for c in loan.settings.late_fee.base)
        limit = cap.limit(base)
        assert limit is not None and inst.late_fee_accrued <= limit


@SETTINGS
@given(loans(max_payments=0), as_of_dates)
def test_day_by_day_walk_agrees(loan: Loan, as_of: date) -> None:
    """Stretch accrual equals the sum of one-day accruals (no payments: the base never changes)."""
    pos = compute_position(loan, as_of)
    rule = loan.settings.late_fee
    total = 0
    for inst in loan.instalments:
        base = sum(
            {"principal": inst.principal, "interest": inst.interest, "fees": inst.fees}[c.value]
            for c in rule.base
        )
        grace_end = inst.due + timedelta(days=loan.settings.grace_days)
        if as_of < grace_end or inst.principal + inst.interest + inst.fees == 0:
            continue
        acc = 0
        day = inst.due + timedelta(days=1)
        while day <= as_of:
            if not any(p.covers(day) for p in loan.pauses):
                acc += rule.daily_charge(base)
            day += timedelta(days=1)
        limit = rule.cap.limit(base) if rule.cap else None
        total += min(acc, limit) if limit is not None else acc
    waived = pos.late_fee_waived
    assert pos.late_fee_accrued == total
    assert pos.outstanding.late_fee == total - waived


@SETTINGS
@given(loans(), as_of_dates)
def test_delinquent_days_are_the_unpaused_days_after_grace(loan: Loan, as_of: date) -> None:
    """Day by day: after the grace period, up to as-of, not paused (a paused grace day is not counted twice);
    with no pause, max(0, DPD − grace)."""
    pos = compute_position(loan, as_of)
    grace = loan.settings.grace_days
    if pos.oldest_unpaid_due is None:
        assert pos.delinquent_days == 0
        return
    days = [pos.oldest_unpaid_due + timedelta(days=k) for k in range(grace + 1, pos.dpd + 1)]
    assert pos.delinquent_days == sum(1 for d in days if not any(p.covers(d) for p in loan.pauses))
    if not loan.pauses:
        assert pos.delinquent_days == max(0, pos.dpd - grace)


@SETTINGS
@given(loans(), as_of_dates)
def test_no_waiver_is_lost(loan: Loan, as_of: date) -> None:
    pos = compute_position(loan, as_of)
    assert pos.late_fee_waived == sum(w.amount for w in loan.waivers if w.on <= as_of)
