"""Promises to pay: record one (pending promises suspend collection), and settle them as kept or broken.

Each step writes the account event the daily run's features read (promise_made, promise_kept,
promise_broken): promise_pending and broken_promises_90d come from them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select, update

from arrears.adapters.store.casework_models import PromiseRow
from arrears.adapters.store.records import AccountEvent
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.errors import InputError, NotFound
from arrears.domain.promises import Promise, Tolerance, evaluate
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

# Outbox rows not yet sent: what a payment, a promise or a dispute makes moot.
UNSENT = ("pending", "awaiting_approval", "deferred")


def cancel_unsent(uow: UnitOfWork, loan_id: str, reason: str) -> int:
    """Cancel the loan's outbox actions that have not gone out; how many were cancelled."""
    result = uow.connection.execute(
        update(OutboxRow)
        .where(OutboxRow.loan_id == loan_id, OutboxRow.status.in_(UNSENT))
        .values(status="cancelled", last_error=reason, updated_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)


def make_promise(
    uow: UnitOfWork, loan_id: str, amount: int, due_on: date, made_on: date, actor: str
) -> dict[str, Any]:
    """Record a promise to pay; pending actions of the loan are suspended (cancelled)."""
    uow.loans.record(loan_id)  # NotFound for an unknown loan
    promise = Promise(made_on, due_on, amount)
    c = uow.connection
    if c.scalar(select(PromiseRow.id).where(PromiseRow.loan_id == loan_id, PromiseRow.status == "pending")):
        raise InputError("the loan already has a pending promise", field="loan_id")
    promise_id = int(
        c.execute(
            insert(PromiseRow)
            .values(
                loan_id=loan_id,
                made_on=promise.made_on,
                due_on=promise.due_on,
                amount=promise.amount,
                status="pending",
                paid=0,
                created_by=actor,
                created_at=datetime.now(UTC),
            )
            .returning(PromiseRow.id)
        ).scalar_one()
    )
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
    row = uow.connection.execute(select(PromiseRow).where(PromiseRow.id == promise_id)).mappings().first()
    if row is None:
        raise NotFound(f"unknown promise {promise_id}")
    return dict(row)


def settle_promises(
    uow: UnitOfWork, as_of: date, tolerance: Tolerance, loan_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Decide the pending promises (of the given loans, or all) as of a date; the ones that changed."""
    q = select(
        PromiseRow.id, PromiseRow.loan_id, PromiseRow.made_on, PromiseRow.due_on, PromiseRow.amount
    ).where(PromiseRow.status == "pending")
    if loan_ids is not None:
        q = q.where(PromiseRow.loan_id.in_(loan_ids))
    changed = []
    for promise_id, loan_id, made_on, due_on, amount in uow.connection.execute(q).all():
        loan = uow.loans.get(loan_id)
        outcome = evaluate(Promise(made_on, due_on, amount), loan.payments, as_of, tolerance)
        if outcome.status == "pending":
            continue
        uow.connection.execute(
            update(PromiseRow)
            .where(PromiseRow.id == promise_id)
            .values(status=outcome.status, paid=outcome.paid, resolved_on=outcome.resolved_on)
        )
        assert outcome.resolved_on is not None
        uow.events.add(
            AccountEvent(
                f"promise:{promise_id}:{outcome.status}",
                loan_id,
                f"promise_{outcome.status}",
                outcome.resolved_on,
                detail={"promise_id": promise_id, "paid": outcome.paid},
            )
        )
        changed.append(promise_view(uow, promise_id))
    return changed


def promises_of(uow: UnitOfWork, loan_ids: list[str]) -> list[dict[str, Any]]:
    rows = uow.connection.execute(
        select(PromiseRow).where(PromiseRow.loan_id.in_(loan_ids)).order_by(PromiseRow.id)
    ).mappings()
    return [dict(r) for r in rows]
