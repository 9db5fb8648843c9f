"""Channels: every way a message leaves arrears, behind one interface (the port, with its value types,
is `arrears.services.channels`; re-exported here for the adapters and their callers).

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

from arrears.services.channels import (
    BatchOutcome,
    Channel,
    ChannelDown,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    after_fork,
    batch_size,
)


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
