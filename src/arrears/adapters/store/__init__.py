"""The store: SQLAlchemy 2 models, Alembic migrations, repositories, bulk writes and columnar snapshots.

SQLite (a file, the default: ARREARS_DB_URL unset means ./arrears.db) or PostgreSQL
(`postgresql+psycopg://...`). Services reach it only through arrears.services.unit_of_work.UnitOfWork.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from arrears.adapters.store.connection import DB_URL_ENV, display_url, engine_for, forget_engines, store_url
from arrears.adapters.store.migrating import ensure_current, upgrade


def open_store(url: str | None = None) -> Engine:
    """The engine of the store at `url` (or ARREARS_DB_URL), upgraded first if it is behind."""
    engine = engine_for(url)
    ensure_current(engine)
    return engine


__all__ = [
    "DB_URL_ENV",
    "display_url",
    "engine_for",
    "ensure_current",
    "forget_engines",
    "open_store",
    "store_url",
    "upgrade",
]
