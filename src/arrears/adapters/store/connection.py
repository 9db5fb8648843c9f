"""Where the store lives and how to connect: ARREARS_DB_URL, SQLite pragmas, one SQLAlchemy engine per URL,
and which stores this process has found at the newest migration (migrating.ensure_current asks)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from arrears.adapters.store import limits
from arrears.domain.errors import InputError

DB_URL_ENV = "ARREARS_DB_URL"
DEFAULT_URL = "sqlite:///arrears.db"

_engines: dict[str, Engine] = {}
_current: set[str] = set()  # URLs of the stores found at the newest migration
_lock = threading.Lock()


def store_url(url: str | None = None) -> str:
    """The store's URL: the argument, else env ARREARS_DB_URL, else arrears.db in the working directory.

    A bare path (no "://") means a SQLite file.
    """
    chosen = url or os.environ.get(DB_URL_ENV) or DEFAULT_URL
    if "://" not in chosen:
        chosen = f"sqlite:///{chosen}"
    try:
        parsed = make_url(chosen)
    except ArgumentError:
        raise InputError(f"not a database URL: {chosen!r}", field=DB_URL_ENV) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"unsupported database {parsed.get_backend_name()!r} (use sqlite:/// or postgresql+psycopg://)",
            field=DB_URL_ENV,
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def require_existing_file(url: str | None = None) -> None:
    """Refuse a SQLite store whose file does not exist (an InputError naming the path), rather than let the
    first connection create an empty one. PostgreSQL and in-memory stores pass."""
    resolved = make_url(store_url(url))
    database = resolved.database
    if resolved.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:") or Path(database).exists():
        return
    where = f"no store at {Path(database).resolve()}"
    if not url and not os.environ.get(DB_URL_ENV):
        where += f" ({DB_URL_ENV} is not set: ./arrears.db of this directory)"
    raise InputError(
        f"{where}: create one with `arrears db upgrade`, or point {DB_URL_ENV} at an existing store",
        field="--db" if url else (DB_URL_ENV if os.environ.get(DB_URL_ENV) else None),
    )


def display_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so DDL and raw DBAPI writes share one transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL never corrupts; a power cut may lose the last commits, which imports can simply redo.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB at most; big imports touch many index pages
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A request that writes takes the write lock up front: waiting for it (busy_timeout) beats failing at
    # its first write because another writer moved the snapshot it read (SQLITE_BUSY_SNAPSHOT).
    conn.exec_driver_sql("BEGIN IMMEDIATE" if limits.writing_request() else "BEGIN")


def create_store_engine(url: str) -> Engine:
    """A new engine for `url` (SQLite: WAL, foreign keys on, explicit transactions; PostgreSQL: the pool
    sized by ARREARS_DB_POOL_*); both honour a request's time budget."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, **limits.pool_options())
    limits.install(engine)  # a request's time budget, where one is set (arrears.adapters.store.limits)
    return engine


def engine_for(url: str | None = None) -> Engine:
    """The process-wide engine of the store at `url` (created once, reused)."""
    resolved = store_url(url)
    with _lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = _engines[resolved] = create_store_engine(resolved)
    return engine


def found_current(engine: Engine) -> bool:
    """Whether this process has already found the store behind `engine` at the newest migration."""
    return str(engine.url) in _current


def remember_current(engine: Engine) -> None:
    """The store behind `engine` is at the newest migration (until forget_current / forget_engines)."""
    with _lock:
        _current.add(str(engine.url))


def forget_current() -> None:
    """Forget which stores were found current (after tests drop a schema)."""
    with _lock:
        _current.clear()


def forget_engines() -> None:
    """Dispose every cached engine and forget which stores were current (tests drop and recreate stores
    behind the cache's back)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _current.clear()
