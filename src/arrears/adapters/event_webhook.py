"""The lender's webhook for outbound events (`events.url`, `events.secret` in channels.yaml, or
ARREARS_EVENTS_URL / ARREARS_EVENTS_SECRET): one signed JSON POST per event (domain/outbound_events.py).

2xx: delivered. No answer, 408, 429 or 5xx: tried again later. Another 4xx: tried again too (a receiver
that refuses a signature may be mid-rotation of its secret), until the attempts run out.
"""

from __future__ import annotations

import http.client
from datetime import datetime
from urllib.parse import urlsplit

from arrears.domain.errors import InputError
from arrears.domain.outbound_events import (
    EVENT_ID_HEADER,
    EVENT_KIND_HEADER,
    SIGNATURE_HEADER,
    OutboundEvent,
    signature,
)
from arrears.services.events import DeliveryFailed

MIN_SECRET_LENGTH = 16
LOOPBACK = ("127.0.0.1", "::1", "localhost")
DEV_SECRET = "development-events-secret"  # only with --dev, only to a receiver on this machine


class WebhookEventSender:
    """POSTs events to one URL, signed with the shared secret."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"events.url is not an http(s) URL: {url!r}", field="events.url")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def __call__(self, event: OutboundEvent, now: datetime) -> None:
        body = event.body()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret, body, now),
            EVENT_ID_HEADER: event.key,
            EVENT_KIND_HEADER: event.kind,
        }
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self.timeout)
        try:
            connection.request("POST", self._target, body, headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryFailed(f"{self.url}: {type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            raise DeliveryFailed(f"{self.url}: HTTP {response.status}")


def sender_from_config(section: dict[str, object], *, dev: bool = False) -> WebhookEventSender:
    """The sender the `events` settings describe; bad input (exit 2) when the URL or a real secret is
    missing. `dev` allows a development secret, for a receiver on this machine only."""
    url = str(section.get("url") or "")
    if not url:
        raise InputError(
            "no events.url configured (channels.yaml events.url or ARREARS_EVENTS_URL)", field="events.url"
        )
    secret = str(section.get("secret") or "")
    if not secret and dev:
        if urlsplit(url).hostname not in LOOPBACK:
            raise InputError(f"--dev sends events to this machine only, not {url!r}", field="events.url")
        secret = DEV_SECRET
    if len(secret) < MIN_SECRET_LENGTH:
        raise InputError(
            f"events.secret must be set (ARREARS_EVENTS_SECRET, at least {MIN_SECRET_LENGTH} characters): "
            "the receiver checks each event's HMAC signature with it",
            field="events.secret",
        )
    return WebhookEventSender(url, secret)
