"""A borrower's accounts as case work reads them in one go: every loan of the borrower with its ledger, the
pending promises, the active plans of the loan at hand, the case, and the promises broken lately.

A payment event reads this once, before it writes anything, and then keeps it current itself as it books
the payment and settles promises (`with_payment`, `with_settled`), so the case it refreshes at the end is
judged on the same loans the store now holds without reading them again. A plan that closes or breaks
changes pauses and perhaps the schedule: the event then reads the accounts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from arrears.domain.cases import BROKEN_PROMISE_WINDOW, RecoveryModel
from arrears.domain.casework_records import CaseRecord, CaseStanding, PlanRecord, PromiseRecord
from arrears.domain.errors import NotFound
from arrears.domain.ledger import LedgerPosition
from arrears.domain.loans import Payment
from arrears.domain.records import LoanRecord


@dataclass(frozen=True, slots=True)
class BorrowerAccounts:
    """What the store holds about one borrower's accounts as of `as_of`.

    `loan_id` is the loan at hand (the one paid), or None when the accounts were read by borrower.
    `broken_promises` counts the loans' promise_broken events dated inside BROKEN_PROMISE_WINDOW up to
    `as_of` (as the recovery model weighs them)."""

    borrower_id: str
    as_of: date
    loans: tuple[LoanRecord, ...]  # every loan of the borrower, by id
    pending_promises: tuple[PromiseRecord, ...] = ()  # of any of those loans, oldest first
    active_plans: tuple[PlanRecord, ...] = ()  # of the loan at hand, oldest first
    case: CaseRecord | None = None
    broken_promises: int = 0
    language: str | None = None  # the borrower's, for a case opened now
    loan_id: str | None = None

    @property
    def loan_ids(self) -> list[str]:
        return [r.id for r in self.loans]

    @property
    def record(self) -> LoanRecord:
        """The loan at hand."""
        for r in self.loans:
            if r.id == self.loan_id:
                return r
        raise NotFound(f"unknown loan {self.loan_id!r}")

    def promises_of(self, loan_id: str) -> list[PromiseRecord]:
        """The pending promises of one loan, oldest first."""
        return [p for p in self.pending_promises if p.loan_id == loan_id]

    def with_payment(self, payment: Payment) -> BorrowerAccounts:
        """The accounts once `payment` is booked on the loan at hand (payments in the store's order: by day,
        then id; the order inside a day changes no total)."""
        paid = self.record
        payments = tuple(sorted((*paid.loan.payments, payment), key=lambda p: (p.on, p.id)))
        loan = replace(paid.loan, payments=payments)
        return replace(self, loans=tuple(replace(r, loan=loan) if r.id == paid.id else r for r in self.loans))

    def with_settled(self, settled: Iterable[tuple[PromiseRecord, bool]]) -> BorrowerAccounts:
        """The accounts once these promises are settled: (the promise as it is now, whether its
        promise_kept / promise_broken event was written just now rather than already stored)."""
        done = {p.id: (p, new) for p, new in settled}
        if not done:
            return self
        window_start = self.as_of - BROKEN_PROMISE_WINDOW
        broken = sum(
            1
            for p, new in done.values()
            if new and p.status == "broken" and p.resolved_on is not None
            and window_start < p.resolved_on <= self.as_of
        )  # fmt: skip
        return replace(
            self,
            pending_promises=tuple(p for p in self.pending_promises if p.id not in done),
            broken_promises=self.broken_promises + broken,
        )


def case_standing(
    positions: Iterable[LedgerPosition], model: RecoveryModel, *, promise_pending: bool, broken_promises: int
) -> CaseStanding | None:
    """Where the borrower's case stands given their loans' positions: the worst late loan's bucket and
    days past due, the late loans' outstanding balance and its expected recovery; None when no loan is
    late (the case, if any, closes)."""
    late = [p for p in positions if p.dpd > 0]
    if not late:
        return None
    worst = max(late, key=lambda p: p.dpd)
    balance = sum(p.outstanding.total for p in late)
    return CaseStanding(
        bucket=worst.bucket,
        dpd=worst.dpd,
        balance=balance,
        expected_recovery=model.expected_recovery(
            balance, worst.bucket, promise_pending=promise_pending, broken_promises=broken_promises
        ),
    )
