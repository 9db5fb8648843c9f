"""What the collections activity left on record, as reports read it (KPIs, the compliance report): the
outbox's decisions, contact attempts, sends and legal-review approvals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from arrears.domain.compliance.model import Approval, ContactEvent


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One recorded contact attempt (contact_attempts), with the outbox row it came from, if any."""

    loan_id: str
    borrower_id: str
    channel: str
    at: datetime
    outcome: str
    target: str
    message_type: str  # "" when unknown
    outbox_id: int | None

    def event(self) -> ContactEvent:
        """The attempt as the compliance rules read a debtor's history."""
        return ContactEvent(
            self.channel,
            self.at,
            self.outcome,
            self.target,
            "debtor",
            self.message_type or None,
            self.loan_id,
        )


@dataclass(frozen=True, slots=True)
class ContactCount:
    """How many contact attempts of a period went through one channel with one outcome."""

    channel: str
    outcome: str
    count: int


@dataclass(frozen=True, slots=True)
class Send:
    """An outbox row handed to its channel (a delivery)."""

    loan_id: str
    borrower_id: str
    channel: str
    tone: str


@dataclass(frozen=True, slots=True)
class DecisionCount:
    """How many outbox rows of a period ended in one status on one channel, decided by the same rules."""

    status: str
    channel: str
    rules: str  # rule ids, comma-separated ("" when none)
    count: int


@dataclass(frozen=True, slots=True)
class PlannedSegment:
    """The segment and experiment arm an outbox row was planned under."""

    loan_id: str
    segment: str
    experiment: str
    arm: str


@dataclass(frozen=True, slots=True)
class RecordedApproval:
    """A legal document's approval as recorded for its outbox row, with the law firm it was sent under."""

    outbox_id: int
    approval: Approval
    law_firm: str  # "" when the lender's engaged firm applies
