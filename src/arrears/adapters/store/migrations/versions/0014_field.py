"""The late end of the ladder (issue 19, FIELD): agencies' allocation terms (capacity, buckets) and each
placement's balance and actual recall day; litigation cases with their stage events; field visits; the letters
handed to the print vendor (one row per letter, with its batch).

Revision ID: 0014_field
Revises: 0013_checkout_orders
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0014_field"
down_revision: str | None = "0013_checkout_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer))  # loans held at once; NULL = no limit
        # the buckets it takes ("M2,M3"; "" = any) and the days from placement to the recall date
        batch.add_column(sa.Column("buckets", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("placement_days", sa.Integer, nullable=False, server_default="90"))
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("borrower_id", sa.String(64)))
        batch.add_column(sa.Column("placed_balance", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("recalled_on", sa.Date))
        batch.add_column(sa.Column("cause", sa.String(32), nullable=False, server_default="manual"))
    op.create_table(
        "litigation_cases",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("stage_on", sa.Date, nullable=False),
        sa.Column("court", sa.Text, nullable=False, server_default=""),
        sa.Column("case_number", sa.String(64), nullable=False, server_default=""),
        sa.Column("claim", sa.BigInteger, nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_litigation_cases_loan", "litigation_cases", ["loan_id", "stage"])
    op.create_table(
        "litigation_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.BigInteger, sa.ForeignKey("litigation_cases.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),  # stage | document | cost
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("on_day", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("document", sa.Text, nullable=False, server_default=""),
        sa.Column("sha256", sa.String(64), nullable=False, server_default=""),
        sa.Column("cost", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fee_booked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "field_visits",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False, index=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("window_start", UtcDateTime, nullable=False),
        sa.Column("window_end", UtcDateTime, nullable=False),
        sa.Column("two_person", sa.Boolean, nullable=False),
        sa.Column("recording", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # open | done | blocked | cancelled
        sa.Column("agent", sa.String(64)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("rules", sa.Text, nullable=False, server_default=""),
        sa.Column("cost", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("done_at", UtcDateTime),
    )
    op.create_index("ix_field_visits_queue", "field_visits", ["status", "team"])
    op.create_table(
        "printed_letters",
        sa.Column("letter_id", sa.String(200), primary_key=True),  # the outbox row's idempotency key
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False, index=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False, index=True),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("delivered_to", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("returned_on", sa.Date),
        sa.Column("return_reason", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("printed_letters")
    op.drop_index("ix_field_visits_queue", "field_visits")
    op.drop_table("field_visits")
    op.drop_table("litigation_events")
    op.drop_index("ix_litigation_cases_loan", "litigation_cases")
    op.drop_table("litigation_cases")
    with op.batch_alter_table("placements") as batch:
        for column in ("cause", "recalled_on", "placed_balance", "borrower_id"):
            batch.drop_column(column)
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("placement_days")
        batch.drop_column("buckets")
        batch.drop_column("capacity")
