"""The payment event: one unit of work records the payment in the ledger, settles the loan's promises,
reviews its plan, cancels the loan's unsent outbox actions and reprioritises the borrower's case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from arrears.domain.loans import Payment
from arrears.services import audit
from arrears.services.cases import CaseworkConfig, refresh_case
from arrears.services.plans import review_plans
from arrears.services.promises import cancel_unsent, settle_promises
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
) -> PaymentOutcome:
    """Record a payment and everything it sets off (not committed: the caller commits once)."""
    record = uow.loans.record(loan_id)
    if not uow.payments.add(loan_id, Payment(payment_id, paid_on, amount), source=source):
        return PaymentOutcome(payment_id, loan_id, False)
    outcome = PaymentOutcome(payment_id, loan_id, True)
    outcome.promises = settle_promises(uow, paid_on, config.promise_tolerance, [loan_id])
    outcome.plans = review_plans(uow, paid_on, config.plans, actor, [loan_id])
    outcome.cancelled_actions = cancel_unsent(uow, loan_id, f"payment {payment_id}")
    outcome.case = refresh_case(uow, record.borrower_id, paid_on, config.recovery)
    audit.append(
        uow, actor, "payment.record", f"loan:{loan_id}", {"payment_id": payment_id, "amount": amount}
    )
    return outcome
