"""The outbox's in-flight state: who holds a claimed row, until when, and which batch request it went in.

- claimed_by: the dispatch worker holding the row (host|pid|process start|token), from its claim until
  the claim's audit entries are written; NULL when nobody holds it. A worker whose process is gone (or
  whose lease ran out) is taken over by the next claim.
- lease_until: the holder's lease, extended as it works; a row held past it is taken over.
- request_key: for a message that went in a batch request (an SMS gateway's batch-send API), that
  request's idempotency key (derived from its messages' keys), so a retry after a crash re-sends the same
  request.
- status `sending` (no schema change: a string): marked, and committed, before the send.

Revision ID: 0010_outbox_in_flight
Revises: 0009_personal_data
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0010_outbox_in_flight"
down_revision: str | None = "0009_personal_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(120)))
        batch.add_column(sa.Column("lease_until", UtcDateTime))
        batch.add_column(sa.Column("request_key", sa.String(80)))
    op.create_index(
        "ix_outbox_claimed_by", "outbox", ["claimed_by"], postgresql_where=HELD, sqlite_where=HELD
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_claimed_by", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_key")
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
