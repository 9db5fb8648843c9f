"""Alembic environment, configured in code (no alembic.ini): see arrears.adapters.store.migrating."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import create_engine

import arrears.adapters.store as store_package
from arrears.adapters.store.models import Base

# Every table's model must be known to autogenerate: models.py and any *_models.py beside it.
for module in pkgutil.iter_modules(store_package.__path__):
    if module.name.endswith("_models"):
        importlib.import_module(f"arrears.adapters.store.{module.name}")

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # called with only a URL: open and close our own connection
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as own:
            _run(own)
        engine.dispose()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=getattr(connection, "dialect").name == "sqlite",  # noqa: B009
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `arrears db upgrade`")
run_migrations_online()
