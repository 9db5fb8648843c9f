"""Tables of the late end of the ladder (migration 0014_field): litigation cases and their events, field
visits, the letters handed to the print vendor."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import BigId, MinorUnits, UtcDateTime


class LitigationCaseRow(Base):
    __tablename__ = "litigation_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    stage_on: Mapped[date] = mapped_column(Date)
    court: Mapped[str] = mapped_column(Text, default="")
    case_number: Mapped[str] = mapped_column(String(64), default="")
    claim: Mapped[int] = mapped_column(MinorUnits)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LitigationEventRow(Base):
    __tablename__ = "litigation_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("litigation_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # stage | document | cost
    stage: Mapped[str] = mapped_column(String(16))
    on_day: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    cost: Mapped[int] = mapped_column(MinorUnits, default=0)
    fee_booked: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class FieldVisitRow(Base):
    __tablename__ = "field_visits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    window_end: Mapped[datetime] = mapped_column(UtcDateTime)
    two_person: Mapped[bool] = mapped_column(Boolean)
    recording: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))  # open | done | blocked | cancelled
    agent: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    rules: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[int] = mapped_column(MinorUnits, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PrintedLetterRow(Base):
    __tablename__ = "printed_letters"

    letter_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the outbox idempotency key
    loan_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    template: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str] = mapped_column(String(64), index=True)
    file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    delivered_to: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str | None] = mapped_column(Text)
