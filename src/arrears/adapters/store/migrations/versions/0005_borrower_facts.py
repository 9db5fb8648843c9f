"""Borrower compliance facts (cease, opt-outs, consents, notices, holds ...) with who / when / why / source,
and the outbox's validity (a message not sent by `expires_at` expires instead).

The opt_outs table is folded into borrower_flags (name `opt_out`): one table holds every fact.

Revision ID: 0005_borrower_facts
Revises: 0004_casework
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import BigId, UtcDateTime

revision: str = "0005_borrower_facts"
down_revision: str | None = "0004_casework"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "borrower_flags",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False, server_default=""),
        sa.Column("debt", sa.String(64), nullable=False, server_default=""),
        sa.Column("value", sa.Text, nullable=False, server_default=""),
        sa.Column("until", sa.Date),
        sa.Column("effective_at", UtcDateTime, nullable=False),
        sa.Column("set_at", UtcDateTime, nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("cleared_at", UtcDateTime),
        sa.Column("cleared_by", sa.Text),
        sa.Column("clear_reason", sa.Text),
    )
    op.create_index("ix_borrower_flags_borrower", "borrower_flags", ["borrower_id", "name"])
    op.execute(
        "INSERT INTO borrower_flags (borrower_id, name, channel, debt, value, effective_at, set_at, set_by, "
        "reason, source) SELECT borrower_id, 'opt_out', channel, '', '', at, at, 'reply', source, 'reply' "
        "FROM opt_outs"
    )
    op.drop_table("opt_outs")
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("valid_days", sa.Integer))
        batch.add_column(sa.Column("expires_at", UtcDateTime))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("valid_days")
    op.create_table(
        "opt_outs",
        sa.Column("borrower_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO opt_outs (borrower_id, channel, at, source) SELECT borrower_id, channel, min(effective_at), "
        "min(reason) FROM borrower_flags WHERE name = 'opt_out' AND cleared_at IS NULL GROUP BY borrower_id, channel"
    )
    op.drop_index("ix_borrower_flags_borrower", "borrower_flags")
    op.drop_table("borrower_flags")
