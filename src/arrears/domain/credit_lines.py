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
    dpd: int = 0  # the line's days past due: its worst loan's

    @property
    def available(self) -> int:
        if self.line.status != "active":
            return 0
        return max(0, self.line.limit - self.used)


def line_position(
    line: CreditLine, outstanding_principal: Iterable[tuple[str, int]], dpd: Iterable[int] = ()
) -> LinePosition:
    """The line's use from its loans' outstanding principal ((loan id, principal) pairs) and its DPD, the
    worst of its loans' (`dpd`)."""
    pairs = sorted(outstanding_principal)
    return LinePosition(line, sum(p for _, p in pairs), tuple(loan for loan, _ in pairs), max(dpd, default=0))


@dataclass(frozen=True, slots=True)
class LineAccount:
    """One loan of a line-level product under a line, as the day's ledger sees it."""

    loan_id: str
    line_id: str
    dpd: int
    anchor: date | None  # the loan's oldest unpaid due date (its ladder's anchor)


def line_level_accounts(accounts: Iterable[LineAccount]) -> dict[str, str]:
    """Each line's representative: the loan whose DPD is the line's (the worst; the lower loan id on a
    tie, the same choice every day). Line id → loan id.

    Under a product with `line_level_delinquency` the line's loans are one account for the ladder: the
    representative's steps are the line's (one reminder, one freeze per line), the other loans get none.
    """
    best: dict[str, LineAccount] = {}
    for a in accounts:
        held = best.get(a.line_id)
        if held is None or (a.dpd, held.loan_id) > (held.dpd, a.loan_id):
            best[a.line_id] = a
    return {line_id: a.loan_id for line_id, a in best.items()}


def line_steps_taken(
    accounts: Iterable[LineAccount], history: Iterable[tuple[str, str, date | None]]
) -> dict[str, set[str]]:
    """Line id → the steps its loans were given in the line's current episode: history rows (loan id,
    step id, anchor) of any of its loans anchored at the line's oldest unpaid due date — so a step is not
    given again when another loan with the same anchor becomes the representative."""
    members = list(accounts)
    line_of = {a.loan_id: a.line_id for a in members}
    anchor: dict[str, date] = {}
    for a in members:
        if a.anchor is not None and (a.line_id not in anchor or a.anchor < anchor[a.line_id]):
            anchor[a.line_id] = a.anchor
    taken: dict[str, set[str]] = {}
    for loan_id, step_id, at in history:
        line_id = line_of.get(loan_id)
        if line_id is not None and at is not None and anchor.get(line_id) == at:
            taken.setdefault(line_id, set()).add(step_id)
    return taken


def cured(buckets: Iterable[str], first_bucket: str) -> bool:
    """Whether every loan under a line is back in the first bucket (what unfreezes it)."""
    return all(b == first_bucket for b in buckets)


__all__ = [
    "FREEZE_STEP_CHANNEL",
    "FROZEN_TEMPLATE",
    "LINE_STATUSES",
    "UNFROZEN_TEMPLATE",
    "CreditLine",
    "LineAccount",
    "LinePosition",
    "cured",
    "line_level_accounts",
    "line_position",
    "line_steps_taken",
]
