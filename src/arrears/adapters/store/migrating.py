"""Alembic, configured in code: the migrations ship inside the package (no alembic.ini needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from arrears.adapters.store.catalog import seed_products
from arrears.adapters.store.connection import (
    create_store_engine,
    forget_current,
    found_current,
    remember_current,
)
from arrears.domain.errors import InputError

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    before: str | None
    after: str | None
    products_added: int

    @property
    def changed(self) -> bool:
        return self.before != self.after or self.products_added > 0


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this version of arrears."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the store is at (None: an empty store)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> UpgradeResult:
    """Run every migration the store has not had yet, then add catalogue products it lacks."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes opening a new store at once: the second waits, then finds nothing to do.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7215530001)")
        before = current_revision(connection)
        head = head_revision()
        if before != head:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        added = seed_products(connection)
        after = current_revision(connection)
    remember_current(engine)
    return UpgradeResult(before, after, added)


def ensure_current(engine: Engine) -> None:
    """Upgrade the store if it is behind (checked once per process and engine)."""
    if found_current(engine):
        return
    with engine.connect() as connection:
        at = current_revision(connection)
    if at != head_revision():
        try:
            upgrade(engine)
        except DBAPIError as err:
            if getattr(err.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            raise InputError(
                f"the store is at migration {at or '(empty)'}, this arrears needs {head_revision()}, and "
                f"{engine.url.username or 'this role'} may not change the schema (the application role): run "
                "`arrears db upgrade` with ARREARS_DB_OWNER_URL set to the owner's URL (docs/store.md)",
                field="ARREARS_DB_URL",
            ) from None
    remember_current(engine)


def forget_checked() -> None:
    """Forget which stores were found current (after tests drop a schema)."""
    forget_current()


def new_revision(message: str, url: str, *, autogenerate: bool = True) -> list[str]:
    """Write a new migration file (for developers): compares the models with the store at `url`."""
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            scripts = command.revision(cfg, message=message, autogenerate=autogenerate)
    finally:
        engine.dispose()
    if scripts is None:
        return []
    items = scripts if isinstance(scripts, list) else [scripts]
    return [s.path for s in items if s is not None]
