"""The borrower's portal links: portal_links (one row per link, keyed by the SHA-256 of its token), with the
loan and borrower it is bound to, its expiry and revocation, wrong step-up answers and the step-up cookie's
SHA-256 with its end.

Revision ID: 0012_portal_links
Revises: 0011_risk_models
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0012_portal_links"
down_revision: str | None = "0011_risk_models"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", UtcDateTime),
        sa.Column("failed_tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("session_hash", sa.String(64)),
        sa.Column("session_until", UtcDateTime),
    )
    op.create_index("ix_portal_links_loan_id", "portal_links", ["loan_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_links_loan_id", "portal_links")
    op.drop_table("portal_links")
