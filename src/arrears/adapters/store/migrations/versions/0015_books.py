"""The books (issue 19 parts 1-3): credit lines and the loans under them, the delinquency history, charge-off
rules per product, charge-offs with their balanced book postings, and the outbound events for the lender's other systems.

Revision ID: 0015_books
Revises: 0014_field
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime

revision: str = "0015_books"
down_revision: str | None = "0014_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_lines",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("borrower_id", sa.String(64), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("limit_amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("opened_on", sa.Date),
        sa.Column("frozen_on", sa.Date),
        sa.Column("frozen_by", sa.String(200)),
        sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name="ck_credit_lines_status"),
        sa.CheckConstraint("limit_amount >= 0", name="ck_credit_lines_limit"),
    )
    op.create_table(
        "credit_line_loans",
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("line_id", sa.String(64), nullable=False, index=True),
    )
    op.create_table(
        "delinquency_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_bucket", sa.String(32)),
        sa.Column("to_bucket", sa.String(32), nullable=False),
        sa.Column("dpd", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("charged_off", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cause", sa.String(200), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("loan_id", "on_date", "kind", name="uq_delinquency_history_day_kind"),
    )
    op.create_index("ix_delinquency_history_loan", "delinquency_history", ["loan_id", "on_date"])
    op.create_table(
        "charge_off_rules",
        sa.Column("product_code", sa.String(64), primary_key=True),
        sa.Column("after_dpd", sa.Integer, nullable=False),
        sa.CheckConstraint("after_dpd >= 1", name="ck_charge_off_rules_after_dpd"),
    )
    op.create_table(
        "charge_offs",
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("charged_off_on", sa.Date, nullable=False),
        sa.Column("dpd", sa.Integer, nullable=False),
        sa.Column("principal", sa.BigInteger, nullable=False),
        sa.Column("interest", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.Column("late_fee", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="charged_off"),
        sa.Column("closed_on", sa.Date),
        sa.CheckConstraint("status IN ('charged_off', 'reversed', 'settled')", name="ck_charge_offs_status"),
    )
    op.create_table(
        "book_postings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("posted_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("loan_id", "ref", "seq", name="uq_book_postings_entry"),
    )
    op.create_index("ix_book_postings_loan", "book_postings", ["loan_id"])
    op.create_table(
        "outbound_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("payload", JSONDoc, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_outbound_events_status"),
    )
    op.create_index("ix_outbound_events_due", "outbound_events", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbound_events_due", "outbound_events")
    op.drop_table("outbound_events")
    op.drop_index("ix_book_postings_loan", "book_postings")
    op.drop_table("book_postings")
    op.drop_table("charge_offs")
    op.drop_table("charge_off_rules")
    op.drop_index("ix_delinquency_history_loan", "delinquency_history")
    op.drop_table("delinquency_history")
    op.drop_table("credit_line_loans")
    op.drop_table("credit_lines")
