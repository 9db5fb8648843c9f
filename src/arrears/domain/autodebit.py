"""Auto-debit (代扣) retries: after a failed debit, the product's schedule of retries (e.g. day +1 and day +3,
never more than N in a cycle), none once a retry succeeded or the borrower chose to pay by hand ("my
auto-debit failed" in the portal), and the ladder held while a retry is pending.

A cycle starts at a failed debit reported by the provider or the lender's import (an `autodebit_failed`
account event whose source is not the portal); the retries of a cycle are counted from what was tried since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from arrears.domain.errors import InputError

# How long after a failure a cycle may still retry (older failures start nothing).
CYCLE_DAYS = 30


@dataclass(frozen=True, slots=True)
class RetryRules:
    """A product's retry schedule: days after the failed debit, at most `max_attempts` of them."""

    retry_days: tuple[int, ...] = (1, 3)
    max_attempts: int = 2

    def __post_init__(self) -> None:
        if not self.retry_days or list(self.retry_days) != sorted(set(self.retry_days)):
            raise InputError("retry_days must be increasing whole days", field="retry_days")
        if self.retry_days[0] < 0 or self.retry_days[-1] > CYCLE_DAYS:
            raise InputError(f"retry_days must be between 0 and {CYCLE_DAYS}", field="retry_days")
        if not 0 <= self.max_attempts <= 10:
            raise InputError("max_attempts must be between 0 and 10", field="max_attempts")

    @property
    def schedule(self) -> tuple[int, ...]:
        return self.retry_days[: self.max_attempts]


@dataclass(frozen=True, slots=True)
class ProductRetryRules:
    """The rules of each product, and the default for the others."""

    default: RetryRules = field(default_factory=RetryRules)
    products: Mapping[str, RetryRules] = field(default_factory=dict)

    def of(self, product_code: str) -> RetryRules:
        return self.products.get(product_code, self.default)


@dataclass(frozen=True, slots=True)
class DebitCycle:
    """One loan's cycle: the failed debit that opened it, the retries made since (day, paid or not), and the
    day the borrower chose to pay by hand (None when they did not)."""

    failed_on: date
    retries: Sequence[tuple[date, bool]] = ()
    manual_on: date | None = None


def next_retry(cycle: DebitCycle, rules: RetryRules) -> date | None:
    """The day of the next retry of the cycle, or None: the schedule is used up, a retry paid, or the borrower
    chose to pay by hand."""
    if cycle.manual_on is not None and cycle.manual_on >= cycle.failed_on:
        return None
    if any(paid for _, paid in cycle.retries):
        return None
    done = len(cycle.retries)
    if done >= len(rules.schedule):
        return None
    return cycle.failed_on + timedelta(days=rules.schedule[done])


def retry_due(cycle: DebitCycle, rules: RetryRules, today: date) -> bool:
    """A retry is due today (one missed on an earlier day is made today, once)."""
    day = next_retry(cycle, rules)
    return day is not None and day <= today
