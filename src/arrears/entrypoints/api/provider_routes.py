"""The messaging providers' callbacks: delivery receipts, IVR call outcomes, inbound SMS replies.

Authenticated like the payment webhook: `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
config's `provider_secret`. An optional `Idempotency-Key` makes a provider's retry get the first answer
instead of applying the callback twice. The work is done by arrears.services.receipts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header

from arrears.domain.errors import InputError
from arrears.entrypoints.api import webhooks
from arrears.entrypoints.api.schemas import DeliveryReceiptIn, IvrCallbackIn, SmsReplyIn
from arrears.entrypoints.api.security import Config, RawBody, Uow
from arrears.services.receipts import RECEIPT_OUTCOMES, record_delivery, record_reply

router = APIRouter(prefix="/webhooks", tags=["providers"])
Signature = webhooks.Signature
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=180)]


def _message(body: DeliveryReceiptIn | IvrCallbackIn) -> dict[str, str]:
    """Which message the callback is about (our idempotency key wins over the provider's id)."""
    if body.idempotency_key:
        return {"idempotency_key": body.idempotency_key}
    if body.provider_id:
        return {"provider_id": body.provider_id}
    raise InputError("needs idempotency_key or provider_id", field="provider_id")


def _apply(
    kind: str, key: str | None, uow: Uow, raw: bytes, handle: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Replay the first answer for a known Idempotency-Key, else apply the callback and remember it."""
    scoped = f"{kind}:{key}" if key else None  # provider keys live apart from payment keys
    return webhooks.answer_once(uow, scoped, raw, handle)


@router.post("/delivery", openapi_extra=webhooks.documented(DeliveryReceiptIn))
def delivery_receipt(
    raw: RawBody,
    uow: Uow,
    cfg: Config,
    x_signature: Signature = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A delivery receipt (`{idempotency_key | provider_id, status, at}`): updates the delivery row and the
    contact attempt's outcome. Unknown message: 404."""
    webhooks.check_signature(cfg.provider_secret, raw, x_signature)
    body = webhooks.parse_body(DeliveryReceiptIn, raw)

    def handle() -> dict[str, Any]:
        record = {**_message(body), "status": body.status, "at": body.at.isoformat() if body.at else None}
        status = record_delivery(uow, record)
        return {"status": status, "outcome": RECEIPT_OUTCOMES[status]}

    return _apply("delivery", idempotency_key, uow, raw, handle)


@router.post("/ivr", openapi_extra=webhooks.documented(IvrCallbackIn))
def ivr_callback(
    raw: RawBody,
    uow: Uow,
    cfg: Config,
    x_signature: Signature = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """How a robocall ended (`{idempotency_key | provider_id, outcome, at}`); `answered` counts as a
    connected call for the daily cap, `pressed_1` also opens an agent call task."""
    webhooks.check_signature(cfg.provider_secret, raw, x_signature)
    body = webhooks.parse_body(IvrCallbackIn, raw)

    def handle() -> dict[str, Any]:
        record = {**_message(body), "status": body.outcome, "at": body.at.isoformat() if body.at else None}
        status = record_delivery(uow, record)
        return {
            "outcome": status,
            "contact_outcome": RECEIPT_OUTCOMES[status],
            "agent_task": status == "pressed_1",
        }

    return _apply("ivr", idempotency_key, uow, raw, handle)


@router.post("/sms-replies", openapi_extra=webhooks.documented(SmsReplyIn))
def sms_reply(
    raw: RawBody,
    uow: Uow,
    cfg: Config,
    x_signature: Signature = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """An inbound SMS (`{from, text, at, channel}`): 退订 / TD / T / STOP / UNSUBSCRIBE opt the borrower
    out of the channel; PLAN / 分期 / 还款计划 records a plan_request event on each of their loans.
    An unknown sender is answered 200 with action `unknown_sender` (nothing to retry)."""
    webhooks.check_signature(cfg.provider_secret, raw, x_signature)
    body = webhooks.parse_body(SmsReplyIn, raw)

    def handle() -> dict[str, Any]:
        record = {
            "from": body.sender,
            "text": body.text,
            "channel": body.channel,
            "at": body.at.isoformat() if body.at else None,
        }
        result = record_reply(uow, record)
        return {"borrower_id": result.borrower_id, "action": result.action, "loans": result.loans}

    return _apply("reply", idempotency_key, uow, raw, handle)
