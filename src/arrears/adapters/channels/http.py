"""HTTP providers: an SMS gateway, app push / in-app webhooks, and an IVR (robocall) webhook.

Each POSTs JSON with the idempotency key in the `Idempotency-Key` header (and in the body, for gateways
that only read the body). 2xx: sent; 408, 429 and 5xx or no answer: ChannelDown; other 4xx: PermanentFailure.
"""

from __future__ import annotations

from typing import Any

import httpx

from arrears.adapters.channels import ChannelDown, OutgoingMessage, PermanentFailure, SendResult

RETRYABLE = frozenset({408, 425, 429})


class HttpPost:
    """One JSON POST endpoint with a pooled client (shared by the dispatcher's threads)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.client = client or httpx.Client(
            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )

    def post(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            response = self.client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelDown(f"{self.url}: {type(exc).__name__}: {exc}") from None
        code = response.status_code
        if code >= 500 or code in RETRYABLE:
            raise ChannelDown(f"{self.url}: HTTP {code}")
        if code >= 400:
            raise PermanentFailure(f"{self.url}: HTTP {code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def close(self) -> None:
        self.client.close()


def _provider_id(body: dict[str, Any], idempotency_key: str) -> str:
    return str(body.get("id") or body.get("message_id") or body.get("provider_id") or idempotency_key)


class HttpSmsChannel(HttpPost):
    """An SMS gateway's REST API: {"to", "text", "sender", "idempotency_key"}."""

    name = "sms-http"

    def __init__(self, url: str, *, sender: str = "", **kw: Any) -> None:
        super().__init__(url, **kw)
        self.sender = sender

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if not message.to:
            raise PermanentFailure(f"no phone number for {message.borrower_id or 'the borrower'}")
        body = self.post(
            {
                "to": message.to,
                "text": message.body,
                "sender": self.sender,
                "idempotency_key": idempotency_key,
            },
            idempotency_key,
        )
        return SendResult(_provider_id(body, idempotency_key), str(body.get("status") or "accepted"))


class WebhookChannel(HttpPost):
    """App push or in-app pop-up: {"user", "kind", "title", "text", "loan_id", "idempotency_key"}."""

    name = "webhook"

    def __init__(self, url: str, *, kind: str = "push", **kw: Any) -> None:
        super().__init__(url, **kw)
        self.kind = kind
        self.name = f"{kind}-webhook"

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        body = self.post(
            {
                "user": message.borrower_id,
                "kind": self.kind,
                "title": message.subject or "",
                "text": message.body,
                "loan_id": message.loan_id,
                "idempotency_key": idempotency_key,
            },
            idempotency_key,
        )
        return SendResult(_provider_id(body, idempotency_key), str(body.get("status") or "accepted"))


class IvrChannel(HttpPost):
    """A robocall: the IVR reads `script` to `to`, then calls back `callback_url` with the outcome
    (answered / voicemail / no_answer / pressed_1); a provider may also answer at once with a status."""

    name = "ivr"

    def __init__(self, url: str, *, callback_url: str = "", **kw: Any) -> None:
        super().__init__(url, **kw)
        self.callback_url = callback_url

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if not message.to:
            raise PermanentFailure(f"no phone number for {message.borrower_id or 'the borrower'}")
        body = self.post(
            {
                "to": message.to,
                "script": message.body,
                "language": message.language,
                "callback_url": self.callback_url,
                "idempotency_key": idempotency_key,
            },
            idempotency_key,
        )
        return SendResult(_provider_id(body, idempotency_key), str(body.get("status") or "queued"))
