"""What every signed webhook shares (the payment processor's and the messaging providers'): the HMAC check
over the raw body, the body's validation with the field named, and the Idempotency-Key replay store —
one answer per key, also when two deliveries of the same key race (across threads, workers, instances)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, HTTPException
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy.exc import IntegrityError, OperationalError

from arrears.domain.casework_records import WebhookReceipt
from arrears.domain.errors import InputError
from arrears.entrypoints.api.problems import field_of, readable
from arrears.services.auth import signature_ok
from arrears.services.unit_of_work import UnitOfWork

Model = TypeVar("Model", bound=BaseModel)


# The signature and key headers are optional in the routes' signatures, so that a request without them is
# answered by what is missing — 401 for the signature (checked first), then 422 naming Idempotency-Key —
# rather than by FastAPI's header validation (a 422 for whichever header it looked at first).
Signature = Annotated[
    str | None, Header(description="sha256=<hex HMAC-SHA256 of the raw body> (401 when missing or wrong)")
]
MAX_SIGNATURE = 200


def check_signature(secret: str, raw: bytes, signature: str | None) -> None:
    """401 unless `signature` is the HMAC-SHA256 of the raw body under `secret`."""
    if not signature:
        raise HTTPException(
            401, "the X-Signature header is missing: sha256=<hex HMAC-SHA256 of the raw body>"
        )
    if len(signature) > MAX_SIGNATURE or not signature_ok(secret, raw, signature):
        raise HTTPException(
            401, "X-Signature does not match the body: sha256=<hex HMAC-SHA256 of the raw body> expected"
        )


def require_key(key: str | None) -> str:
    """The Idempotency-Key header a payment notification must carry (422 naming it otherwise)."""
    if not key or not key.strip():
        raise InputError(
            "the Idempotency-Key header is required (the processor's id of this notification; a retry"
            " sends the same one)",
            field="Idempotency-Key",
        )
    return key


def parse_body(model: type[Model], raw: bytes) -> Model:
    """The raw JSON body as `model`; InputError (422) naming the first bad field, in words."""
    try:
        return model.model_validate(json.loads(raw))
    except ValidationError as exc:
        errors = exc.errors()
        loc = tuple(errors[0]["loc"]) if errors else ()
        field = field_of(("body", *loc)) if loc else "body"
        # As the API's own validation answers read: "field: what it must be".
        message = f"{field}: {readable(errors[0])}" if errors else "invalid"
        raise InputError(message, field=field) from None
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


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads the raw body itself (to check its signature)."""
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


ATTEMPTS = 5  # with a growing pause: SQLite's loser may need the winner to finish first


def _lost_race(exc: Exception) -> bool:
    """A write that lost to a concurrent transaction: a unique key another delivery stored first, or
    (SQLite) a snapshot another writer moved on from. Retrying sees the winner's work."""
    if isinstance(exc, IntegrityError):
        return True
    text = str(getattr(exc, "orig", exc))
    return "database is locked" in text or getattr(getattr(exc, "orig", None), "sqlstate", "") in (
        "40001",  # serialization failure
        "40P01",  # deadlock
    )


def answer_once(
    uow: UnitOfWork,
    key: str | None,
    raw: bytes,
    handle: Callable[[], dict[str, Any]],
    last: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The first answer given under the Idempotency-Key `key` (replayed: true), or `handle()`'s answer,
    remembered under the key and committed with the work (replayed: false). When a concurrent delivery
    of the key commits first, this one's unique-key violation rolls its work back and it answers as the
    replay it is. Without a key, the work is simply done and committed.

    `last` runs after the receipt is written, right before the commit: the work's audit entry, whose
    lock (held until the commit) then waits on nothing but the commit."""
    body_sha256 = digest(raw)
    for attempt in range(1, ATTEMPTS + 1):
        if key is not None and (seen := replayed(uow, key, body_sha256)) is not None:
            return seen
        try:
            # As JSON values now, so a replay (the stored JSON) reads exactly like the first answer.
            out = to_jsonable_python(handle())
            if key is not None:
                remember(uow, key, body_sha256, out)
            if last is not None:
                last()
            uow.commit()
            return {**out, "replayed": False}
        except (IntegrityError, OperationalError) as exc:
            uow.rollback()
            if attempt == ATTEMPTS or not _lost_race(exc):
                raise
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
