"""Dispatch's tables (migration 0003_dispatch): what was sent, what came back, who opted out, approvals and
the agents' call queue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime


class ContactAttemptRow(Base):
    """Every contact made (or tried) with a borrower: the history the compliance caps count."""

    __tablename__ = "contact_attempts"
    __table_args__ = (
        Index("ix_contact_attempts_borrower", "borrower_id", "at"),
        Index("ix_contact_attempts_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text, default="")  # masked address (phone, email)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(24))
    message_type: Mapped[str] = mapped_column(String(64), default="")
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    provider_id: Mapped[str | None] = mapped_column(String(128))


class DeliveryRow(Base):
    """The provider's answer for one outbox row, then its delivery receipts."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_provider_id", "provider_id"),)

    outbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(24))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)


class BorrowerFlagRow(Base):
    """One compliance fact about a borrower (domain/compliance/facts.py), set and cleared with provenance.

    Opt-outs live here too (name `opt_out`, from a reply of 退订 / TD / STOP or an operator)."""

    __tablename__ = "borrower_flags"
    __table_args__ = (Index("ix_borrower_flags_borrower", "borrower_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32), default="")
    debt: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[str] = mapped_column(Text, default="")  # PII for work numbers: masked in every view
    until: Mapped[date | None] = mapped_column(Date)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
    set_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_by: Mapped[str | None] = mapped_column(Text)
    clear_reason: Mapped[str | None] = mapped_column(Text)


class OutboxApprovalRow(Base):
    """A required approval (legal review) given for one outbox row."""

    __tablename__ = "outbox_approvals"

    outbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approved_by: Mapped[str] = mapped_column(Text)
    ref: Mapped[str] = mapped_column(Text)
    law_firm: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentTaskRow(Base):
    """A call for a human agent to make (the agent_call channel, or a robocall answered with "press 1")."""

    __tablename__ = "agent_tasks"
    __table_args__ = (Index("ix_agent_tasks_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    loan_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    script: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
