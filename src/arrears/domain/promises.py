"""Promises to pay: kept or broken, with a tolerance on the amount (percent short) and on the date (days late).

A promise made on M for amount A by date D is kept once the payments dated M..D+days (not reversed) reach
A × (1 − pct/100); it is broken when D + days has passed without that. Until then it is pending, and
collection actions are suspended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from arrears.domain.errors import InputError
from arrears.domain.loans import Payment

PROMISE_STATUSES = ("pending", "kept", "broken", "cancelled")


@dataclass(frozen=True, slots=True)
class Tolerance:
    amount_pct: Decimal = Decimal("5")
    days: int = 2

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.amount_pct < Decimal(100):
            raise InputError("amount tolerance must be between 0 and 100 percent", field="amount_pct")
        if self.days < 0:
            raise InputError("date tolerance cannot be negative", field="days")


@dataclass(frozen=True, slots=True)
class Promise:
    made_on: date
    due_on: date
    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise InputError("a promised amount must be positive", field="amount")
        if self.due_on < self.made_on:
            raise InputError("a promise cannot fall due before it was made", field="due_on")


@dataclass(frozen=True, slots=True)
class PromiseOutcome:
    status: str  # pending | kept | broken
    paid: int  # what counted towards the promise
    needed: int  # the amount that keeps it
    resolved_on: date | None


def needed_amount(promise: Promise, tolerance: Tolerance) -> int:
    """What keeps the promise: the amount less the tolerance, rounded up to the minor unit."""
    share = (Decimal(100) - tolerance.amount_pct) / Decimal(100)
    return int((Decimal(promise.amount) * share).to_integral_value(ROUND_CEILING))


def evaluate(
    promise: Promise, payments: Iterable[Payment], as_of: date, tolerance: Tolerance
) -> PromiseOutcome:
    """The promise's status as of a date, from the loan's payments."""
    needed = needed_amount(promise, tolerance)
    last_day = promise.due_on + timedelta(days=tolerance.days)
    paid = 0
    for p in sorted(payments, key=lambda p: (p.on, p.id)):
        if p.on < promise.made_on or p.on > min(last_day, as_of) or not p.counts_as_of(as_of):
            continue
        paid += p.amount
        if paid >= needed:
            return PromiseOutcome("kept", paid, needed, p.on)
    if as_of > last_day:
        return PromiseOutcome("broken", paid, needed, last_day + timedelta(days=1))
    return PromiseOutcome("pending", paid, needed, None)


__all__ = ["PROMISE_STATUSES", "Promise", "PromiseOutcome", "Tolerance", "evaluate", "needed_amount"]
