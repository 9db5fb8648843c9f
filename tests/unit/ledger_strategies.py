"""Hypothesis strategies for loans: schedules, payments (some reversed), pauses, waivers, product settings.

Pauses are drawn anywhere and also around a due date, so that they often overlap a grace period (where a
paused day must not be subtracted twice from the delinquent days). Waivers are drawn within what the ledger
accepts (no more than the unpaid late fee on their day, whatever the as-of date) unless `any_waivers`,
which draws them freely, inside grace periods too, for tests that check a bad waiver is refused.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from arrears.domain.ledger import waivable_late_fee
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.products import (
    DEFAULT_BUCKETS,
    Component,
    LateFeeCap,
    LateFeeRule,
    LedgerSettings,
)

START = date(2026, 1, 1)
COMPONENT_ORDERS = [
    (Component.LATE_FEE, Component.FEES, Component.INTEREST, Component.PRINCIPAL),
    (Component.PRINCIPAL, Component.INTEREST, Component.FEES, Component.LATE_FEE),
    (Component.INTEREST, Component.LATE_FEE, Component.PRINCIPAL, Component.FEES),
]


@st.composite
def settings(draw: st.DrawFn) -> LedgerSettings:
    cap = draw(
        st.one_of(
            st.none(),
            st.builds(LateFeeCap, fixed=st.integers(0, 5000), ratio=st.none()),
            st.builds(LateFeeCap, fixed=st.none(), ratio=st.sampled_from([Decimal("0.01"), Decimal("0.24")])),
        )
    )
    rule = LateFeeRule(
        daily_rate=draw(
            st.sampled_from([Decimal("0"), Decimal("0.0005"), Decimal("0.0007"), Decimal("0.001")])
        ),
        base=draw(
            st.sampled_from(
                [
                    (Component.PRINCIPAL, Component.INTEREST),
                    (Component.PRINCIPAL,),
                    (Component.PRINCIPAL, Component.INTEREST, Component.FEES),
                ]
            )
        ),
        rounding=draw(st.sampled_from(["half_up", "half_even", "down", "up"])),
        cap=cap,
    )
    return LedgerSettings(
        grace_days=draw(st.integers(0, 5)),
        late_fee=rule,
        waterfall=draw(st.sampled_from(COMPONENT_ORDERS)),
        buckets=DEFAULT_BUCKETS,
    )


@st.composite
def loans(
    draw: st.DrawFn, max_instalments: int = 6, max_payments: int = 6, *, any_waivers: bool = False
) -> Loan:
    n = draw(st.integers(1, max_instalments))
    first_due = START + timedelta(days=draw(st.integers(0, 40)))
    gap = draw(st.sampled_from([30, 31, 14, 7]))
    instalments = tuple(
        Instalment(
            seq=i + 1,
            due=first_due + timedelta(days=gap * i),
            principal=draw(st.integers(0, 500_000)),
            interest=draw(st.integers(0, 20_000)),
            fees=draw(st.integers(0, 5_000)),
        )
        for i in range(n)
    )
    payments = []
    for k in range(draw(st.integers(0, max_payments))):
        on = START + timedelta(days=draw(st.integers(0, 300)))
        reversed_on = None
        if draw(st.integers(0, 5)) == 0:
            reversed_on = on + timedelta(days=draw(st.integers(0, 20)))
        payments.append(Payment(f"p{k}", on, draw(st.integers(1, 600_000)), reversed_on))
    pauses = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):  # anywhere
            start = START + timedelta(days=draw(st.integers(0, 300)))
        else:  # around a due date: it often covers days of the grace period, or all of it
            start = draw(st.sampled_from(instalments)).due + timedelta(days=draw(st.integers(-3, 6)))
        end = (
            None
            if draw(st.booleans()) and draw(st.booleans())
            else start + timedelta(days=draw(st.integers(0, 40)))
        )
        pauses.append(Pause(start, end))
    loan = Loan(
        id="L",
        instalments=instalments,
        payments=tuple(payments),
        pauses=tuple(pauses),
        settings=draw(settings()),
    )
    # in day order, so that a waiver drawn later never takes late fee from one drawn before
    offsets = sorted(draw(st.lists(st.integers(0, 90), max_size=2)))
    for offset in offsets:
        on = first_due + timedelta(days=offset)
        seq = draw(st.one_of(st.none(), st.integers(1, n)))
        if any_waivers:
            amount = draw(st.integers(1, 10_000))
        else:
            # a reversal takes a payment back from its date on, which can bring late fee back: the waiver
            # must fit whatever the as-of date
            as_ofs = [on, *(p.reversed_on for p in payments if p.reversed_on and p.reversed_on > on)]
            room = min(waivable_late_fee(loan, on, seq, as_of=d) for d in as_ofs)
            if room == 0:
                continue
            amount = draw(st.integers(1, room))
        waiver = Waiver(on, amount, "agent", "supervisor", "goodwill", seq)
        loan = replace(loan, waivers=(*loan.waivers, waiver))
    return loan


as_of_dates = st.integers(0, 400).map(lambda d: START + timedelta(days=d))
