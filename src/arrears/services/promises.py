"""Promises to pay: record one (pending promises suspend collection), and settle them as kept or broken.

Each step writes the account event the daily run's features read (promise_made, promise_kept,
promise_broken): promise_pending and broken_promises_90d come from them.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from typing import Any

from arrears.domain.casework_records import PromiseRecord
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Loan
from arrears.domain.promises import Promise, Tolerance, evaluate
from arrears.domain.records import AccountEvent
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

# Outbox rows not yet sent: what a payment, a promise or a dispute makes moot.
UNSENT = ("pending", "awaiting_approval", "deferred")


def cancel_unsent(uow: UnitOfWork, loan_id: str, reason: str) -> int:
    """Cancel the loan's outbox actions that have not gone out; how many were cancelled."""
    return uow.loan_actions.cancel(loan_id, UNSENT, reason)


def make_promise(
    uow: UnitOfWork, loan_id: str, amount: int, due_on: date, made_on: date, actor: str
) -> dict[str, Any]:
    """Record a promise to pay; pending actions of the loan are suspended (cancelled)."""
    uow.loans.record(loan_id)  # NotFound for an unknown loan
    promise = Promise(made_on, due_on, amount)
    if uow.promises.has_pending([loan_id]):
        raise InputError("the loan already has a pending promise", field="loan_id")
    promise_id = uow.promises.add(loan_id, promise, actor)
    uow.events.add(
        AccountEvent(
            f"promise:{promise_id}:made",
            loan_id,
            "promise_made",
            made_on,
            detail={"promise_id": promise_id, "amount": amount, "due_on": due_on.isoformat()},
        )
    )
    cancelled = cancel_unsent(uow, loan_id, f"promise {promise_id} pending")
    audit.append(uow, actor, "promise.make", f"loan:{loan_id}", {"promise_id": promise_id, "amount": amount})
    view = promise_view(uow, promise_id)
    view["cancelled_actions"] = cancelled
    return view


def promise_view(uow: UnitOfWork, promise_id: int) -> dict[str, Any]:
    record = uow.promises.get(promise_id)
    if record is None:
        raise NotFound(f"unknown promise {promise_id}")
    return asdict(record)


def settle_promises(
    uow: UnitOfWork, as_of: date, tolerance: Tolerance, loan_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Decide the pending promises (of the given loans, or all) as of a date; the ones that changed."""
    changed = []
    for pending in uow.promises.pending(loan_ids):
        settled = settle(uow, pending, uow.loans.get(pending.loan_id), as_of, tolerance)
        if settled is not None:
            changed.append(asdict(settled[0]))
    return changed


def settle(
    uow: UnitOfWork, pending: PromiseRecord, loan: Loan, as_of: date, tolerance: Tolerance
) -> tuple[PromiseRecord, bool] | None:
    """Decide one pending promise on the loan's payments as of a date: None while it stays pending, else
    the promise as now stored (kept or broken) and whether its promise_kept / promise_broken account event
    was written now (False: it was already stored)."""
    outcome = evaluate(pending.promise, loan.payments, as_of, tolerance)
    if outcome.status == "pending":
        return None
    uow.promises.settle(pending.id, outcome)
    assert outcome.resolved_on is not None
    written = uow.events.add(
        AccountEvent(
            f"promise:{pending.id}:{outcome.status}",
            pending.loan_id,
            f"promise_{outcome.status}",
            outcome.resolved_on,
            detail={"promise_id": pending.id, "paid": outcome.paid},
        )
    )
    now = replace(pending, status=outcome.status, paid=outcome.paid, resolved_on=outcome.resolved_on)
    return now, written


def promises_of(uow: UnitOfWork, loan_ids: list[str]) -> list[dict[str, Any]]:
    """The loans' promises, oldest first."""
    return [asdict(p) for p in uow.promises.of_loans(loan_ids)]
