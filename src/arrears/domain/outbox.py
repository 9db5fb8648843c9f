"""The outbox: the daily run's approved actions waiting to go out, and the words and rules dispatch uses.

A row moves `pending` (or `awaiting_approval` until a legal review approves it) → claimed by a dispatch
worker → `sending` (in flight: marked, and committed, before the send; it may have reached the provider)
→ `sent`, or `cancelled` (moot: paid, disputed, paused), `blocked` / `deferred` (the send-time
compliance check), `expired` (not sent while it was valid), `failed` (retried later) or `dead`.
Every rule here is stated once; the dispatcher, the receipts and the outbox views read it from here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from arrears.domain.compliance.channels import VOICE
from arrears.domain.ledger import LedgerPosition
from arrears.domain.loans import Pause

# pending: ready to dispatch · awaiting_approval: a required approval (legal review) is missing ·
# deferred: compliance said not now (next_allowed_at) · blocked: compliance said no (kept for the record) ·
# cancelled: a payment / dispute made it moot · sent / failed / dead: what dispatch made of it ·
# expired: not sent by expires_at (the step's valid_for).
OUTBOX_STATUSES = (
    "pending",
    "sending",
    "awaiting_approval",
    "deferred",
    "blocked",
    "cancelled",
    "sent",
    "failed",
    "dead",
    "expired",
)
READY = "pending"
# Marked before the send, committed; a row left so by a worker that died is sent again with the same key.
IN_FLIGHT = "sending"
# The outcome of a contact attempt recorded before its send: it may have reached the person, so the caps
# count it (arrears.domain.compliance.rules counts "unknown" outcomes for every cap) until the provider
# answers.
IN_FLIGHT_OUTCOME = "unknown"
# Claimable again once next_allowed_at has passed.
CLAIMABLE_AGAIN = ("deferred", "failed")
# What one dispatch can make of a claimed row.
DISPATCH_OUTCOMES = ("sent", "cancelled", "deferred", "blocked", "failed", "dead", "expired")

# Messages about money already overdue: moot once nothing is overdue.
OVERDUE_TYPES = frozenset(
    {
        "reminder",
        "strong",
        "legal_warning",
        "lawyer_letter",
        "bureau_notice",
        "call_script",
        "visit_sheet",
        "placement",
        "validation_notice",
    }
)
# Messages about an instalment coming due: moot once that instalment is paid.
DUE_TYPES = frozenset({"pre_due", "due_today"})
# Messages that still go out while a dispute or pause holds collection.
HOLD_EXEMPT_TYPES = frozenset({"dispute_ack", "payment_confirmation", "plan_offer", "promise_confirmation"})

# Account events that put collection on hold (the store's event kinds), and the one that lifts a dispute
# (an ordinary one: a dispute_closed does not lift an identity dispute).
DISPUTE_OPENED, IDENTITY_DISPUTE, DISPUTE_CLOSED = "dispute_opened", "identity_dispute", "dispute_closed"
DISPUTE_EVENTS = frozenset({DISPUTE_OPENED, IDENTITY_DISPUTE, DISPUTE_CLOSED})

# What a provider's status (its answer to the send, or a later receipt) means for the contact history,
# whose outcomes the compliance caps count (arrears.domain.compliance.channels.OUTCOMES).
OUTCOME_FOR_STATUS: dict[str, str] = {
    "accepted": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "bounced",
    "bounced": "bounced",
    "rejected": "bounced",
    "answered": "connected",
    "connected": "connected",
    "pressed_1": "conversation",
    "voicemail": "voicemail",
    "no_answer": "no_answer",
    "busy": "busy",
}
# The statuses that tell what became of the contact; the others, in the answer to a send, only say that the
# provider took the message.
RESULT_STATUSES = frozenset(
    {"delivered", "read", "answered", "connected", "pressed_1", "voicemail", "no_answer", "busy"}
)


def message_type(template: str) -> str:
    """ "sms/reminder" -> "reminder"."""
    return template.split("/", 1)[-1]


def batch_request_key(message_keys: Iterable[str]) -> str:
    """The idempotency key of a batch request: derived from its messages' keys alone (in any order), so
    a retry of the same messages is the same request whatever order or worker sends it."""
    joined = "\n".join(sorted(message_keys))
    return "batch:" + hashlib.sha256(joined.encode()).hexdigest()[:32]


def outcome_at_send(status: str, channel: str) -> str:
    """The contact's outcome from the provider's answer to the send: the result when the answer tells it,
    else "sent" — or "unknown" for a call (placed, not yet answered: the caps count it all the same)."""
    if status in RESULT_STATUSES:
        return OUTCOME_FOR_STATUS[status]
    return "unknown" if channel in VOICE else "sent"


def open_dispute(events: Iterable[tuple[str, date]], since: date, day: date) -> tuple[str, date] | None:
    """The dispute (event kind, day) holding collection on `day`: one opened on or after `since` (the day
    the message is about) and not closed by `day`, or None."""
    opened: tuple[str, date] | None = None
    for kind, on in sorted(events, key=lambda e: e[1]):
        if on > day:
            break
        if kind == DISPUTE_CLOSED:
            if opened is not None and opened[0] != IDENTITY_DISPUTE:
                opened = None
        elif on >= since:
            opened = (kind, on)
    return opened


def why_moot(
    template: str,
    anchor: date | None,
    *,
    day: date,
    events: Iterable[tuple[str, date]],
    pauses: Iterable[Pause],
    position: Callable[[], LedgerPosition],
    stands_when_paid: bool = False,
) -> str | None:
    """Why a planned message no longer applies on `day` (disputed, paused, paid), or None.

    `template` and `anchor` are the outbox row's (anchor: the due date it is about); `events` the loan's
    dispute events (kind, day); `pauses` the loan's; `position()` its ledger on `day`, asked for only when
    no dispute or pause decides (the ledger is the costliest part of the check). `stands_when_paid`: a
    hand-over a bucket jump decided (agency, litigation) is not undone by a payment.
    """
    mtype = message_type(template)
    if mtype not in HOLD_EXEMPT_TYPES:
        disputed = open_dispute(events, anchor or date.min, day)
        if disputed is not None:
            return f"{disputed[0]} recorded on {disputed[1].isoformat()}"
        for pause in pauses:
            if pause.covers(day):
                return f"{pause.reason} pause since {pause.start.isoformat()}"
    if stands_when_paid:
        return None
    if mtype in OVERDUE_TYPES and position().overdue.total == 0:
        return "nothing overdue any more (paid)"
    if mtype in DUE_TYPES:
        due = [i for i in position().instalments if anchor is None or i.due == anchor]
        if due and all(i.status in ("paid", "paid_late") for i in due):
            return "the instalment is paid"
    return None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox row: an approved action of the daily run and what dispatch has made of it so far."""

    id: int
    idempotency_key: str
    run_id: str
    loan_id: str
    borrower_id: str
    as_of: date  # the run's day
    anchor: date | None  # the due date the ladder step counts from
    kind: str  # step | jump
    step_id: str
    channel: str
    template: str
    tone: str
    requires: str  # comma-separated approvals still needed (legal_review)
    segment: str
    experiment: str
    arm: str
    status: str
    rules: str  # comma-separated compliance rule ids that decided
    next_allowed_at: datetime | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    last_error: str | None
    valid_days: int | None  # the step's valid_for; legal steps count it from their approval
    expires_at: datetime | None  # not sent by then: expired

    @property
    def message_type(self) -> str:
        return message_type(self.template)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What dispatch made of a claimed row."""

    outbox_id: int
    status: str
    at: datetime
    attempts: int
    rules: str
    next_allowed_at: datetime | None = None
    last_error: str | None = None
    request_key: str | None = None  # in flight in a batch request: that request's key


@dataclass(frozen=True, slots=True)
class ContactMade:
    """A contact attempt dispatch made for an outbox row (what the compliance caps count later)."""

    loan_id: str
    borrower_id: str
    channel: str  # as the rules name it
    target: str
    at: datetime
    outcome: str
    message_type: str
    outbox_id: int
    provider_id: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """The provider's answer for one outbox row; its receipts update status and detail later."""

    outbox_id: int
    idempotency_key: str
    channel: str
    provider: str
    provider_id: str
    status: str
    sent_at: datetime
    updated_at: datetime
    detail: dict[str, Any] | None = None  # what was sent (template, language, masked address), receipts
