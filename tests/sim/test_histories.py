"""The payment histories judged by the real ledger (arrears.domain.ledger): each persona ends up where the
parameters say it should, and accidental late payers cure completely (no stray late-fee residue)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pyarrow.compute as pc
import pytest

from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.sim.portfolio import Portfolio, generate_portfolio
from tests.sim.conftest import AS_OF


@pytest.fixture(scope="module")
def judged() -> tuple[Portfolio, list[tuple[str, LedgerPosition]]]:
    portfolio = generate_portfolio(4000, 23, AS_OF)
    engine = portfolio.engine_portfolio()
    persona_of = dict(
        zip(
            engine["borrowers"].column("borrower_id").to_pylist(),
            engine["borrowers"].column("persona").to_pylist(),
            strict=True,
        )
    )
    borrower_of = dict(
        zip(
            engine["loans"].column("loan_id").to_pylist(),
            engine["loans"].column("borrower_id").to_pylist(),
            strict=True,
        )
    )
    positions = [
        (persona_of[borrower_of[loan.id]] or "good", compute_position(loan, AS_OF))
        for loan in engine.to_loans()
    ]
    return portfolio, positions


def _by_persona(positions: list[tuple[str, LedgerPosition]]) -> dict[str, list[LedgerPosition]]:
    out: dict[str, list[LedgerPosition]] = defaultdict(list)
    for persona, pos in positions:
        out[persona].append(pos)
    return out


def test_engine_layout_keeps_every_payment_and_reversal(judged) -> None:
    portfolio, _ = judged
    engine = portfolio.engine_portfolio()
    reversals = portfolio.payments.filter(pc.is_valid(portfolio.payments.column("reverses")))
    assert engine["payments"].num_rows == portfolio.payments.num_rows - reversals.num_rows
    assert (
        engine["payments"].column("reversed_on").null_count
        == engine["payments"].num_rows - reversals.num_rows
    )
    assert engine["loans"].num_rows == portfolio.counts()["loans"]
    assert engine["borrowers"].num_rows == 4000


def test_good_payers_are_always_current(judged) -> None:
    good = _by_persona(judged[1])["good"]
    assert len(good) > 1000
    assert {p.bucket for p in good} == {"M0"}
    assert all(p.late_fee_accrued == 0 for p in good)  # late only within the grace days


def test_accidental_late_payers_cure_completely(judged) -> None:
    forgetful = _by_persona(judged[1])["forgetful"]
    assert {p.bucket for p in forgetful} == {"M0", "M1"}
    assert max(p.dpd for p in forgetful) <= 40
    assert sum(p.late_fee_accrued > 0 for p in forgetful) > 500  # they do pay late fees ...
    for p in forgetful:
        if p.dpd == 0:  # ... and then nothing is left over: no late fee, no credit
            assert p.overdue.total == 0 and p.credit == 0
            assert p.outstanding.late_fee == 0


def test_hardship_reaches_at_most_m3_and_recovers(judged) -> None:
    hardship = _by_persona(judged[1])["hardship"]
    buckets = Counter(p.bucket for p in hardship)
    assert set(buckets) == {"M0", "M1", "M2", "M3"}
    assert buckets["M1"] + buckets["M2"] + buckets["M3"] > 50
    # partial payments in the window: overdue accounts have paid something
    overdue = [p for p in hardship if p.dpd > 0]
    assert sum(p.paid.total > 0 for p in overdue) / len(overdue) > 0.5
    # after the catch-up nothing is overdue
    assert all(p.overdue.total == 0 for p in hardship if p.dpd == 0)


def test_fraud_never_pays(judged) -> None:
    fraud = _by_persona(judged[1])["fraud"]
    assert fraud
    for p in fraud:
        assert p.paid.total == 0 and p.credit == 0
        first_due = min(i.due for i in p.instalments)
        assert p.dpd == max(0, (AS_OF - first_due).days)


def test_strategic_defaulters_reach_the_late_buckets(judged) -> None:
    strategic = _by_persona(judged[1])["strategic"]
    buckets = Counter(p.bucket for p in strategic)
    assert buckets["M7+"] > 0 and buckets["M4"] + buckets["M5"] + buckets["M6"] > 0
    portfolio = judged[0]
    broken = set(
        portfolio.events.filter(pc.equal(portfolio.events.column("kind"), "promise_broken"))
        .column("loan_id")
        .to_pylist()
    )
    assert broken
    assert all(p.dpd > 0 for p in strategic if p.loan_id in broken)


def test_portfolio_mix_covers_every_bucket(judged) -> None:
    positions = [p for _, p in judged[1]]
    buckets = Counter(p.bucket for p in positions)
    assert set(buckets) == {"M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"}
    assert 0.85 < buckets["M0"] / len(positions) < 0.95
    closed = sum(p.outstanding.total == 0 for p in positions)
    assert 0.5 < closed / len(positions) < 0.75


def test_nothing_is_paid_after_death(judged) -> None:
    """Deceased borrowers pay until they die: once an instalment is missed, nothing later is paid."""
    deceased = _by_persona(judged[1])["deceased"]
    for p in deceased:
        missed = [i.due for i in p.instalments if i.status == "overdue"]
        if missed and p.last_payment_on is not None:
            assert p.last_payment_on < min(missed) + timedelta(days=40)
