"""Outside agencies (委外): which accounts may be placed, with which agency, and what it earns.

The rules, once:
- an account is placed only if its borrower is not deceased, bankrupt, disputing the debt or asking that
  contact cease (a placement is collection by other hands: every hold that stops us stops them);
- all of one borrower's delinquent loans go to the same agency together (one collector per person);
- the agency is chosen among those that take the account's bucket and have room for all the loans:
  the best past performance first (recovered / placed balance over earlier placements), then the most
  spare capacity, then the id — so the choice is the same on every run;
- commission is the rate × each recovery received while the placement was in force (placed day included,
  recall day excluded), rounded half-up per recovery to the minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from arrears.domain.money import round_half_up

# Borrower facts that keep an account from any agency (facts.py flag names).
PLACEMENT_BARS = ("deceased", "bankruptcy", "dispute", "cease", "identity_theft", "litigation")
DEFAULT_PLACEMENT_DAYS = 90


@dataclass(frozen=True, slots=True)
class AgencyTerms:
    """What allocation reads of an agency: its rate, how many loans it may hold, the buckets it takes."""

    id: str
    commission_rate: str
    capacity: int | None = None  # None: no limit
    buckets: tuple[str, ...] = ()  # (): any bucket

    def takes(self, bucket: str) -> bool:
        return not self.buckets or bucket in self.buckets


@dataclass(frozen=True, slots=True)
class Performance:
    """An agency's record over its earlier placements."""

    placed: int = 0  # balance placed, minor units
    recovered: int = 0  # recovered during those placements

    @property
    def rate(self) -> Fraction:
        return Fraction(self.recovered, self.placed) if self.placed else Fraction(0)


def bars_to_placement(flag_names: Iterable[str]) -> list[str]:
    """The facts that keep a borrower's accounts from agencies (empty: may be placed)."""
    names = set(flag_names)
    return [bar for bar in PLACEMENT_BARS if bar in names]


def choose_agency(
    agencies: Sequence[AgencyTerms],
    bucket: str,
    loans: int,
    load: Mapping[str, int],
    performance: Mapping[str, Performance],
    exclude: Iterable[str] = (),
) -> AgencyTerms | None:
    """The agency for `loans` loans of one borrower in `bucket`, or None when no agency fits."""
    skip = set(exclude)
    fits = [
        a
        for a in agencies
        if a.id not in skip
        and a.takes(bucket)
        and (a.capacity is None or load.get(a.id, 0) + loans <= a.capacity)
    ]
    if not fits:
        return None

    def spare(a: AgencyTerms) -> Fraction:
        if a.capacity is None:
            return Fraction(1)
        return Fraction(a.capacity - load.get(a.id, 0), a.capacity) if a.capacity else Fraction(0)

    return min(fits, key=lambda a: (-performance.get(a.id, Performance()).rate, -spare(a), a.id))


def commission(amount: int, rate: str) -> int:
    """Commission on one recovery: rate × amount, rounded half-up to the minor unit."""
    return round_half_up(Decimal(amount) * Decimal(rate))


def in_placement(paid_on: date, placed_on: date, ended_on: date) -> bool:
    """Whether a payment counts for a placement: from the placement day up to (not including) its end."""
    return placed_on <= paid_on < ended_on


def period_bounds(period: str) -> tuple[date, date]:
    """'2026-03' → (first day, first day of the next month); ValueError when it is not YYYY-MM."""
    year, _, month = period.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year.isdigit() and month.isdigit()):
        raise ValueError(period)
    start = date(int(year), int(month), 1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end
