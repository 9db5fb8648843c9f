"""Loans, payments (staff and the signed webhook), accounts as of a date, runs, outbox, borrower tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from arrears.domain.errors import InputError
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor, parse_amount
from arrears.domain.outbox import OUTBOX_STATUSES
from arrears.entrypoints.api import jobs, webhooks
from arrears.entrypoints.api.limits import AsOf, Limit, Month, Offset, heavy
from arrears.entrypoints.api.schemas import LoanIn, PaymentIn, TokenIn
from arrears.entrypoints.api.security import Caller, Config, RawBody, Uow, check_loan_scope, roles
from arrears.services import imports as importing
from arrears.services.agencies import placed_loans, placement_of
from arrears.services.auth import Principal, issue_borrower_token
from arrears.services.cases import loans_of
from arrears.services.payments import PaymentOutcome, audit_payment, record_payment
from arrears.services.plans import loan_as_of, plans_of
from arrears.services.promises import promises_of

router = APIRouter()
STAFF = ("admin", "strategist", "agent", "supervisor", "compliance")
# Import columns → the request body's field names.
_LOAN_FIELDS = {
    "due_date": "instalments.due",
    "principal": "instalments.principal",
    "borrower_name": "borrower.name",
    "phone": "borrower.phone",
    "id_number": "borrower.id_number",
    "email": "borrower.email",
    "address": "borrower.address",
    "product": "product",
}
MONEY_KEYS = ("amount", "paid", "concession", "balance", "expected_recovery")


def money(row: dict[str, Any], currency: str = "CNY") -> dict[str, Any]:
    """Minor-unit fields of a view as decimal strings."""
    return {
        k: format_minor(v, currency) if k in MONEY_KEYS and isinstance(v, int) else v for k, v in row.items()
    }


def account_view(uow: Uow, loan_id: str, as_of: date) -> dict[str, Any]:
    record = uow.loans.record(loan_id)
    position = compute_position(loan_as_of(uow, loan_id, as_of), as_of)
    borrower = uow.borrowers.get(record.borrower_id)
    cur = record.loan.currency
    return {
        "loan_id": loan_id,
        "borrower": borrower.view() if borrower else {"id": record.borrower_id},
        "product": record.product_code,
        "position": position.to_dict(),
        "placed_with": placement_of(uow, loan_id, as_of),
        "promises": [money(p, cur) for p in promises_of(uow, [loan_id])],
        "plans": [money(p, cur) for p in plans_of(uow, [loan_id])],
        # the risk models' scores the latest daily run on or before as_of wrote (docs/models.md)
        "scores": [
            {
                "target": s.target,
                "model_id": s.model_id,
                "day": s.day.isoformat(),
                "score": s.score_bp / 10_000,
                "reasons": [r for r in s.reasons.split(",") if r],
            }
            for s in uow.models.scores_of(loan_id, as_of)
        ],
    }


@router.post("/loans", status_code=201, tags=["loans"])
def create_loan(body: LoanIn, uow: Uow, who: Annotated[Principal, Depends(roles("admin"))]) -> dict[str, Any]:
    """Create a loan with its schedule (and its borrower if new); 409 if the loan id exists."""
    if uow.loans.exists(body.loan_id):
        raise HTTPException(409, f"loan {body.loan_id} exists")
    b = body.borrower
    n = len(body.instalments)
    columns: dict[str, list[Any]] = {
        "loan_id": [body.loan_id] * n,
        "borrower_id": [b.id] * n,
        "product": [body.product] * n,
        "currency": [body.currency] * n,
        "seq": [str(i.seq) for i in body.instalments],
        "due_date": [i.due.isoformat() for i in body.instalments],
        "principal": [i.principal for i in body.instalments],
        "interest": [i.interest for i in body.instalments],
        "fees": [i.fees for i in body.instalments],
        "opened_on": [body.opened_on.isoformat() if body.opened_on else None] * n,
        "borrower_name": [b.name] * n,
        "phone": [b.phone] * n,
        "id_number": [b.id_number] * n,
        "email": [b.email] * n,
        "address": [b.address] * n,
        "language": [b.language] * n,
        "timezone": [b.timezone] * n,
    }
    table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    try:
        importing.import_loans(uow, table, name="request", actor=who.actor)
    except importing.ImportRejected as exc:
        first = exc.errors[0]
        raise InputError(first.reason, field=_LOAN_FIELDS.get(first.column or "", first.column)) from None
    return account_view(uow, body.loan_id, body.instalments[0].due)


@router.get("/loans/{loan_id}", tags=["loans"])
def get_loan(loan_id: str, uow: Uow, who: Caller) -> dict[str, Any]:
    """The loan's schedule and payments (as stored today)."""
    check_loan_scope(uow, who, loan_id)
    record = uow.loans.record(loan_id)
    loan = record.loan
    cur = loan.currency
    return {
        "loan_id": loan_id,
        "borrower_id": record.borrower_id,
        "product": record.product_code,
        "currency": cur,
        "instalments": [
            {
                "seq": i.seq,
                "due": i.due,
                "principal": format_minor(i.principal, cur),
                "interest": format_minor(i.interest, cur),
                "fees": format_minor(i.fees, cur),
            }
            for i in loan.instalments
        ],
        "payments": [
            {"id": p.id, "paid_on": p.on, "amount": format_minor(p.amount, cur), "reversed_on": p.reversed_on}
            for p in loan.payments
        ],
    }


@router.get("/accounts/{loan_id}", tags=["accounts"])
def get_account(loan_id: str, uow: Uow, who: Caller, as_of: AsOf = None) -> dict[str, Any]:
    """The account as of a date (default today): ledger position, borrower (masked), promises, plans."""
    check_loan_scope(uow, who, loan_id)
    return account_view(uow, loan_id, as_of or datetime.now(UTC).date())


@router.get("/accounts", tags=["accounts"], dependencies=[Depends(heavy)])
def list_accounts(
    uow: Uow,
    who: Caller,
    as_of: AsOf = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Accounts the caller may see (by loan id): a borrower's own, an agency's placed ones, everything for
    staff."""
    day = as_of or datetime.now(UTC).date()
    if who.role == "borrower":
        ids = loans_of(uow, who.borrower_id or "")
    elif who.role == "agency":
        ids = placed_loans(uow, who.agency_id or "", datetime.now(UTC).date())
    else:
        ids = uow.loans.ids()
    return [account_view(uow, i, day) for i in ids[offset : offset + limit]]


def _outcome(outcome: PaymentOutcome, currency: str) -> dict[str, Any]:
    return {
        "payment_id": outcome.payment_id,
        "loan_id": outcome.loan_id,
        "recorded": outcome.recorded,
        "promises": [money(p, currency) for p in outcome.promises],
        "plans": [money(p, currency) for p in outcome.plans],
        "cancelled_actions": outcome.cancelled_actions,
        "case": money(outcome.case, currency) if outcome.case else None,
    }


def _record(
    uow: Uow,
    cfg: Config,
    body: PaymentIn,
    actor: str,
    audited: list[tuple[PaymentOutcome, int]] | None = None,
) -> dict[str, Any]:
    """Record the payment; with `audited` (a list), its audit entry is left to the caller, who gets the
    outcome and the amount in the list for audit_payment."""
    # The borrower's accounts, read once: the amount is parsed in the loan's currency, and the payment
    # event goes on from what was read.
    accounts = uow.loans.accounts(body.paid_on, loan_id=body.loan_id)
    currency = accounts.record.loan.currency
    amount = parse_amount(body.amount, currency, field="amount")
    if amount <= 0:
        raise InputError("a payment must be positive", field="amount")
    outcome = record_payment(
        uow,
        body.loan_id,
        body.payment_id,
        body.paid_on,
        amount,
        cfg,
        actor=actor,
        source=body.source,
        accounts=accounts,
        audited=audited is None,
    )
    if audited is not None:
        audited.append((outcome, amount))
    return _outcome(outcome, currency)


@router.post("/payments", status_code=201, tags=["payments"])
def post_payment(
    body: PaymentIn, uow: Uow, cfg: Config, who: Annotated[Principal, Depends(roles("admin", "supervisor"))]
) -> dict[str, Any]:
    """Record a payment entered by staff (ledger, promises, plan, outbox, case in one transaction)."""
    out = _record(uow, cfg, body, who.actor)
    uow.commit()
    return out


@router.post("/webhooks/payments", tags=["payments"], openapi_extra=webhooks.documented(PaymentIn))
def payment_webhook(
    raw: RawBody,
    uow: Uow,
    cfg: Config,
    x_signature: webhooks.Signature = None,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="required: the notification's id (422 without)")
    ] = None,
) -> dict[str, Any]:
    """A payment processor's notification: HMAC-SHA256 of the raw body in X-Signature (401 when missing or
    wrong); the same Idempotency-Key (required) always gets the first answer (a different body with it is
    a 409), also when two deliveries of it race."""
    webhooks.check_signature(cfg.webhook_secret, raw, x_signature)
    key = webhooks.require_key(idempotency_key)

    actor = "system:payment-webhook"
    booked: list[tuple[PaymentOutcome, int]] = []

    def handle() -> dict[str, Any]:
        booked.clear()  # a retry after a lost race starts again
        body = webhooks.parse_body(PaymentIn, raw)
        return _record(uow, cfg, body, actor, audited=booked)

    def audit_last() -> None:  # after the receipt: the audit lock is held until the commit
        for outcome, amount in booked:
            audit_payment(uow, outcome, amount, actor=actor)

    return webhooks.answer_once(uow, key, raw, handle, last=audit_last)


@router.post("/auth/borrower-tokens", status_code=201, tags=["auth"])
def borrower_token(
    body: TokenIn, uow: Uow, cfg: Config, who: Annotated[Principal, Depends(roles("admin"))]
) -> dict[str, Any]:
    """A short-lived token for a borrower (issued by the self-service front end after it verified them)."""
    if uow.borrowers.get(body.borrower_id) is None:
        raise InputError(f"unknown borrower {body.borrower_id!r}", field="borrower_id")
    ttl = timedelta(minutes=body.minutes)
    return {
        "token": issue_borrower_token(cfg.token_secret, body.borrower_id, ttl=ttl),
        "expires_in": ttl.seconds,
    }


@router.get("/runs", tags=["runs"])
def list_runs(
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "strategist", "supervisor", "compliance"))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Daily runs, newest first."""
    return uow.run_log.runs(limit, offset=offset)


@router.get("/outbox", tags=["runs"], dependencies=[Depends(heavy)])
def list_outbox(
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "strategist", "supervisor", "compliance"))],
    loan_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(OUTBOX_STATUSES) + ")$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Outbox rows in the order written."""
    return uow.run_log.actions(loan_id=loan_id, status=status, limit=limit, offset=offset)


@router.post("/bureau/export", status_code=202, tags=["bureau", "jobs"])
def bureau_export(
    request: Request,
    response: Response,
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "compliance"))],
    month: Month,
) -> dict[str, Any]:
    """The monthly credit-bureau export (layout in docs/api.md; negative records only after the
    pre-notice): a background job (202, Location: /jobs/{id}; its result is `{month, csv, records}`);
    409 while one is queued or running."""
    return jobs.submit(request, response, uow, "bureau_export", {"month": month}, who)
