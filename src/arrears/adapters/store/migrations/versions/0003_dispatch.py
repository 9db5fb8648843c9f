"""Dispatch: contact attempts, deliveries (provider receipts), opt-outs, approvals and agent tasks.

Revision ID: 0003_dispatch
Revises: 0002_daily_run
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime

revision: str = "0003_dispatch"
down_revision: str | None = "0002_daily_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_attempts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("message_type", sa.String(64), nullable=False, server_default=""),
        sa.Column("outbox_id", sa.BigInteger),
        sa.Column("provider_id", sa.String(128)),
    )
    op.create_index("ix_contact_attempts_borrower", "contact_attempts", ["borrower_id", "at"])
    op.create_index("ix_contact_attempts_outbox", "contact_attempts", ["outbox_id"])
    op.create_table(
        "deliveries",
        sa.Column("outbox_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("detail", JSONDoc),
    )
    op.create_index("ix_deliveries_provider_id", "deliveries", ["provider_id"])
    op.create_table(
        "opt_outs",
        sa.Column("borrower_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_table(
        "outbox_approvals",
        sa.Column("outbox_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("law_firm", sa.Text, nullable=False, server_default=""),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "agent_tasks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("outbox_id", sa.BigInteger),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("script", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_agent_tasks_status", "agent_tasks", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_tasks_status", "agent_tasks")
    op.drop_table("agent_tasks")
    op.drop_table("outbox_approvals")
    op.drop_table("opt_outs")
    op.drop_index("ix_deliveries_provider_id", "deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_contact_attempts_outbox", "contact_attempts")
    op.drop_index("ix_contact_attempts_borrower", "contact_attempts")
    op.drop_table("contact_attempts")
