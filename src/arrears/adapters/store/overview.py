"""What a store holds, for `arrears db info`: its schema revision, the newest one shipped, rows per table.

Read from the database itself (its tables, its alembic_version row) so that it costs neither the ORM models
nor the repositories; Alembic only when the quick look cannot tell the revision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Connection

from arrears.adapters.store.migrating import current_revision, head_revision, shipped_head, stamped_revision


@dataclass(frozen=True, slots=True)
class StoreOverview:
    revision: str | None  # None: an empty store
    head: str | None
    rows: dict[str, int]  # table → rows, every table but Alembic's own


def store_overview(connection: Connection) -> StoreOverview:
    names = sorted(n for n in inspect(connection).get_table_names() if n != "alembic_version")
    rows = {n: int(connection.scalar(select(func.count()).select_from(table(n))) or 0) for n in names}
    revision = stamped_revision(connection) or current_revision(connection)
    return StoreOverview(revision, shipped_head() or head_revision(), rows)
