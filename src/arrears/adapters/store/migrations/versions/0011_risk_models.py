"""Risk models: the registry (risk_models: file path, content hash, training metadata, the active model of
each target), the daily run's scores per account and day (account_scores) and the lender-supplied features,
versioned by the date a value holds from (lender_features).

Revision ID: 0011_risk_models
Revises: 0010_outbox_in_flight
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import JSONDoc, UtcDateTime

revision: str = "0011_risk_models"
down_revision: str | None = "0010_outbox_in_flight"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_models",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(32), nullable=False, index=True),
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("trained_from", sa.Date, nullable=False),
        sa.Column("trained_to", sa.Date, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("metrics", JSONDoc),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "account_scores",
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("target", sa.String(32), primary_key=True),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("score_bp", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_account_scores_day", "account_scores", ["day", "target"])
    op.create_table(
        "lender_features",
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lender_features")
    op.drop_index("ix_account_scores_day", table_name="account_scores")
    op.drop_table("account_scores")
    op.drop_table("risk_models")
