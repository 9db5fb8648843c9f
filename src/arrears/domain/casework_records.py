"""What the store hands out for case work: promises, plans and schedule versions, cases and their notes,
disputes and their evidence, agencies and placements, API keys, webhook receipts. Plain values.

A record's fields are the stored columns in their order, so `dataclasses.asdict(record)` is the record as
the API and the CLI show it (amounts in minor units; callers format them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arrears.domain.cases import Skills
from arrears.domain.loans import Instalment
from arrears.domain.plans import PlanTerms
from arrears.domain.promises import Promise


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    id: int
    loan_id: str
    made_on: date
    due_on: date
    amount: int
    status: str  # pending | kept | broken | cancelled
    paid: int
    resolved_on: date | None
    created_by: str
    created_at: datetime

    @property
    def promise(self) -> Promise:
        return Promise(self.made_on, self.due_on, self.amount)


@dataclass(frozen=True, slots=True)
class PlanRecord:
    id: int
    loan_id: str
    kind: str
    status: str  # awaiting_approval | active | completed | broken
    terms: dict[str, Any]  # terms_document(PlanTerms)
    concession: int
    start_on: date
    ends_on: date | None
    plan_seqs: list[int] | None  # the instalments the plan wrote
    requested_by: str
    approved_by: str | None
    pause_id: int | None
    from_version: int | None
    to_version: int | None
    broken_on: date | None
    created_at: datetime
    updated_at: datetime


def terms_document(terms: PlanTerms) -> dict[str, Any]:
    """A plan's terms as JSON values (how the store keeps them and the API shows them)."""
    return {
        "kind": terms.kind,
        "start_on": terms.start_on.isoformat(),
        "days": terms.days,
        "count": terms.count,
        "first_due": terms.first_due.isoformat() if terms.first_due else None,
        "discount_pct": str(terms.discount_pct),
        "waive_amount": terms.waive_amount,
    }


def terms_from_document(document: dict[str, Any]) -> PlanTerms:
    return PlanTerms(
        document["kind"],
        date.fromisoformat(document["start_on"]),
        document["days"],
        document["count"],
        date.fromisoformat(document["first_due"]) if document["first_due"] else None,
        Decimal(document["discount_pct"]),
        document["waive_amount"],
    )


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    """One schedule a loan has had; version 1 is the original (in force from the start)."""

    id: int
    loan_id: str
    version: int
    effective_from: date | None  # None: from the start
    instalments: list[dict[str, Any]]  # instalments_document(the schedule)
    reason: str
    plan_id: int | None
    created_at: datetime


def instalments_document(instalments: Iterable[Instalment]) -> list[dict[str, Any]]:
    """A schedule as JSON values (how the store keeps a version and the API shows it)."""
    return [
        {
            "seq": i.seq,
            "due": i.due.isoformat(),
            "principal": i.principal,
            "interest": i.interest,
            "fees": i.fees,
        }
        for i in instalments
    ]


def instalments_from_document(document: list[dict[str, Any]]) -> tuple[Instalment, ...]:
    return tuple(
        Instalment(r["seq"], date.fromisoformat(r["due"]), r["principal"], r["interest"], r["fees"])
        for r in document
    )


@dataclass(frozen=True, slots=True)
class CaseStanding:
    """Where a borrower's case stands after the ledger moved: its worst loan and what may be recovered."""

    bucket: str
    dpd: int
    balance: int
    expected_recovery: int


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    borrower_id: str
    status: str  # open | closed
    assigned_to: str | None
    language: str | None
    bucket: str
    dpd: int
    balance: int
    expected_recovery: int
    next_action_on: date | None
    last_outcome: str | None
    opened_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CaseNote:
    id: int
    case_id: int
    at: datetime
    author: str
    channel: str | None
    outcome: str | None
    note: str
    next_action_on: date | None


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """A dispute (questions the debt) or a complaint (about how we collected)."""

    id: int
    kind: str
    category: str
    loan_id: str
    borrower_id: str
    channel: str | None
    agent: str | None
    agency_id: str | None
    status: str  # open | acknowledged | resolved | rejected
    description: str
    opened_on: date
    ack_by: date
    resolve_by: date
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolved_on: date | None  # the business date the SLA is measured on
    resolution: str | None
    pause_id: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintSource:
    """Whom a complaint is about: the channel, the agent, the agency (each may be unknown)."""

    channel: str | None
    agent: str | None
    agency_id: str | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A file attached to a dispute, as shown (where it is stored is the store's business)."""

    id: int
    filename: str
    sha256: str
    size: int
    uploaded_by: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    commission_rate: str  # decimal string, e.g. "0.18"
    capacity: int | None = None  # loans it may hold at once; None = no limit
    buckets: str = ""  # the buckets it takes, "M2,M3"; "" = any
    placement_days: int = 90  # from placement to the recall date


@dataclass(frozen=True, slots=True)
class Placement:
    id: int
    loan_id: str
    agency_id: str
    placed_on: date
    recall_on: date
    commission_rate: str
    status: str  # active | recalled
    borrower_id: str | None = None
    placed_balance: int = 0  # outstanding when placed, minor units
    recalled_on: date | None = None  # the day it ended (None while active)
    cause: str = "manual"  # manual | policy | replacement


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A staff or system key as stored: the SHA-256 of the key, never the key."""

    id: str
    name: str
    role: str
    agency_id: str | None
    key_hash: str
    skills: Skills


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """A webhook seen once under its Idempotency-Key: the body's hash and the answer given."""

    idempotency_key: str
    body_sha256: str
    response: dict[str, Any]
