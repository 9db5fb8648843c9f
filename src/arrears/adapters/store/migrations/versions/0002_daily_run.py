"""The daily run: run records and the outbox.

Revision ID: 0002_daily_run
Revises: 0001_initial
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime

revision: str = "0002_daily_run"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False, index=True),
        sa.Column("policy_id", sa.Text, nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("accounts", sa.Integer, nullable=False),
        sa.Column("planned", sa.Integer, nullable=False),
        sa.Column("written", sa.Integer, nullable=False),
        sa.Column("counts", JSONDoc, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("anchor", sa.Date),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("tone", sa.String(16), nullable=False),
        sa.Column("requires", sa.Text, nullable=False, server_default=""),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("experiment", sa.String(64), nullable=False, server_default=""),
        sa.Column("arm", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("rules", sa.Text, nullable=False, server_default=""),
        sa.Column("next_allowed_at", UtcDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_status", "outbox", ["status", "next_allowed_at"])
    op.create_index("ix_outbox_loan", "outbox", ["loan_id", "anchor"])


def downgrade() -> None:
    op.drop_index("ix_outbox_loan", "outbox")
    op.drop_index("ix_outbox_status", "outbox")
    op.drop_table("outbox")
    op.drop_table("runs")
