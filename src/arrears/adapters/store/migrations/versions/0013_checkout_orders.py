"""Pay now through a payment provider's hosted checkout: checkout_orders (one row per order a borrower starts
in the portal: our order id, the provider's reference, the loan, amount and currency, whether and when it was
paid and the ledger payment it booked).

Revision ID: 0013_checkout_orders
Revises: 0012_portal_links
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0013_checkout_orders"
down_revision: str | None = "0012_portal_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkout_orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("borrower_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("provider_ref", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, server_default="created"),
        sa.Column("paid_at", UtcDateTime),
        sa.Column("payment_id", sa.String(100)),
    )
    op.create_index("ix_checkout_orders_loan_id", "checkout_orders", ["loan_id"])
    op.create_index("ix_checkout_orders_paid_at", "checkout_orders", ["paid_at"])


def downgrade() -> None:
    op.drop_index("ix_checkout_orders_paid_at", "checkout_orders")
    op.drop_index("ix_checkout_orders_loan_id", "checkout_orders")
    op.drop_table("checkout_orders")
