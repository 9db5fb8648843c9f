"""What every signed webhook shares (the payment processor's and the messaging providers'): the HMAC check
over the raw body, the body's validation with the field named, and the Idempotency-Key replay store."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from arrears.domain.casework_records import WebhookReceipt
from arrears.domain.errors import InputError
from arrears.entrypoints.api.problems import field_of
from arrears.services.auth import signature_ok
from arrears.services.unit_of_work import UnitOfWork

Model = TypeVar("Model", bound=BaseModel)


def check_signature(secret: str, raw: bytes, signature: str) -> None:
    """401 unless `signature` is the HMAC-SHA256 of the raw body under `secret`."""
    if not signature_ok(secret, raw, signature):
        raise HTTPException(401, "bad signature")


def parse_body(model: type[Model], raw: bytes) -> Model:
    """The raw JSON body as `model`; InputError (422) naming the first bad field."""
    try:
        return model.model_validate(json.loads(raw))
    except ValidationError as exc:
        errors = exc.errors()
        loc = tuple(errors[0]["loc"]) if errors else ()
        message = errors[0]["msg"] if errors else "invalid"
        raise InputError(message, field=field_of(("body", *loc)) if loc else "body") from None
    except ValueError:
        raise InputError("the body is not JSON", field="body") from None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def replayed(uow: UnitOfWork, key: str, body_sha256: str) -> dict[str, Any] | None:
    """The answer already given under this Idempotency-Key, or None; 409 if it came with another body."""
    seen = uow.webhook_receipts.get(key)
    if seen is None:
        return None
    if seen.body_sha256 != body_sha256:
        raise HTTPException(409, "this Idempotency-Key was used with a different body")
    return {**seen.response, "replayed": True}


def remember(uow: UnitOfWork, key: str, body_sha256: str, response: dict[str, Any]) -> None:
    """Store the answer under the key (in the request's transaction), for replays."""
    uow.webhook_receipts.add(WebhookReceipt(key, body_sha256, response))
