"""The channel port: what the dispatcher speaks to every way a message leaves arrears.

    result = channel.send(message, idempotency_key)   # -> SendResult(provider_id, status)

A channel raises ChannelDown when the provider cannot be reached or answers "try later" (dispatch retries
with backoff) and PermanentFailure when the message can never be delivered as it is (dispatch dead-letters
it at once). Every provider receives the idempotency key, so a retry after a crash is not a second send.

A channel whose provider takes many messages in one request (an SMS gateway's batch-send API) also has
`batch_size` > 1 and `send_batch(items)`, which answers each (message, key) with its own SendResult or
ChannelError, in order; dispatch then sends a batch's messages for that channel together.

Optional hooks a channel may implement (the dispatcher calls them when present):
- `bind(uow)`: the channel as it works inside the batch's unit of work (the agent-task queue writes its
  task in the transaction that records the attempt);
- `after_fork(share)`: in a forked worker process, own connections and `share` of a rate limit;
- `close()`: release what holds a connection.
A wrapper (a rate limit) names the channel it wraps `inner`.

The concrete channels (SMTP, SMPP, HTTP, letters, agent tasks) are in `arrears.adapters.channels`, which
re-exports these names.
"""

from __future__ import annotations

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


def bind(channel: Channel, uow: object) -> Channel:
    """The channel as it works inside the batch's unit of work: its `bind(uow)` when it has one (the
    agent-task queue), else the channel itself."""
    hook = getattr(channel, "bind", None)
    return hook(uow) if callable(hook) else channel


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


def close_channels(channels: dict[str, Channel]) -> None:
    """Close what holds a connection (SMPP sessions, HTTP pools); each channel object once."""
    seen: set[int] = set()
    for channel in channels.values():
        inner = getattr(channel, "inner", channel)
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        close = getattr(inner, "close", None)
        if callable(close):
            close()


__all__ = [
    "BatchOutcome",
    "Channel",
    "ChannelDown",
    "ChannelError",
    "OutgoingMessage",
    "PermanentFailure",
    "SendResult",
    "after_fork",
    "batch_size",
    "bind",
    "close_channels",
]
