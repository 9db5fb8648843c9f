"""Credit lines (白条): a borrower's revolving limit; each purchase is an instalment loan under the line.

- used = the principal still outstanding on the line's loans (as their ledgers say); available = limit −
  used, never below zero;
- a line is frozen by the policy's `freeze_line` step (no new purchases) and unfrozen automatically when
  every loan under it is cured (nothing overdue, no bucket but the first); the borrower is told both times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from arrears.domain.errors import InputError

LINE_STATUSES = ("active", "frozen", "closed")
FREEZE_STEP_CHANNEL = "freeze_line"  # the policy channel of a step that freezes the borrower's line
# The messages telling the borrower (templates/<lang>/sms/...).
FROZEN_TEMPLATE = "sms/line_frozen"
UNFROZEN_TEMPLATE = "sms/line_unfrozen"


@dataclass(frozen=True, slots=True)
class CreditLine:
    id: str
    borrower_id: str
    currency: str
    limit: int  # minor units
    status: str = "active"
    opened_on: date | None = None
    frozen_on: date | None = None
    frozen_by: str | None = None  # the loan and step, or the user, that froze it

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise InputError("a credit line needs an id", field="line_id")
        if self.limit < 0:
            raise InputError("a credit limit cannot be negative", field="limit")
        if self.status not in LINE_STATUSES:
            raise InputError(f"unknown line status {self.status!r}", field="status")


@dataclass(frozen=True, slots=True)
class LinePosition:
    line: CreditLine
    used: int
    loans: tuple[str, ...]

    @property
    def available(self) -> int:
        if self.line.status != "active":
            return 0
        return max(0, self.line.limit - self.used)


def line_position(line: CreditLine, outstanding_principal: Iterable[tuple[str, int]]) -> LinePosition:
    """The line's use from its loans' outstanding principal: (loan id, principal) pairs."""
    pairs = sorted(outstanding_principal)
    return LinePosition(line, sum(p for _, p in pairs), tuple(loan for loan, _ in pairs))


def cured(buckets: Iterable[str], first_bucket: str) -> bool:
    """Whether every loan under a line is back in the first bucket (what unfreezes it)."""
    return all(b == first_bucket for b in buckets)


__all__ = [
    "FREEZE_STEP_CHANNEL",
    "FROZEN_TEMPLATE",
    "LINE_STATUSES",
    "UNFROZEN_TEMPLATE",
    "CreditLine",
    "LinePosition",
    "cured",
    "line_position",
]
