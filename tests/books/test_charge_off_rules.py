"""Charge-off books as pure functions over the ledger: literal scenarios and the money-conservation property."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.charge_off import ChargeOffRule, books, charge_off
from arrears.domain.ledger import Amounts, compute_position
from arrears.domain.loans import Instalment, Loan, Payment, Waiver

LOAN = Loan(
    "L1",
    (
        Instalment(1, date(2025, 7, 1), 50_000, 5_000),
        Instalment(2, date(2025, 8, 1), 50_000, 5_000),
    ),
)
RULE = ChargeOffRule()  # more than 180 days past due


def test_a_loan_is_charged_off_the_first_day_past_180_days_with_what_it_owed_then() -> None:
    assert charge_off(compute_position(LOAN, date(2025, 12, 28)), RULE) is None  # DPD 180
    position = compute_position(LOAN, date(2025, 12, 29))  # DPD 181
    co = charge_off(position, RULE)
    assert co is not None and co.dpd == 181
    # 0.05 % a day on each instalment's 550.00 is 0.275, rounded to 0.28: 181 + 150 days of it = 92.68
    assert co.amounts == Amounts(100_000, 10_000, 0, 9_268)
    b = books(co, LOAN, position)
    assert b.balances() == {
        "written_off.principal": 100_000,
        "receivable.principal": -100_000,
        "written_off.interest": 10_000,
        "receivable.interest": -10_000,
        "written_off.late_fee": 9_268,
        "receivable.late_fee": -9_268,
    }
    assert (b.status, b.recovered, b.open.total) == ("charged_off", 0, 119_268)


def test_a_payment_after_the_charge_off_is_a_recovery_and_paid_in_full_reverses_it() -> None:
    co_day = date(2025, 12, 29)
    co = charge_off(compute_position(LOAN, co_day), RULE)
    assert co is not None
    paid = replace(LOAN, payments=(Payment("P1", date(2026, 1, 5), 30_000),))
    b = books(co, paid, compute_position(paid, date(2026, 1, 5)))
    recovery = b.transactions[-1]
    assert (recovery.kind, recovery.ref) == ("recovery", "payment:P1")
    assert b.recovered == 30_000 and b.status == "charged_off"
    # oldest instalment first, late fee first: its 52.64 (188 days × 0.28), 50.00 interest, 197.36 principal
    assert {k: v for k, v in b.balances().items() if k.startswith("recovered.")} == {
        "recovered.late_fee": -5_264,
        "recovered.interest": -5_000,
        "recovered.principal": -19_736,
    }
    assert b.open == Amounts(80_264, 5_000, 0, 4_004)
    total = compute_position(paid, date(2026, 1, 6)).outstanding.total
    full = replace(paid, payments=(*paid.payments, Payment("P2", date(2026, 1, 6), total)))
    done = books(co, full, compute_position(full, date(2026, 1, 6)))
    assert done.status == "reversed" and done.closed_on == date(2026, 1, 6)
    balances = done.balances()
    assert all(v == 0 for k, v in balances.items() if k.startswith(("written_off.", "recovered.")))


def test_a_waiver_after_the_charge_off_forgives_written_off_late_fee_and_settles_it() -> None:
    co_day = date(2025, 12, 29)
    co = charge_off(compute_position(LOAN, co_day), RULE)
    assert co is not None
    waived = replace(LOAN, waivers=(Waiver(date(2026, 1, 2), 9_000, "ann", "bob", "hardship"),))
    b = books(co, waived, compute_position(waived, date(2026, 1, 2)))
    assert b.waived == 9_000 and b.open.late_fee == 268
    owed = compute_position(waived, date(2026, 1, 3)).outstanding.total
    paid = replace(waived, payments=(Payment("P1", date(2026, 1, 3), owed),))
    assert books(co, paid, compute_position(paid, date(2026, 1, 3))).status == "settled"


@settings(max_examples=60, deadline=None)
@given(
    principal=st.integers(1, 5_000_000),
    interest=st.integers(0, 500_000),
    payments=st.lists(st.tuples(st.integers(0, 120), st.integers(1, 3_000_000)), max_size=4),
    extra_days=st.integers(0, 200),
)
def test_the_books_always_balance_and_recoveries_are_the_payments_after_the_charge_off(
    principal: int, interest: int, payments: list[tuple[int, int]], extra_days: int
) -> None:
    loan = Loan("H", (Instalment(1, date(2025, 1, 1), principal, interest),))
    co_day = date(2025, 1, 1) + timedelta(days=181)
    co = charge_off(compute_position(loan, co_day), RULE)
    assert co is not None
    assert co.amounts.total == compute_position(loan, co_day).outstanding.total
    after = tuple(Payment(f"P{i}", co_day + timedelta(days=1 + d), a) for i, (d, a) in enumerate(payments))
    loan = replace(loan, payments=after)
    as_of = co_day + timedelta(days=extra_days)
    position = compute_position(loan, as_of)
    b = books(co, loan, position)
    for t in b.transactions:
        assert sum(e.amount for e in t.entries) == 0  # every transaction balances
    assert sum(b.balances().values()) == 0
    assert b.recovered == sum(p.amount for p in after if p.on <= as_of)
    assert 0 <= b.open.total <= co.amounts.total
    if b.status == "charged_off":
        assert b.open.total == co.amounts.total - sum(
            -v for k, v in b.balances().items() if k.startswith("recovered.")
        )


def test_a_settlement_after_the_charge_off_forgives_the_rest_and_the_loss_stands() -> None:
    co_day = date(2025, 12, 29)
    co = charge_off(compute_position(LOAN, co_day), RULE)
    assert co is not None
    # A settlement plan on 2026-01-10: what is owed becomes one instalment of ¥600.00 (the plan's concession
    # is the rest), due 2026-01-20.
    settled = replace(LOAN, instalments=(Instalment(1, date(2026, 1, 20), 60_000),))
    first = books(co, settled, compute_position(settled, date(2026, 1, 10)))
    forgiveness = first.transactions[-1]
    assert (forgiveness.kind, forgiveness.ref) == ("forgiveness", "forgiven:2026-01-10")
    # ¥1,192.68 written off, ¥600.00 still asked for: ¥592.68 forgiven, late fee first, then interest, principal
    assert first.balances()["forgiven.late_fee"] == 9_268
    assert first.balances()["forgiven.interest"] == 10_000
    assert first.balances()["forgiven.principal"] == 40_000
    assert first.open == Amounts(60_000, 0, 0, 0) and first.status == "charged_off"
    again = books(co, settled, compute_position(settled, date(2026, 1, 11)), [forgiveness])
    assert [t.kind for t in again.transactions] == ["charge_off", "forgiveness"]  # nothing forgiven twice
    paid = replace(settled, payments=(Payment("P1", date(2026, 1, 20), 60_000),))
    done = books(co, paid, compute_position(paid, date(2026, 1, 20)), [forgiveness])
    assert (done.status, done.recovered, done.forgiven, done.closed_on) == (
        "settled",
        60_000,
        59_268,
        date(2026, 1, 20),
    )
    assert sum(done.balances().values()) == 0
