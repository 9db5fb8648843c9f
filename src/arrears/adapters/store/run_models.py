"""The daily run's tables: one record per run, and the outbox of planned actions (steps 5–7 of DESIGN.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime
from arrears.domain.outbox import OUTBOX_STATUSES  # noqa: F401 - the statuses, kept importable here


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    policy_id: Mapped[str] = mapped_column(Text)
    policy_hash: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    accounts: Mapped[int] = mapped_column(Integer)
    planned: Mapped[int] = mapped_column(Integer)
    written: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status", "status", "next_allowed_at"),
        Index("ix_outbox_loan", "loan_id", "anchor"),
        Index(
            "ix_outbox_claimed_by",
            "claimed_by",
            postgresql_where=text("claimed_by IS NOT NULL"),
            sqlite_where=text("claimed_by IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    run_id: Mapped[str] = mapped_column(String(40))
    loan_id: Mapped[str] = mapped_column(String(64), ForeignKey("loans.id"))
    borrower_id: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    anchor: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    step_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    tone: Mapped[str] = mapped_column(String(16))
    requires: Mapped[str] = mapped_column(Text, default="")
    segment: Mapped[str] = mapped_column(String(64))
    experiment: Mapped[str] = mapped_column(String(64), default="")
    arm: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(24))
    rules: Mapped[str] = mapped_column(Text, default="")
    next_allowed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    valid_days: Mapped[int | None] = mapped_column(
        Integer
    )  # the step's valid_for; legal steps: from approval
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # not sent by then: expired
    # The dispatch worker holding the row, until when, and the batch request it went in (0010).
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    request_key: Mapped[str | None] = mapped_column(String(80))
