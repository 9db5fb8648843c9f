"""What a daily run leaves in the store: the actions it planned (the outbox rows it writes) and its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


def idempotency_key(loan_id: str, as_of: date, step_id: str, channel: str) -> str:
    """The outbox row's key: one action per loan, day, step and channel, so writing a day twice adds nothing."""
    return f"{loan_id}:{as_of.isoformat()}:{step_id}:{channel}"


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """One action the run planned for an account on `as_of`, with what the compliance filter made of it.

    `idempotency_key` (loan, day, step, channel) makes writing the same day twice change nothing."""

    idempotency_key: str
    run_id: str
    loan_id: str
    borrower_id: str
    as_of: date
    anchor: date | None  # the oldest unpaid due date the ladder counts from
    kind: str
    step_id: str
    channel: str
    template: str
    tone: str
    requires: str  # an approval the step waits for ("" when none)
    segment: str
    experiment: str
    arm: str
    status: str  # pending | awaiting_approval | deferred | blocked
    rules: str  # the rule ids that decided, comma-separated
    next_allowed_at: datetime | None
    valid_days: int
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one day under one policy version: what it looked at, planned and wrote."""

    id: str
    as_of: date
    policy_id: str
    policy_hash: str
    engine: str
    started_at: datetime
    seconds: float
    accounts: int
    planned: int
    written: int
    counts: dict[str, Any] = field(default_factory=dict)
