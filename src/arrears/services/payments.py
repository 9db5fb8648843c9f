"""The payment event: one unit of work records the payment in the ledger, settles the loan's promises,
reviews its plan, cancels the loan's unsent outbox actions and reprioritises the borrower's case."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from arrears.domain.borrower_accounts import BorrowerAccounts
from arrears.domain.loans import Payment
from arrears.services import audit
from arrears.services.cases import CaseworkConfig, keep_case
from arrears.services.plans import review_plan
from arrears.services.promises import cancel_unsent, settle
from arrears.services.unit_of_work import UnitOfWork


@dataclass(slots=True)
class PaymentOutcome:
    payment_id: str
    loan_id: str
    recorded: bool  # False: the payment id was already stored (nothing changed)
    promises: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    cancelled_actions: int = 0
    case: dict[str, Any] | None = None


def record_payment(
    uow: UnitOfWork,
    loan_id: str,
    payment_id: str,
    paid_on: date,
    amount: int,
    config: CaseworkConfig,
    *,
    actor: str,
    source: str | None = None,
    accounts: BorrowerAccounts | None = None,
    audited: bool = True,
) -> PaymentOutcome:
    """Record a payment and everything it sets off (not committed: the caller commits once).

    The borrower's accounts are read once (`accounts`, when the caller already read them as of `paid_on`,
    e.g. to parse the amount in the loan's currency), and kept current in memory as the payment is booked
    and promises settle; only a plan that closes or breaks (its pause, perhaps its schedule) makes the case
    refresh read them again.

    `audited=False`: the audit entry is left to the caller (audit_payment), to write after its own writes."""
    accounts = accounts or uow.loans.accounts(paid_on, loan_id=loan_id)
    payment = Payment(payment_id, paid_on, amount)
    if not uow.payments.add(loan_id, payment, source=source):
        return PaymentOutcome(payment_id, loan_id, False)
    accounts = accounts.with_payment(payment)
    loan = accounts.record.loan
    outcome = PaymentOutcome(payment_id, loan_id, True)
    settled = [
        done
        for pending in accounts.promises_of(loan_id)
        if (done := settle(uow, pending, loan, paid_on, config.promise_tolerance)) is not None
    ]
    outcome.promises = [asdict(promise) for promise, _ in settled]
    accounts = accounts.with_settled(settled)
    for plan in accounts.active_plans:
        if (changed := review_plan(uow, plan, loan, paid_on, config.plans, actor)) is not None:
            outcome.plans.append(changed)
            loan = uow.loans.get(loan_id)  # the plan's pause ended, its schedule may be back
    outcome.cancelled_actions = cancel_unsent(uow, loan_id, f"payment {payment_id}")
    if outcome.plans:
        accounts = uow.loans.accounts(paid_on, loan_id=loan_id)
    outcome.case = keep_case(uow, accounts, config.recovery)
    if audited:
        audit_payment(uow, outcome, amount, actor=actor)
    return outcome


def audit_payment(uow: UnitOfWork, outcome: PaymentOutcome, amount: int, *, actor: str) -> None:
    """The payment's audit entry (record_payment's last step; a caller with writes of its own after the
    event passes audited=False and calls this last, since the audit lock is held until the commit)."""
    if outcome.recorded:
        audit.append(
            uow,
            actor,
            "payment.record",
            f"loan:{outcome.loan_id}",
            {"payment_id": outcome.payment_id, "amount": amount},
        )
