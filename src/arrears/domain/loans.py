"""Loans as the ledger sees them: a schedule of instalments, payments (and their reversals), pauses, waivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from arrears.domain.errors import InputError
from arrears.domain.products import LedgerSettings


@dataclass(frozen=True, slots=True)
class Instalment:
    seq: int
    due: date
    principal: int
    interest: int = 0
    fees: int = 0

    @property
    def scheduled(self) -> int:
        return self.principal + self.interest + self.fees


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received on a date. A bounced payment carries the date it was reversed."""

    id: str
    on: date
    amount: int
    reversed_on: date | None = None

    def counts_as_of(self, as_of: date) -> bool:
        """A payment counts from its date until its reversal; a reversal undoes it entirely."""
        return self.on <= as_of and (self.reversed_on is None or self.reversed_on > as_of)


@dataclass(frozen=True, slots=True)
class Pause:
    """Days (inclusive) on which delinquency and late fees stand still: dispute, identity theft, hardship."""

    start: date
    end: date | None
    reason: str = "dispute"

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Waiver:
    """Late fee forgiven on a date by a user, with the reason and a second person who approved it."""

    on: date
    amount: int
    user: str
    approver: str
    reason: str
    instalment_seq: int | None = None  # None: oldest late fee first

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise InputError("a waiver amount must be positive", field="amount")
        if not self.reason.strip():
            raise InputError("a waiver needs a reason", field="reason")
        if not self.user.strip() or not self.approver.strip():
            raise InputError("a waiver needs the user who asked and an approver", field="approver")
        if self.user.strip() == self.approver.strip():
            raise InputError("a waiver cannot be approved by the user who asked for it", field="approver")


@dataclass(frozen=True, slots=True)
class Loan:
    id: str
    instalments: tuple[Instalment, ...]
    payments: tuple[Payment, ...] = ()
    pauses: tuple[Pause, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    settings: LedgerSettings = field(default_factory=LedgerSettings)

    def __post_init__(self) -> None:
        if not self.instalments:
            raise InputError(f"loan {self.id} has no instalments", field="instalments")
        seqs = [i.seq for i in self.instalments]
        if len(set(seqs)) != len(seqs):
            raise InputError(f"loan {self.id} repeats an instalment number", field="instalments")
        for inst in self.instalments:
            if min(inst.principal, inst.interest, inst.fees) < 0:
                raise InputError(f"instalment {inst.seq} has a negative amount", field="instalments")
        ids = [p.id for p in self.payments]
        if len(set(ids)) != len(ids):
            raise InputError(f"loan {self.id} repeats a payment id", field="payments")
        for pay in self.payments:
            if pay.amount <= 0:
                raise InputError(f"payment {pay.id} must be positive", field="payments")
            if pay.reversed_on is not None and pay.reversed_on < pay.on:
                raise InputError(f"payment {pay.id} is reversed before it was made", field="payments")

    @property
    def currency(self) -> str:
        return self.settings.currency
