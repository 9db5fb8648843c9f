"""The initial store: borrowers, products, loans, instalments, payments, pauses, waivers, postings,
account events, imports, and the hash-chained audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_postings", "audit_log")


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("settings", JSONDoc, nullable=False),
    )
    op.create_table(
        "imports",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("rows_read", sa.BigInteger, nullable=False),
        sa.Column("written", sa.BigInteger, nullable=False),
        sa.Column("duplicates", sa.BigInteger, nullable=False),
        sa.Column("rejected", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "borrowers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("phone", sa.String(32)),
        sa.Column("id_number", sa.String(32)),
        sa.Column("email", sa.Text),
        sa.Column("timezone", sa.String(64)),
        sa.Column("region", sa.String(64)),
        sa.Column("language", sa.String(16)),
        sa.Column("persona", sa.String(16)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("import_id", sa.BigInteger),
    )
    op.create_table(
        "loans",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("borrower_id", sa.String(64), sa.ForeignKey("borrowers.id"), nullable=False),
        sa.Column("product_code", sa.String(64), sa.ForeignKey("products.code"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("opened_on", sa.Date),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("import_id", sa.BigInteger),
    )
    op.create_index("ix_loans_borrower_id", "loans", ["borrower_id"])
    op.create_table(
        "instalments",
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("principal", sa.BigInteger, nullable=False),
        sa.Column("interest", sa.BigInteger, nullable=False),
        sa.Column("fees", sa.BigInteger, nullable=False),
        sa.CheckConstraint("seq >= 1", name="ck_instalments_seq"),
        sa.CheckConstraint("principal >= 0 AND interest >= 0 AND fees >= 0", name="ck_instalments_amounts"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reversed_on", sa.Date),
        sa.Column("reversal_id", sa.String(64)),
        sa.Column("source", sa.Text),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("import_id", sa.BigInteger),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount"),
    )
    op.create_index("ix_payments_loan_id", "payments", ["loan_id"])
    # Partial: most payments are never reversed, and a NULL-keyed index entry per payment costs imports.
    op.create_index(
        "ux_payments_reversal_id",
        "payments",
        ["reversal_id"],
        unique=True,
        sqlite_where=sa.text("reversal_id IS NOT NULL"),
        postgresql_where=sa.text("reversal_id IS NOT NULL"),
    )
    op.create_table(
        "pauses",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("start_on", sa.Date, nullable=False),
        sa.Column("end_on", sa.Date),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_pauses_loan_id", "pauses", ["loan_id"])
    op.create_table(
        "waivers",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("approved_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("instalment_seq", sa.Integer),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_waivers_amount"),
        sa.CheckConstraint("requested_by <> approved_by", name="ck_waivers_four_eyes"),
    )
    op.create_index("ix_waivers_loan_id", "waivers", ["loan_id"])
    # No foreign key: postings are only ever derived, in the same statement, from rows that passed theirs.
    op.create_table(
        "ledger_postings",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("loan_id", sa.String(64), nullable=False),
        sa.Column("posted_at", UtcDateTime, nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("component", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("import_id", sa.BigInteger),
        sa.CheckConstraint(
            "kind IN ('schedule', 'payment', 'reversal', 'waiver')", name="ck_ledger_postings_kind"
        ),
    )
    op.create_index("ix_ledger_postings_loan_id", "ledger_postings", ["loan_id"])
    op.create_table(
        "account_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("loan_id", sa.String(64), sa.ForeignKey("loans.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("at", UtcDateTime),
        sa.Column("detail", JSONDoc),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("import_id", sa.BigInteger),
    )
    op.create_index("ix_account_events_loan_id", "account_events", ["loan_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("detail", JSONDoc, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    _append_only(*APPEND_ONLY)


def _append_only(*tables: str) -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE) on the append-only tables, in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION arrears_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION arrears_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION arrears_append_only()"
            )
        return
    for table in tables:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "account_events",
        "ledger_postings",
        "waivers",
        "pauses",
        "payments",
        "instalments",
        "loans",
        "borrowers",
        "imports",
        "products",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS arrears_append_only()")
