"""The store's tables as typed SQLAlchemy 2 models. Schema changes go through a migration (migrations/).

Conventions: every table's key is `id` (external ids are kept as given: loan, borrower, payment and event
ids are text); amounts are BIGINT minor units; dates are DATE; instants are UTC (UtcDateTime). Two tables
are append-only (database triggers refuse UPDATE and DELETE): ledger_postings and audit_log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from arrears.adapters.store.types import BigId, JSONDoc, MinorUnits, UtcDateTime

POSTING_KINDS = ("schedule", "payment", "reversal", "waiver")
POSTING_COMPONENTS = ("principal", "interest", "fees", "late_fee", "payment")


class Base(DeclarativeBase):
    """Declarative base of every table in the store."""


class ProductRow(Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # parse_ledger_settings reads it back


class ImportRow(Base):
    """One run of `arrears import`: which file, who, and what came of it."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    rows_read: Mapped[int] = mapped_column(MinorUnits, default=0)
    written: Mapped[int] = mapped_column(MinorUnits, default=0)
    duplicates: Mapped[int] = mapped_column(MinorUnits, default=0)
    rejected: Mapped[int] = mapped_column(MinorUnits, default=0)


class BorrowerRow(Base):
    __tablename__ = "borrowers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Personal data: ciphertexts under the borrower's data key (adapters/crypto.py; migration 0009).
    name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)  # postal address
    key_id: Mapped[str | None] = mapped_column(String(16))  # the KEK that wrapped data_key
    data_key: Mapped[str | None] = mapped_column(Text)  # wrapped; NULL: erased, or plain text from before
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC-SHA256 look-ups
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; NULL = unknown
    region: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    persona: Mapped[str | None] = mapped_column(String(16))  # synthetic ground truth; NULL for real data
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    import_id: Mapped[int | None] = mapped_column(BigInteger)  # provenance: imports.id


class LoanRow(Base):
    __tablename__ = "loans"
    __table_args__ = (Index("ix_loans_borrower_id", "borrower_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"))
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    currency: Mapped[str] = mapped_column(String(3))
    opened_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    import_id: Mapped[int | None] = mapped_column(BigInteger)  # provenance: imports.id


class InstalmentRow(Base):
    __tablename__ = "instalments"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="ck_instalments_seq"),
        CheckConstraint("principal >= 0 AND interest >= 0 AND fees >= 0", name="ck_instalments_amounts"),
    )

    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(MinorUnits)
    interest: Mapped[int] = mapped_column(MinorUnits, default=0)
    fees: Mapped[int] = mapped_column(MinorUnits, default=0)


class PaymentRow(Base):
    """Money received. A reversal (bounced payment) is recorded on the payment it undoes."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_loan_id", "loan_id"),
        Index(
            "ux_payments_reversal_id",
            "reversal_id",
            unique=True,
            sqlite_where=text("reversal_id IS NOT NULL"),
            postgresql_where=text("reversal_id IS NOT NULL"),
        ),
        CheckConstraint("amount > 0", name="ck_payments_amount"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the external payment id
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(MinorUnits)
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    import_id: Mapped[int | None] = mapped_column(BigInteger)  # provenance: imports.id


class PauseRow(Base):
    """Days (inclusive) on which delinquency stands still: dispute, identity theft, hardship plan."""

    __tablename__ = "pauses"
    __table_args__ = (Index("ix_pauses_loan_id", "loan_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WaiverRow(Base):
    """Late fee forgiven: who asked (requested_by), who approved (approved_by), why."""

    __tablename__ = "waivers"
    __table_args__ = (
        Index("ix_waivers_loan_id", "loan_id"),
        CheckConstraint("amount > 0", name="ck_waivers_amount"),
        CheckConstraint("requested_by <> approved_by", name="ck_waivers_four_eyes"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    on_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(MinorUnits)
    requested_by: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    instalment_seq: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PostingRow(Base):
    """Append-only ledger postings. Sign: what the borrower owes goes up (+) or down (−)."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        Index("ix_ledger_postings_loan_id", "loan_id"),
        CheckConstraint(
            "kind IN ('schedule', 'payment', 'reversal', 'waiver')", name="ck_ledger_postings_kind"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(String(64))  # no FK: derived from rows that passed theirs
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when it was recorded
    effective_on: Mapped[date] = mapped_column(Date)  # due date, payment date, reversal date, waiver date
    kind: Mapped[str] = mapped_column(String(16))
    component: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(MinorUnits)
    ref: Mapped[str] = mapped_column(String(64))  # instalment seq, payment id, reversal id, waiver id
    import_id: Mapped[int | None] = mapped_column(BigInteger)  # provenance: imports.id


class AccountEventRow(Base):
    """Facts the segmentation reads: autodebit failures, promises, contacts, hardship, disputes."""

    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_loan_id", "loan_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the external event id
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(32))
    on_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    import_id: Mapped[int | None] = mapped_column(BigInteger)  # provenance: imports.id


class AuditRow(Base):
    """Append-only, hash-chained: hash = HMAC-SHA256 under the audit key (never stored here) of the canonical
    JSON of the row with prev_hash (plain SHA-256 for rows from before keys); domain/audit.py."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(MinorUnits, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHeadRow(Base):
    """The chain's tip (one row): deleting the newest audit rows is detected. Only the database moves it, as
    rows that follow it are inserted (migration 0007_audit_head_guard); it moves forward only."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(MinorUnits)
    hash: Mapped[str] = mapped_column(String(64))
