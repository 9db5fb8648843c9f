"""Case work tables: API keys, cases and notes, promises, plans and schedule versions, disputes and
complaints with evidence, agencies and placements, payment-webhook receipts (migration 0004_casework)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import BigId, JSONDoc, MinorUnits, UtcDateTime


class ApiKeyRow(Base):
    """A staff or system key: only its SHA-256 is stored; `name` is the actor the audit log shows."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # the key's public prefix
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    skills: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)  # {"languages": [...], "buckets": [...]}
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_queue", "status", "expected_recovery"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    bucket: Mapped[str] = mapped_column(String(16))
    dpd: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int] = mapped_column(MinorUnits)
    expected_recovery: Mapped[int] = mapped_column(MinorUnits)
    next_action_on: Mapped[date | None] = mapped_column(Date)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseNoteRow(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    author: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    next_action_on: Mapped[date | None] = mapped_column(Date)


class PromiseRow(Base):
    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_loan", "loan_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    made_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(MinorUnits)
    status: Mapped[str] = mapped_column(String(16))
    paid: Mapped[int] = mapped_column(MinorUnits, default=0)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_loan", "loan_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    terms: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    concession: Mapped[int] = mapped_column(MinorUnits, default=0)
    start_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    plan_seqs: Mapped[list[int] | None] = mapped_column(JSONDoc)
    requested_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    pause_id: Mapped[int | None] = mapped_column(BigId)
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    broken_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScheduleVersionRow(Base):
    """Every schedule a loan has had; the instalments table holds the newest one."""

    __tablename__ = "schedule_versions"
    __table_args__ = (UniqueConstraint("loan_id", "version", name="ux_schedule_versions"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date | None] = mapped_column(Date)  # None: from the start
    instalments: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    reason: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DisputeRow(Base):
    """A dispute (questions the debt) or a complaint (about how we collected)."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_loan", "loan_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    agent: Mapped[str | None] = mapped_column(String(64))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    opened_on: Mapped[date] = mapped_column(Date)
    ack_by: Mapped[date] = mapped_column(Date)
    resolve_by: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_on: Mapped[date | None] = mapped_column(Date)  # the business date the SLA is measured on
    resolution: Mapped[str | None] = mapped_column(String(16))
    pause_id: Mapped[int | None] = mapped_column(BigId)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EvidenceRow(Base):
    __tablename__ = "dispute_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    filename: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(MinorUnits)
    stored_path: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgencyRow(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    commission_rate: Mapped[str] = mapped_column(String(16))  # decimal string, e.g. "0.18"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)  # loans held at once (0014_field); NULL = no limit
    buckets: Mapped[str] = mapped_column(Text, default="")  # buckets it takes, "M2,M3"; "" = any
    placement_days: Mapped[int] = mapped_column(Integer, default=90)  # placed → recall date


class PlacementRow(Base):
    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_loan", "loan_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    placed_on: Mapped[date] = mapped_column(Date)
    recall_on: Mapped[date] = mapped_column(Date)
    commission_rate: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # active | recalled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    borrower_id: Mapped[str | None] = mapped_column(String(64))  # 0014_field
    placed_balance: Mapped[int] = mapped_column(MinorUnits, default=0)  # outstanding when placed
    recalled_on: Mapped[date | None] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(32), default="manual")  # manual | policy | replacement


class AgencyActivityRow(Base):
    __tablename__ = "agency_activity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # call | visit | letter | sms | payment_reported
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class WebhookReceiptRow(Base):
    """A payment webhook seen once: the same idempotency key gets the same answer."""

    __tablename__ = "webhook_receipts"

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
