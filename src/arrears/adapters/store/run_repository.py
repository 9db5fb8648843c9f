"""The daily run's writes and its one read of earlier runs: the outbox rows it plans, the run record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from operator import attrgetter
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.store.bulk import bulk_writer
from arrears.adapters.store.models import ImportRow
from arrears.adapters.store.run_models import OutboxRow, RunRow
from arrears.adapters.store.snapshot import WHOLE, KeyRange, part_bounds, snapshot
from arrears.domain.runs import PlannedAction, RunRecord
from arrears.engine.evaluation import HISTORY_SCHEMA

_CHUNK = 5_000  # outbox rows per executemany
_ACTION_FIELDS = PlannedAction.__slots__
_action_values = attrgetter(*_ACTION_FIELDS)
_RECORD_FIELDS = RunRecord.__slots__


class RunRepository:
    """Runs and the outbox rows they planned, on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _insert(self) -> Callable[..., Any]:
        return postgresql.insert if self.connection.dialect.name == "postgresql" else sqlite.insert

    def steps_before(self, before: date) -> pa.Table:
        """Steps planned on days before `before` that belong to an episode, as the engine reads them."""
        rows = self.connection.execute(
            select(OutboxRow.loan_id, OutboxRow.step_id, OutboxRow.anchor).where(
                OutboxRow.as_of < before, OutboxRow.anchor.is_not(None)
            )
        ).all()
        loans, steps, anchors = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [])
        return pa.table([loans, steps, anchors], schema=HISTORY_SCHEMA)

    def part_bounds(self, as_of: date, part_accounts: int) -> list[KeyRange]:
        """The loans opened by `as_of` in ranges of `part_accounts` (see adapters/store/snapshot.py)."""
        return part_bounds(self.connection, as_of, part_accounts)

    def snapshot_part(self, as_of: date, key_range: KeyRange = WHOLE) -> dict[str, pa.Table]:
        """The store as of `as_of`, of the loans in `key_range` only (every table)."""
        return snapshot(self.connection, as_of, key_range=key_range)

    def last_run_before(self, as_of: date) -> date | None:
        """The latest day before `as_of` that has a run record, if any."""
        found = self.connection.execute(select(func.max(RunRow.as_of)).where(RunRow.as_of < as_of)).scalar()
        return found if found is None or isinstance(found, date) else date.fromisoformat(str(found))

    def last_import_day(self) -> date | None:
        """The (UTC) day the latest import started, if there was one."""
        found = self.connection.execute(select(func.max(ImportRow.started_at))).scalar()
        return None if found is None else found.date()

    def planned_on(self, as_of: date) -> int:
        """How many outbox rows were planned for `as_of`."""
        query = select(func.count()).select_from(OutboxRow).where(OutboxRow.as_of == as_of)
        return int(self.connection.execute(query).scalar_one())

    def add_planned(self, actions: Sequence[PlannedAction]) -> None:
        """Write the actions as outbox rows; one whose idempotency key is stored already is left as it is.

        PostgreSQL: COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING (the bulk writer);
        SQLite: executemany."""
        if not actions:
            return
        if self.connection.dialect.name == "postgresql":
            bulk_writer(self.connection).insert("outbox", _outbox_table(actions))
            return
        stmt = self._insert()(OutboxRow).on_conflict_do_nothing(index_elements=["idempotency_key"])
        for start in range(0, len(actions), _CHUNK):
            rows = []
            for action in actions[start : start + _CHUNK]:
                row = dict(zip(_ACTION_FIELDS, _action_values(action), strict=True))
                row["attempts"] = 0
                row["updated_at"] = row["created_at"]
                rows.append(row)
            self.connection.execute(stmt, rows)

    def exists(self, run_id: str) -> bool:
        return self.connection.execute(select(RunRow.id).where(RunRow.id == run_id)).first() is not None

    def add(self, record: RunRecord) -> None:
        """Store the run record (a record with the same id stored already is kept)."""
        row = {k: getattr(record, k) for k in _RECORD_FIELDS}
        self.connection.execute(self._insert()(RunRow).on_conflict_do_nothing(index_elements=["id"]), [row])


_UTC_US = pa.timestamp("us", tz="UTC")
_OUTBOX_TYPES = {
    "as_of": pa.date32(),
    "anchor": pa.date32(),
    "next_allowed_at": _UTC_US,
    "expires_at": _UTC_US,
    "created_at": _UTC_US,
    "valid_days": pa.int64(),
}


def _outbox_table(actions: Sequence[PlannedAction]) -> pa.Table:
    """The actions as outbox columns (as the bulk writer takes them): new rows, no attempt yet."""
    columns = list(zip(*map(_action_values, actions), strict=True))
    table = pa.table(
        {
            name: pa.array(values, _OUTBOX_TYPES.get(name, pa.string()))
            for name, values in zip(_ACTION_FIELDS, columns, strict=True)
        }
    )
    table = table.append_column("attempts", pa.array([0] * table.num_rows, pa.int64()))
    return table.append_column("updated_at", table["created_at"])
