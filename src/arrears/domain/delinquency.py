"""Delinquency history: each change of an account's class (bucket, pause, charge-off, cure) with its day and
cause, and the outbound events the lender's other systems receive for them (issue 19 part 2).

The daily run compares an account's state at the end of day D with its last recorded state before D; the
changes are recorded once (keyed by loan, day and kind), so re-running D records nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# What changed: the bucket (a roll forward or back), a cure (back to the first bucket), a pause starting
# or ending, a charge-off, and its end (reversed when paid in full, or settled).
CHANGE_KINDS = (
    "bucket",
    "cure",
    "pause",
    "resume",
    "charge_off",
    "charge_off_reversed",
    "charge_off_settled",
)
EVENT_DELINQUENCY_CHANGED = "account.delinquency_changed"
EVENT_CHARGED_OFF = "account.charged_off"
EVENT_CURED = "account.cured"
EVENT_KINDS = (EVENT_DELINQUENCY_CHANGED, EVENT_CHARGED_OFF, EVENT_CURED)


@dataclass(frozen=True, slots=True)
class DelinquencyState:
    """An account's class at the end of a day."""

    bucket: str
    dpd: int = 0
    paused: bool = False
    charged_off: bool = False


@dataclass(frozen=True, slots=True)
class DelinquencyChange:
    loan_id: str
    on: date
    kind: str  # one of CHANGE_KINDS
    from_bucket: str | None
    to_bucket: str
    dpd: int
    cause: str

    def event_kinds(self) -> tuple[str, ...]:
        """The outbound events this change raises."""
        if self.kind == "charge_off":
            return (EVENT_DELINQUENCY_CHANGED, EVENT_CHARGED_OFF)
        if self.kind == "cure":
            return (EVENT_DELINQUENCY_CHANGED, EVENT_CURED)
        return (EVENT_DELINQUENCY_CHANGED,)

    def payload(self, borrower_id: str) -> dict[str, Any]:
        """The event's body: no personal data, only the account's ids and its class."""
        return {
            "loan_id": self.loan_id,
            "borrower_id": borrower_id,
            "on": self.on.isoformat(),
            "change": self.kind,
            "from_bucket": self.from_bucket,
            "to_bucket": self.to_bucket,
            "dpd": self.dpd,
            "cause": self.cause,
        }


def changes(
    loan_id: str, on: date, before: DelinquencyState | None, now: DelinquencyState
) -> list[DelinquencyChange]:
    """What changed between the last recorded state (None: none recorded, the account was current) and
    the state at the end of `on`, each with its cause. A cure is the return to nothing overdue (DPD 0)."""
    was = before or DelinquencyState("", 0)
    from_bucket = before.bucket if before is not None else None
    out: list[DelinquencyChange] = []

    def add(kind: str, cause: str) -> None:
        out.append(DelinquencyChange(loan_id, on, kind, from_bucket, now.bucket, now.dpd, cause))

    if now.paused and not was.paused:
        add("pause", "collection paused (dispute, identity theft or hardship plan)")
    if was.paused and not now.paused:
        add("resume", "pause ended")
    if before is None:
        if now.dpd > 0:
            add("bucket", f"first recorded at {now.dpd} days past due")
    elif now.bucket != before.bucket:
        if now.dpd == 0:
            add("cure", "nothing overdue any more")
        elif now.dpd > before.dpd:
            add("bucket", f"rolled forward at {now.dpd} days past due")
        else:
            add("bucket", f"back to {now.dpd} days past due (payment or new schedule)")
    if now.charged_off and not was.charged_off:
        add("charge_off", f"charged off at {now.dpd} days past due")
    return out


__all__ = [
    "CHANGE_KINDS",
    "EVENT_CHARGED_OFF",
    "EVENT_CURED",
    "EVENT_DELINQUENCY_CHANGED",
    "EVENT_KINDS",
    "DelinquencyChange",
    "DelinquencyState",
    "changes",
]
