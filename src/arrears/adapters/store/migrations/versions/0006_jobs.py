"""Background jobs (whole-portfolio operations asked for through the API): one row per job, at most one
queued or running job of a kind.

Revision ID: 0006_jobs
Revises: 0005_borrower_facts
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import JSONDoc, UtcDateTime

revision: str = "0006_jobs"
down_revision: str | None = "0005_borrower_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", JSONDoc, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("heartbeat_at", UtcDateTime, nullable=False),
        sa.Column("started_at", UtcDateTime),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("result", JSONDoc),
        sa.Column("error", sa.Text),
    )
    op.create_index(
        "uq_jobs_active_kind",
        "jobs",
        ["kind"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index("ix_jobs_created", "jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_created", "jobs")
    op.drop_index("uq_jobs_active_kind", "jobs")
    op.drop_table("jobs")
