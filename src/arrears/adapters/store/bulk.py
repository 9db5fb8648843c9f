"""Fast bulk writes and key look-ups for imports, one implementation per dialect.

SQLite: executemany on the raw sqlite3 connection (no per-row SQLAlchemy work), in large batches.
PostgreSQL: COPY (CSV written by pyarrow) into a temporary table, then INSERT ... SELECT.
Both insert with ON CONFLICT DO NOTHING, so re-importing stored rows does nothing. Everything runs on the
unit of work's connection, inside its transaction.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from arrears.adapters.store.types import UtcDateTime, sqlite_instant

Progress = Callable[[int], None]  # called with the number of rows just written

SQLITE_BATCH = 100_000
SQLITE_MAX_PARAMS = 30_000
SCAN_ABOVE = 20_000
DEFER_INDEXES_FROM = 100_000
PG_COPY_BATCH = 200_000


def _q(name: str) -> str:
    return f'"{name}"'


def as_date(value: Any) -> date | None:
    """A DATE column's value as a date (SQLite hands back text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class BulkWriter:
    """Bulk insert-or-ignore and look-ups on one connection."""

    dialect = "?"

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def dbapi(self) -> Any:
        return self.connection.connection.dbapi_connection

    def insert(
        self,
        table: str,
        data: pa.Table,
        *,
        constants: dict[str, Any] | None = None,
        then: Sequence[str] = (),
        params: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Insert the rows of `data` (column names = table columns) plus constant columns; skip conflicts.

        Each statement in `then` runs afterwards with a relation named `inserted` holding exactly the rows
        this call added (not the conflicting ones), e.g. to derive ledger postings; `params` are its
        :named parameters (datetimes are bound as instants). Returns how many rows were added.
        """
        raise NotImplementedError

    def lookup(
        self, table: str, key: str, keys: Sequence[Any], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """The rows of `table` whose `key` is one of `keys`, as tuples of `columns`."""
        raise NotImplementedError

    @contextmanager
    def deferred_indexes(self, tables: Sequence[str], rows: int) -> Iterator[None]:
        """Around a big load: maintain the tables' plain indexes once at the end instead of row by row."""
        yield

    def _typed(self, sql: str, params: dict[str, Any]) -> Any:
        statement = text(sql)
        typed = [bindparam(k, type_=UtcDateTime()) for k, v in params.items() if isinstance(v, datetime)]
        return statement.bindparams(*typed) if typed else statement


def _sqlite_literal(value: Any) -> str:
    """A constant written into the statement instead of being bound once per row (they are ours, not input)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = sqlite_instant(value)
    elif isinstance(value, date):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


class SqliteBulkWriter(BulkWriter):
    dialect = "sqlite"

    @staticmethod
    def _pylist(column: pa.ChunkedArray | pa.Array) -> list[Any]:
        if pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_timestamp(column.type):
            return [None if v is None else sqlite_instant(v) for v in column.to_pylist()]
        return column.to_pylist()

    def insert(
        self,
        table: str,
        data: pa.Table,
        *,
        constants: dict[str, Any] | None = None,
        then: Sequence[str] = (),
        params: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> int:
        constants = constants or {}
        # A column that is empty throughout is left to its default (NULL): one bound parameter less per row.
        data = data.select([i for i in range(data.num_columns) if data.column(i).null_count < data.num_rows])
        names = [*data.column_names, *constants]
        values = ["?"] * data.num_columns + [_sqlite_literal(v) for v in constants.values()]
        sql = (
            f"INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) "
            f"VALUES ({', '.join(values)}) ON CONFLICT DO NOTHING"
        )
        dbapi = self.dbapi
        # Rowids only grow, so the rows this call adds are exactly those above the current maximum.
        before = dbapi.execute(f"SELECT coalesce(max(rowid), 0) FROM {_q(table)}").fetchone()[0]
        changes = dbapi.total_changes
        cursor = dbapi.cursor()
        try:
            for start in range(0, data.num_rows, SQLITE_BATCH):
                chunk = data.slice(start, SQLITE_BATCH)
                columns = [self._pylist(chunk.column(i)) for i in range(chunk.num_columns)]
                cursor.executemany(sql, zip(*columns, strict=True))
                if progress:
                    progress(chunk.num_rows)
        finally:
            cursor.close()
        added = int(dbapi.total_changes - changes)
        relation = f"WITH inserted AS (SELECT * FROM {_q(table)} WHERE rowid > {int(before)}) "
        for statement in then:
            self.connection.execute(self._typed(relation + statement, params or {}), params or {})
        return added

    def lookup(
        self, table: str, key: str, keys: Sequence[Any], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        cols = ", ".join(map(_q, columns))
        cursor = self.dbapi.cursor()
        try:
            if len(keys) > SCAN_ABOVE:
                total = cursor.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]
                if total <= 4 * len(keys):  # most of the table is wanted: one sequential scan beats probes
                    wanted = set(keys)
                    position = list(columns).index(key) if key in columns else None
                    extra = "" if position is not None else f", {_q(key)}"
                    cursor.execute(f"SELECT {cols}{extra} FROM {_q(table)}")
                    for row in cursor:
                        k = row[position] if position is not None else row[-1]
                        if k in wanted:
                            out.append(row if position is not None else row[:-1])
                    return out
            for start in range(0, len(keys), SQLITE_MAX_PARAMS):
                chunk = list(keys[start : start + SQLITE_MAX_PARAMS])
                marks = ", ".join("?" * len(chunk))
                cursor.execute(f"SELECT {cols} FROM {_q(table)} WHERE {_q(key)} IN ({marks})", chunk)
                out.extend(cursor.fetchall())
        finally:
            cursor.close()
        return out

    @contextmanager
    def deferred_indexes(self, tables: Sequence[str], rows: int) -> Iterator[None]:
        # Inserting a million rows into a B-tree at random places costs more than sorting them once, but
        # rebuilding an index over a large table does not pay for a small load: only when rows ≥ table size.
        dbapi = self.dbapi
        dropped: list[str] = []
        for table in tables:
            size = dbapi.execute(f"SELECT coalesce(max(rowid), 0) FROM {_q(table)}").fetchone()[0]
            if rows < max(DEFER_INDEXES_FROM, size):
                continue
            for name, sql in dbapi.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (table,),
            ).fetchall():
                if "UNIQUE" in sql.upper().split("INDEX", 1)[0]:
                    continue  # unique indexes decide the conflicts: they stay
                dbapi.execute(f"DROP INDEX {_q(name)}")
                dropped.append(sql)
        yield
        for sql in dropped:  # on an exception the rollback brings them back
            dbapi.execute(sql)


class PostgresBulkWriter(BulkWriter):
    dialect = "postgresql"
    _serial = itertools.count(1)

    @contextmanager
    def deferred_indexes(self, tables: Sequence[str], rows: int) -> Iterator[None]:
        # PostgreSQL checks a foreign key with a trigger per row (most of a big load's time) and maintains
        # each index row by row. For a load at least as big as the table, drop them and put them back at the
        # end: one validating join per foreign key and one sorted build per index. The transaction holds the
        # table's lock meanwhile; on an exception the rollback restores everything.
        restore: list[str] = []
        with self.dbapi.cursor() as cursor:
            for table in tables:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
                size = cursor.fetchone()[0]
                if size < 0:  # never analysed
                    cursor.execute(f"SELECT count(*) FROM {_q(table)}")
                    size = cursor.fetchone()[0]
                if rows < max(DEFER_INDEXES_FROM, size):
                    continue
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
                    restore.append(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
                cursor.execute(
                    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {_q(name)}")
                    restore.append(definition)
                restore.append(f"ANALYZE {_q(table)}")
        yield
        with self.dbapi.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)

    def insert(
        self,
        table: str,
        data: pa.Table,
        *,
        constants: dict[str, Any] | None = None,
        then: Sequence[str] = (),
        params: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> int:
        constants = constants or {}
        cols = ", ".join(map(_q, data.column_names))
        temp = f"_bulk_{table}_{next(self._serial)}"
        with self.dbapi.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {temp} AS SELECT {cols} FROM {_q(table)} WITH NO DATA")
            with cursor.copy(f"COPY {temp} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                for batch in _batches(data, PG_COPY_BATCH):
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
                    if progress:
                        progress(batch.num_rows)
        names = [*data.column_names, *constants]
        const_names = {f"_c{i}": v for i, v in enumerate(constants.values())}
        select = ", ".join([*map(_q, data.column_names), *(f":{k}" for k in const_names)])
        # One statement: the insert, then every follow-up reading the rows it returned.
        parts = [
            f"inserted AS (INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) SELECT {select} FROM {temp} "
            "ON CONFLICT DO NOTHING RETURNING *)"
        ]
        parts += [f"_then{i} AS ({statement})" for i, statement in enumerate(then)]
        sql = "WITH " + ", ".join(parts) + " SELECT count(*) FROM inserted"
        bound = {**(params or {}), **const_names}
        added = int(self.connection.execute(self._typed(sql, bound), bound).scalar_one())
        self.connection.exec_driver_sql(f"DROP TABLE {temp}")
        return added

    def lookup(
        self, table: str, key: str, keys: Sequence[Any], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        if not len(keys):
            return []
        with self.dbapi.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(map(_q, columns))} FROM {_q(table)} WHERE {_q(key)} = ANY(%s)",
                [list(keys)],
            )
            return list(cursor.fetchall())


def _batches(data: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, max(data.num_rows, 1), size):
        chunk = data.slice(start, size)
        if chunk.num_rows:
            yield chunk


def bulk_writer(connection: Connection) -> BulkWriter:
    """The bulk writer for the connection's dialect."""
    if connection.dialect.name == "postgresql":
        return PostgresBulkWriter(connection)
    return SqliteBulkWriter(connection)
