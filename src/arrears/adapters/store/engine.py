"""Kept for the modules that still import it: the store's connection handling is
arrears.adapters.store.connection ("engine" here meant SQLAlchemy's; the daily run's engines are
arrears.engine). New code imports that module."""

from __future__ import annotations

from arrears.adapters.store.connection import (
    DB_URL_ENV,
    DEFAULT_URL,
    create_store_engine,
    display_url,
    engine_for,
    forget_engines,
    store_url,
)

__all__ = [
    "DB_URL_ENV",
    "DEFAULT_URL",
    "create_store_engine",
    "display_url",
    "engine_for",
    "forget_engines",
    "store_url",
]
