"""Disputes and complaints: categories, what each does to collection, and the SLA clock.

A dispute questions the debt (wrong amount, not my debt / identity theft, already paid): collection pauses
while it is open. A complaint is about how we collected (harassment, privacy, service): it is handled under
the same SLA but does not pause the account. The clock counts business days (weekends and the holidays
given to it are skipped): acknowledge within 1, resolve within 15 by default.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from arrears.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    kind: str  # dispute | complaint
    pauses: bool  # collection paused while open
    event: str | None  # the account event the segmentation reads


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("wrong_amount", "dispute", True, "dispute_opened"),
        Category("not_my_debt", "dispute", True, "identity_dispute"),
        Category("identity_theft", "dispute", True, "identity_dispute"),
        Category("already_paid", "dispute", True, "dispute_opened"),
        Category("harassment", "complaint", False, None),
        Category("privacy", "complaint", False, None),
        Category("service", "complaint", False, None),
    )
}
STATUSES = ("open", "acknowledged", "resolved", "rejected")
RESOLUTIONS = ("upheld", "partly_upheld", "not_upheld", "withdrawn")


def category(name: str, kind: str | None = None) -> Category:
    """The category by name (and kind, when given), or InputError naming the field."""
    found = CATEGORIES.get(name)
    if found is None or (kind is not None and found.kind != kind):
        names = sorted(c.name for c in CATEGORIES.values() if kind is None or c.kind == kind)
        raise InputError(f"unknown category {name!r} (one of {', '.join(names)})", field="category")
    return found


def add_business_days(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The date `days` business days after `start` (weekends and holidays do not count)."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return day


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    acknowledge_days: int = 1
    resolve_days: int = 15

    def deadlines(self, opened_on: date, holidays: Collection[date] = ()) -> tuple[date, date]:
        """(acknowledge by, resolve by), end of day."""
        return (
            add_business_days(opened_on, self.acknowledge_days, holidays),
            add_business_days(opened_on, self.resolve_days, holidays),
        )


def sla_state(
    ack_by: date, resolve_by: date, acknowledged: datetime | None, resolved_on: date | None, today: date
) -> str:
    """on_time | ack_overdue | resolve_overdue | resolved_late | resolved."""
    if resolved_on is not None:
        return "resolved" if resolved_on <= resolve_by else "resolved_late"
    if today > resolve_by:
        return "resolve_overdue"
    if acknowledged is None and today > ack_by:
        return "ack_overdue"
    return "on_time"


__all__ = [
    "CATEGORIES",
    "RESOLUTIONS",
    "STATUSES",
    "Category",
    "SlaPolicy",
    "add_business_days",
    "category",
    "sla_state",
]
