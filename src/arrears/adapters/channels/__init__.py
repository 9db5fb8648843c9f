"""Channels: every way a message leaves arrears, behind one interface.

    result = channel.send(message, idempotency_key)   # -> SendResult(provider_id, status)

A channel raises ChannelDown when the provider cannot be reached or answers "try later" (dispatch retries
with backoff) and PermanentFailure when the message can never be delivered as it is (dispatch dead-letters
it at once). Every provider receives the idempotency key, so a retry after a crash is not a second send.

A channel whose provider takes many messages in one request (an SMS gateway's batch-send API) also has
`batch_size` > 1 and `send_batch(items)`, which answers each (message, key) with its own SendResult or
ChannelError, in order; dispatch then sends a batch's messages for that channel together.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from arrears.domain.messages import RenderedMessage


class ChannelError(Exception):
    """A send that did not happen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelDown(ChannelError):
    """The provider is unreachable or overloaded: try again later."""


class PermanentFailure(ChannelError):
    """The provider refused the message for good (bad address, rejected content)."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one person, rendered and addressed."""

    channel: str  # the policy's channel: sms, email, push, robocall, lawyer_letter, agent_call ...
    to: str  # phone number, e-mail address, device / user id, postal name
    body: str
    subject: str | None = None
    language: str = "zh-CN"
    loan_id: str = ""
    borrower_id: str = ""
    rendered: RenderedMessage | None = None  # letters set the full rendered message as PDF
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said: its id for the message, and the status it reported (accepted, queued,
    delivered, answered, voicemail, no_answer, written ...)."""

    provider_id: str
    status: str


class Channel(Protocol):
    """Anything that can send an OutgoingMessage."""

    name: str  # the provider's name, recorded on the delivery

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult: ...


# One message's outcome in a batch send: what the provider said, or why it was not sent.
BatchOutcome = SendResult | ChannelError


def batch_size(channel: object) -> int:
    """How many messages the channel sends in one request (0 or 1: one at a time)."""
    size = getattr(channel, "batch_size", 0)
    return size if isinstance(size, int) else 0


class TokenBucket:
    """A thread-safe token bucket: `rate` sends per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Take a token if one is there (0.0), else the seconds until one will be (nothing taken)."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate

    def acquire(self, timeout: float = 60.0) -> bool:
        """Block until a token is taken (True) or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            wait = self.wait_time()
            if wait == 0.0:
                return True
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)


class RateLimited:
    """A channel behind a token bucket: a send waits for a token; none within the timeout is ChannelDown."""

    def __init__(self, inner: Channel, bucket: TokenBucket, timeout: float = 30.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.bucket = bucket
        self.timeout = timeout

    def after_fork(self, share: float) -> None:
        """In a worker process: this process's `share` of the rate (the workers' buckets add up to it)."""
        self.bucket = TokenBucket(self.bucket.rate * share, max(1, int(self.bucket.capacity * share)))

    @property
    def batch_size(self) -> int:
        return batch_size(self.inner)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if not self.bucket.acquire(self.timeout):
            raise ChannelDown(f"rate limit of {self.bucket.rate:g}/s: no slot within {self.timeout:g}s")
        return self.inner.send(message, idempotency_key)

    def send_batch(self, items: list[tuple[OutgoingMessage, str]]) -> list[BatchOutcome]:
        """A token per message, as for single sends: the messages that got none within the timeout are
        ChannelDown (retried later), the others go out together."""
        deadline = time.monotonic() + self.timeout
        allowed = 0
        for _ in items:
            if not self.bucket.acquire(max(0.0, deadline - time.monotonic())):
                break
            allowed += 1
        refused: list[BatchOutcome] = [
            ChannelDown(f"rate limit of {self.bucket.rate:g}/s: no slot within {self.timeout:g}s")
            for _ in items[allowed:]
        ]
        sent: list[BatchOutcome] = self.inner.send_batch(items[:allowed]) if allowed else []  # type: ignore[attr-defined]
        return sent + refused


def after_fork(channels: dict[str, Channel], share: float) -> None:
    """In a forked worker process: give every channel its own connections (an SMPP session, an HTTP
    pool: sockets inherited from the parent must not be shared) and `share` of each rate limit."""
    seen: set[int] = set()
    for channel in channels.values():
        for part in (channel, getattr(channel, "inner", None)):
            if part is None or id(part) in seen:
                continue
            seen.add(id(part))
            hook = getattr(part, "after_fork", None)
            if callable(hook):
                hook(share)


__all__ = [
    "BatchOutcome",
    "Channel",
    "ChannelDown",
    "ChannelError",
    "OutgoingMessage",
    "PermanentFailure",
    "RateLimited",
    "SendResult",
    "TokenBucket",
    "after_fork",
    "batch_size",
]
