"""Outbound events for the lender's other systems: what is sent, how it is signed, when it is tried again.

An event is written to the store in the transaction of the change it reports (the outbox pattern) and
delivered afterwards, at least once: a receiver sees a repeat as the same `X-Arrears-Event-Id`. The body is
JSON; `X-Arrears-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the shared secret>`
(the Stripe scheme), so a receiver can check the sender and refuse an old replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "X-Arrears-Signature"
EVENT_ID_HEADER = "X-Arrears-Event-Id"
EVENT_KIND_HEADER = "X-Arrears-Event"
MAX_ATTEMPTS = 8  # then the event is dead (listed by `arrears events list --status dead`)
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    kind: str
    loan_id: str
    on: date
    payload: dict[str, Any]
    id: int | None = None
    status: str = "pending"  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    key: str = field(default="")

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.kind}:{self.loan_id}:{self.on.isoformat()}")

    def body(self) -> bytes:
        """The JSON sent: the event's key as its id, its kind, day and payload (sorted keys: stable bytes)."""
        document = {"id": self.key, "type": self.kind, "on": self.on.isoformat(), "data": self.payload}
        return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, body: bytes, at: datetime) -> str:
    """The signature header's value for `body` sent at `at`."""
    t = int(at.timestamp())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, now: datetime, tolerance: timedelta = timedelta(minutes=5)
) -> bool:
    """What a receiver checks: the MAC over the body and the time, and that the time is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(now.timestamp() - t) <= tolerance.total_seconds()
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed tries (exponential backoff), or None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay: timedelta = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return now + delay


__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_KIND_HEADER",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "OutboundEvent",
    "next_attempt",
    "signature",
    "verify",
]
