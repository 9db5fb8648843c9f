"""The columnar snapshot of the store as of a date: what the daily run reads, as pyarrow Tables.

snapshot(connection, as_of) -> {
  "loans":       loan_id, borrower_id, product, currency, opened_on        (opened on or before as_of)
  "instalments": loan_id, seq, due_date, principal, interest, fees          (of those loans, when read)
  "payments":    payment_id, loan_id, paid_on, amount, reversed_on         (paid on or before as_of;
                                                                            reversed_on only if ≤ as_of)
  "pauses":      loan_id, start_on, end_on, reason                         (started on or before as_of)
  "waivers":     loan_id, on, amount, instalment_seq                       (on or before as_of)
  "events":      event_id, loan_id, kind, on, at, detail (JSON text)      (on or before as_of)
  "borrowers":   borrower_id, timezone, language, region, persona         (no names, phones, ID numbers)
}
Amounts are int64 minor units, dates date32, `at` a UTC timestamp. Nothing after as_of leaks in, so a run
for a past date sees what was known then. Rows are sorted by loan (then seq / date / id).

Extraction is the big cost of a daily run, so rows come through the raw DBAPI cursor in large batches
(SQLite: sqlite3 directly; PostgreSQL: COPY ... TO STDOUT as CSV, parsed by pyarrow), never ORM objects.

A part of the store (the streaming daily run) is the same snapshot restricted to a range of loan ids
(`part_bounds` cuts the loans opened by the day into ranges of a given size, `snapshot(..., key_range=)`
reads one): every row belongs to exactly one loan, so the parts' tables together are the whole snapshot's.
A part's borrowers are those of its loans.
"""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy.engine import Connection

from arrears.engine.portfolio import STORE_SNAPSHOT_SCHEMAS

FETCH_BATCH = 100_000
_NULL = r"\N"  # NULL in the CSV text SQLite makes for the snapshot

_UTC_US = pa.timestamp("us", tz="UTC")
_PG_INSTANT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"

# name -> (query with :as_of, output schema, sort keys); the schemas are the engine's (its portfolio module
# declares the columns once), the query selects them in that order
_QUERIES: dict[str, tuple[str, pa.Schema, list[tuple[str, str]]]] = {
    "loans": (
        "SELECT id, borrower_id, product_code, currency, opened_on FROM loans "
        "WHERE opened_on IS NULL OR opened_on <= :as_of",
        STORE_SNAPSHOT_SCHEMAS["loans"],
        [("loan_id", "ascending")],
    ),
    "instalments": (
        # every schedule is read and trimmed to the loans above in Arrow: cheaper than a join in SQLite
        "SELECT loan_id, seq, due_date, principal, interest, fees FROM instalments",
        STORE_SNAPSHOT_SCHEMAS["instalments"],
        [("loan_id", "ascending"), ("seq", "ascending")],
    ),
    "payments": (
        "SELECT id, loan_id, paid_on, amount, CASE WHEN reversed_on <= :as_of THEN reversed_on END "
        "FROM payments WHERE paid_on <= :as_of",
        STORE_SNAPSHOT_SCHEMAS["payments"],
        [("loan_id", "ascending"), ("paid_on", "ascending"), ("payment_id", "ascending")],
    ),
    "pauses": (
        "SELECT loan_id, start_on, end_on, reason FROM pauses WHERE start_on <= :as_of",
        STORE_SNAPSHOT_SCHEMAS["pauses"],
        [("loan_id", "ascending"), ("start_on", "ascending")],
    ),
    "waivers": (
        "SELECT loan_id, on_date, amount, instalment_seq FROM waivers WHERE on_date <= :as_of",
        STORE_SNAPSHOT_SCHEMAS["waivers"],
        [("loan_id", "ascending"), ("on", "ascending")],
    ),
    "events": (
        "SELECT id, loan_id, kind, on_date, {at}, detail FROM account_events WHERE on_date <= :as_of",
        STORE_SNAPSHOT_SCHEMAS["events"],
        [("loan_id", "ascending"), ("on", "ascending"), ("event_id", "ascending")],
    ),
    "borrowers": (
        "SELECT id, timezone, language, region, persona FROM borrowers",
        STORE_SNAPSHOT_SCHEMAS["borrowers"],
        [("borrower_id", "ascending")],
    ),
}

TABLES = tuple(_QUERIES)

KeyRange = tuple[str | None, str | None]
"""Loan ids from the first (inclusive) up to the second (exclusive); None leaves that side open."""
WHOLE: KeyRange = (None, None)

# The column each table's rows belong to a loan by (borrowers: through the loans of the range).
_KEY_COLUMN = {
    "loans": "id",
    "instalments": "loan_id",
    "payments": "loan_id",
    "pauses": "loan_id",
    "waivers": "loan_id",
    "events": "loan_id",
}

_BOUNDS = (
    "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM loans "
    "WHERE opened_on IS NULL OR opened_on <= :as_of) AS numbered WHERE (n - 1) % {size} = 0 ORDER BY id"
)


def _literal(value: str) -> str:
    """A text literal for SQLite and PostgreSQL (standard strings: a quote is doubled)."""
    return "'" + value.replace("'", "''") + "'"


def _in_range(column: str, key_range: KeyRange) -> str:
    lo, hi = key_range
    conditions = ([f"{column} >= {_literal(lo)}"] if lo is not None else []) + (
        [f"{column} < {_literal(hi)}"] if hi is not None else []
    )
    return " AND ".join(conditions)


def _ranged(name: str, sql: str, key_range: KeyRange) -> str:
    """The table's query restricted to the loans of `key_range`."""
    if key_range == WHOLE:
        return sql
    if name == "borrowers":
        return f"{sql} WHERE id IN (SELECT borrower_id FROM loans WHERE {_in_range('id', key_range)})"
    condition = _in_range(_KEY_COLUMN[name], key_range)
    if " WHERE " not in sql:
        return f"{sql} WHERE {condition}"
    head, where = sql.rsplit(" WHERE ", 1)
    return f"{head} WHERE ({where}) AND {condition}"


def part_bounds(connection: Connection, as_of: date, part_accounts: int) -> list[KeyRange]:
    """The loans opened by `as_of` cut, in id order, into ranges of `part_accounts` loans (the last may be
    smaller); the first range is open below and the last open above, so together they cover every row."""
    if part_accounts < 1:
        raise ValueError("a part holds at least one account")
    day = _literal(as_of.isoformat())
    day = f"DATE {day}" if connection.dialect.name == "postgresql" else day
    sql = _BOUNDS.format(size=int(part_accounts)).replace(":as_of", day)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        starts = [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()
    if len(starts) <= 1:
        return [WHOLE]
    edges: list[str | None] = [None, *starts[1:], None]
    return list(pairwise(edges))


_CONTACTS = (
    "SELECT borrower_id, loan_id, channel, {at}, outcome, target, message_type FROM contact_attempts "
    "WHERE at >= :as_of OR message_type IN ('validation_notice', 'bureau_notice')",
    pa.schema(
        [
            ("borrower_id", pa.string()),
            ("loan_id", pa.string()),
            ("channel", pa.string()),
            ("at", _UTC_US),
            ("outcome", pa.string()),
            ("target", pa.string()),
            ("message_type", pa.string()),
        ]
    ),
)


def contact_history(connection: Connection, since: date) -> pa.Table:
    """Every contact attempt made on or after the UTC day `since`, and every notice whatever its age (the
    compliance history the run reads)."""
    sql, schema = _CONTACTS
    read = _read_postgres if connection.dialect.name == "postgresql" else _read_sqlite
    return read(connection, sql, schema, since)


def snapshot(
    connection: Connection, as_of: date, tables: tuple[str, ...] = TABLES, key_range: KeyRange = WHOLE
) -> dict[str, pa.Table]:
    """The store as of `as_of`, one pyarrow Table per name in `tables` (all by default), of the loans in
    `key_range` (all by default)."""
    read = _read_postgres if connection.dialect.name == "postgresql" else _read_sqlite
    out: dict[str, pa.Table] = {}
    for name in tables:
        sql, schema, order = _QUERIES[name]
        table = read(connection, _ranged(name, sql, key_range), schema, as_of)
        if name == "events":
            table = table.set_column(5, "detail", _canonical_json(table.column("detail")))
        if name == "instalments" and "loans" in out:
            table = table.filter(pc.is_in(table.column("loan_id"), value_set=out["loans"].column("loan_id")))
        out[name] = table.sort_by(order) if table.num_rows > 1 else table
    return out


def _canonical_json(values: pa.ChunkedArray) -> pa.Array:
    """The same text for the same detail whichever database stored it (sorted keys, no spaces)."""
    return pa.array(
        [
            None
            if v is None
            else json.dumps(json.loads(v), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for v in values.to_pylist()
        ],
        pa.string(),
    )


def _read_sqlite(connection: Connection, sql: str, schema: pa.Schema, as_of: date) -> pa.Table:
    """The query's rows, made into CSV text by SQLite itself (one string per query, parsed by Arrow's
    multi-threaded reader): a Python tuple per row costs several times more. A result too big for one
    SQLite string (about a gigabyte) is read row by row instead."""
    query = sql.format(at="at").replace(":as_of", "?")
    params = [as_of.isoformat()] * sql.count(":as_of")
    names = [f"c{i}" for i in range(len(schema))]
    line = " || ',' || ".join(_csv_field(n, f.type) for n, f in zip(names, schema, strict=True))
    wrapped = f"WITH q({', '.join(names)}) AS ({query}) SELECT group_concat({line}, char(10)) FROM q"
    dbapi = connection.connection.dbapi_connection
    try:
        found = dbapi.execute(wrapped, params).fetchone()[0]
    except (sqlite3.DataError, sqlite3.OperationalError) as too_big:
        if "too big" not in str(too_big):
            raise
        return _read_sqlite_rows(connection, query, params, schema)
    if not found:
        return schema.empty_table()
    return _parse_csv(io.BytesIO(found.encode()), schema, [_NULL])


def _csv_field(name: str, kind: pa.DataType) -> str:
    """A column as a CSV field: text quoted, NULL as an unquoted \\N (after a quoted field, Arrow's CSV
    reader takes an empty field for a quoted empty string, not a NULL)."""
    if pa.types.is_string(kind):
        return (
            f"CASE WHEN {name} IS NULL THEN '{_NULL}' ELSE '\"' || replace({name}, '\"', '\"\"') || '\"' END"
        )
    return f"coalesce({name}, '{_NULL}')"


def _read_sqlite_rows(connection: Connection, query: str, params: list[str], schema: pa.Schema) -> pa.Table:
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(query, params)
        batches = []
        while rows := cursor.fetchmany(FETCH_BATCH):
            columns = list(zip(*rows, strict=True))
            batches.append(
                pa.record_batch(
                    [_sqlite_column(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
                )
            )
    finally:
        cursor.close()
    return pa.Table.from_batches(batches, schema=schema)


def _sqlite_column(values: tuple[Any, ...], kind: pa.DataType) -> pa.Array:
    """SQLite hands back dates and instants as text: parse them with Arrow, not row by row."""
    if pa.types.is_date(kind):
        return pc.cast(pa.array(values, pa.string()), kind)
    if pa.types.is_timestamp(kind):  # "2026-01-05 01:00:00.000000", UTC
        return pc.cast(pc.cast(pa.array(values, pa.string()), pa.timestamp("us")), kind)
    return pa.array(values, kind)


def _read_postgres(connection: Connection, sql: str, schema: pa.Schema, as_of: date) -> pa.Table:
    # The date is one we formatted: safe to inline. Instants leave as UTC text Arrow parses like SQLite's.
    query = sql.format(at=_PG_INSTANT).replace(":as_of", f"DATE '{as_of.isoformat()}'")
    buffer = io.BytesIO()
    dbapi = connection.connection.dbapi_connection
    with dbapi.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    if not buffer.tell():
        return schema.empty_table()
    buffer.seek(0)
    return _parse_csv(buffer, schema)


def _parse_csv(buffer: io.BytesIO, schema: pa.Schema, null_values: list[str] | None = None) -> pa.Table:
    """CSV rows (no header; an unquoted empty field, or one of `null_values`, is NULL) as a table of
    `schema`; instants are UTC text."""
    read_types = {f.name: (pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in schema}
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema.names),
        convert_options=pacsv.ConvertOptions(
            column_types=read_types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            **({"null_values": null_values} if null_values else {}),
        ),
    )
    columns = [
        pc.cast(pc.cast(table.column(f.name), pa.timestamp("us")), f.type)
        if pa.types.is_timestamp(f.type)
        else table.column(f.name)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
