"""Personal data encrypted at rest (adapters/crypto.py): the borrowers' personal columns hold ciphertexts
(text of any length), the wrapped data key and its KEK's id, keyed hashes for the look-ups, the postal
address, and when the borrower was erased.

Rows stored before this migration keep their plain text (data_key NULL) until `arrears keys
encrypt-existing` seals them; reads accept both meanwhile.

Revision ID: 0009_personal_data
Revises: 0008_staff
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from arrears.adapters.store.types import UtcDateTime

revision: str = "0009_personal_data"
down_revision: str | None = "0008_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED = ("phone", "id_number")  # were VARCHAR(32); name and email were already TEXT
HASHES = ("phone_hash", "id_number_hash", "email_hash")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        for column in WIDENED:
            op.alter_column("borrowers", column, type_=sa.Text(), existing_type=sa.String(32))
    op.add_column("borrowers", sa.Column("address", sa.Text))
    op.add_column("borrowers", sa.Column("key_id", sa.String(16)))
    op.add_column("borrowers", sa.Column("data_key", sa.Text))
    for column in HASHES:
        op.add_column("borrowers", sa.Column(column, sa.String(64)))
        op.create_index(f"ix_borrowers_{column}", "borrowers", [column])
    op.add_column("borrowers", sa.Column("erased_at", UtcDateTime))


def downgrade() -> None:
    op.drop_column("borrowers", "erased_at")
    for column in HASHES:
        op.drop_index(f"ix_borrowers_{column}", "borrowers")
        op.drop_column("borrowers", column)
    op.drop_column("borrowers", "data_key")
    op.drop_column("borrowers", "key_id")
    op.drop_column("borrowers", "address")
    if op.get_bind().dialect.name == "postgresql":
        for column in WIDENED:
            op.alter_column("borrowers", column, type_=sa.String(32), existing_type=sa.Text())
