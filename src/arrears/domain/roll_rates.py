"""Roll rates: of the live accounts in bucket b at the start of a period, the share in a worse bucket at its
end; and the 30-day months a window is cut into for month-by-month roll rates (M0→M1, M1→M2, M2→M3 ...).

A window's roll rates compare its first and last day; month by month they compare each 30-day month's
first and last day, which is the classic roll rate (with 30-day buckets an account moves at most one bucket
in a month). A remainder shorter than 30 days at the end of the window is not a month and is left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

MONTH_DAYS = 30
BUCKET_ORDER = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")


def bucket_rank(bucket: str, order: Sequence[str] = BUCKET_ORDER) -> int:
    """The bucket's place from current to worst (an unknown bucket sorts last)."""
    return order.index(bucket) if bucket in order else len(order)


def next_bucket(bucket: str, order: Sequence[str] = BUCKET_ORDER) -> str:
    """The bucket one step worse ("M2" → "M3"); the last bucket is its own next."""
    rank = bucket_rank(bucket, order)
    return order[min(rank + 1, len(order) - 1)] if rank < len(order) else bucket


@dataclass(frozen=True, slots=True)
class RollRate:
    bucket: str
    accounts: int
    rolled: int

    @property
    def rate(self) -> float | None:
        return round(self.rolled / self.accounts, 4) if self.accounts else None

    def to_dict(self) -> dict[str, int | float | None]:
        return {"accounts": self.accounts, "rolled": self.rolled, "rate": self.rate}


def roll_matrix(moves: Iterable[tuple[str, str]]) -> dict[str, Counter[str]]:
    """(bucket at the start, bucket at the end) of each live account → counts per start bucket."""
    matrix: dict[str, Counter[str]] = {}
    for start, end in moves:
        matrix.setdefault(start, Counter())[end] += 1
    return matrix


def roll_rates(moves: Iterable[tuple[str, str]], order: Sequence[str] = BUCKET_ORDER) -> dict[str, RollRate]:
    """Per start bucket (current to worst): accounts, and how many ended in a worse bucket."""
    matrix = roll_matrix(moves)
    out = {}
    for bucket in sorted(matrix, key=lambda b: bucket_rank(b, order)):
        row = matrix[bucket]
        worse = sum(n for b, n in row.items() if bucket_rank(b, order) > bucket_rank(bucket, order))
        out[bucket] = RollRate(bucket, sum(row.values()), worse)
    return out


@dataclass(frozen=True, slots=True)
class Month:
    """One 30-day month of a window: its number (1, 2, ...), first and last day."""

    number: int
    first: date
    last: date

    @property
    def opening(self) -> date:
        """The day whose end is the month's starting position."""
        return self.first - timedelta(days=1)


def months(start: date, end: date) -> list[Month]:
    """The whole 30-day months of the window [start, end] (a shorter remainder is left out)."""
    out: list[Month] = []
    first = start
    while first + timedelta(days=MONTH_DAYS - 1) <= end:
        out.append(Month(len(out) + 1, first, first + timedelta(days=MONTH_DAYS - 1)))
        first += timedelta(days=MONTH_DAYS)
    return out


def pooled_rate(periods: Iterable[dict[str, RollRate]], bucket: str) -> float | None:
    """One roll rate for `bucket` over several months: Σ rolled ÷ Σ accounts (None with no account)."""
    accounts = rolled = 0
    for rates in periods:
        if bucket in rates:
            accounts += rates[bucket].accounts
            rolled += rates[bucket].rolled
    return RollRate(bucket, accounts, rolled).rate
