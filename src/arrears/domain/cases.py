"""Cases: one per delinquent borrower, ordered in agent queues by expected recovery.

expected recovery = balance × probability; the probability is configured per bucket and adjusted by what
the account shows (a pending promise raises it, broken promises lower it) — or, when an active
pay-propensity model (pay_7d_after_contact) scored the late loans, that model's probability per loan. Agents see the open cases that
match their skills (languages, buckets), theirs first, then unassigned ones, highest expected recovery first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arrears.domain.errors import InputError

OUTCOME_CODES = (
    "right_party_contact",
    "wrong_number",
    "third_party",
    "no_answer",
    "promise_to_pay",
    "refused",
    "hardship",
    "dispute",
    "deceased",
    "bankruptcy",
    "complaint",
)
# Outcomes after which the case leaves the ordinary queue for a specialist.
CLOSING_OUTCOMES = ("deceased", "bankruptcy")

DEFAULT_PROBABILITY = {
    "current": Decimal("0.90"),
    "M1": Decimal("0.60"),
    "M2": Decimal("0.35"),
    "M3": Decimal("0.20"),
    "M4": Decimal("0.10"),
    "M5": Decimal("0.06"),
    "M6": Decimal("0.04"),
    "M7+": Decimal("0.02"),
}

# Broken promises lower a case's expected recovery for this long after they broke.
BROKEN_PROMISE_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class RecoveryModel:
    """How a case's expected recovery is computed (configurable per deployment)."""

    probability: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_PROBABILITY))
    default_probability: Decimal = Decimal("0.05")
    pending_promise_factor: Decimal = Decimal("1.20")
    broken_promise_factor: Decimal = Decimal("0.70")  # per broken promise in the last 90 days

    def probability_for(self, bucket: str, *, promise_pending: bool, broken_promises: int) -> Decimal:
        """The chance of recovering the balance, between 0 and 1."""
        p = self.probability.get(bucket, self.default_probability)
        if promise_pending:
            p *= self.pending_promise_factor
        p *= self.broken_promise_factor**broken_promises
        return min(Decimal(1), max(Decimal(0), p))

    def expected_recovery(
        self, balance: int, bucket: str, *, promise_pending: bool = False, broken_promises: int = 0
    ) -> int:
        """balance × probability in minor units (rounded down: a priority, not money owed)."""
        p = self.probability_for(bucket, promise_pending=promise_pending, broken_promises=broken_promises)
        return int(Decimal(balance) * p)


# The model whose probability replaces the hand table when it is active (docs/models.md).
PROPENSITY_TARGET = "pay_7d_after_contact"


def expected_recovery_by_propensity(balances: Iterable[tuple[int, int]]) -> int:
    """Σ balance × the pay-propensity model's probability (basis points) over the late loans, rounded down:
    the expected recovery when a pay-propensity model scored every late loan, instead of the bucket table."""
    return sum(balance * probability_bp // 10_000 for balance, probability_bp in balances)


@dataclass(frozen=True, slots=True)
class Skills:
    """What an agent can work: languages and buckets (empty = any)."""

    languages: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()

    def can_work(self, language: str | None, bucket: str) -> bool:
        lang_ok = not self.languages or (language or "zh") in self.languages
        return lang_ok and (not self.buckets or bucket in self.buckets)


@dataclass(frozen=True, slots=True)
class QueueEntry:
    case_id: int
    assigned_to: str | None
    language: str | None
    bucket: str
    expected_recovery: int
    next_action_on: date | None


def agent_queue(cases: Iterable[QueueEntry], agent: str, skills: Skills, today: date) -> list[QueueEntry]:
    """The agent's work: own cases and unassigned ones they can work, due today or earlier, best first."""
    workable = [
        c
        for c in cases
        if (c.assigned_to == agent or c.assigned_to is None)
        and skills.can_work(c.language, c.bucket)
        and (c.next_action_on is None or c.next_action_on <= today)
    ]
    return sorted(workable, key=lambda c: (c.assigned_to != agent, -c.expected_recovery, c.case_id))


def check_outcome(code: str) -> str:
    """The outcome code, or InputError naming the field."""
    if code not in OUTCOME_CODES:
        raise InputError(f"unknown outcome {code!r} (one of {', '.join(OUTCOME_CODES)})", field="outcome")
    return code


__all__ = [
    "BROKEN_PROMISE_WINDOW",
    "CLOSING_OUTCOMES",
    "OUTCOME_CODES",
    "QueueEntry",
    "RecoveryModel",
    "Skills",
    "agent_queue",
    "check_outcome",
]
