"""What each monthly bureau export reported per loan (bureau_reports: format, month, loan, the record's
digest), so a later export of the same month sends a changed record as a correction.

Revision ID: 0016_bureau_reports
Revises: 0015_books
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0016_bureau_reports"
down_revision: str | None = "0015_books"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bureau_reports",
        sa.Column("format", sa.String(16), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("loan_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("reported_on", sa.Date, nullable=False),
        sa.Column("reported_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bureau_reports")
