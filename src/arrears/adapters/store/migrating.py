"""Alembic, configured in code: the migrations ship inside the package (no alembic.ini needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from arrears.adapters.store.connection import (
    create_store_engine,
    forget_current,
    found_current,
    remember_current,
)
from arrears.domain.errors import InputError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and the ORM models the catalogue seeds through) is imported only to migrate or to answer what the
# store is at when the quick look below cannot: most commands open a store that is already current, and
# importing Alembic costs a tenth of a second.

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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The newest migration shipped with this version of arrears."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration the store is at (None: an empty store)."""
    from alembic.runtime.migration import MigrationContext

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
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        from arrears.adapters.store.catalog import seed_products  # the ORM models: only when upgrading

        added = seed_products(connection)
        after = current_revision(connection)
    remember_current(engine)
    return UpgradeResult(before, after, added)


def ensure_current(engine: Engine) -> None:
    """Upgrade the store if it is behind (checked once per process and engine)."""
    if found_current(engine):
        return
    with engine.connect() as connection:
        stamped = stamped_revision(connection)
    if stamped is not None and stamped == shipped_head():
        remember_current(engine)
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


_REVISION = re.compile(r"^revision\b[^=\n]*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.MULTILINE)


def shipped_head() -> str | None:
    """The newest shipped migration, read from the files' `revision` / `down_revision` lines without Alembic;
    None unless that gives exactly one head (then ensure_current asks Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            continue
        revisions.add(revision[1])
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down[1]))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def stamped_revision(connection: Connection) -> str | None:
    """The one revision in the store's alembic_version table (None: no table, or not exactly one row)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def forget_checked() -> None:
    """Forget which stores were found current (after tests drop a schema)."""
    forget_current()


def new_revision(message: str, url: str, *, autogenerate: bool = True) -> list[str]:
    """Write a new migration file (for developers): compares the models with the store at `url`."""
    engine = create_store_engine(url)
    try:
        with engine.begin() as connection:
            from alembic import command

            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            scripts = command.revision(cfg, message=message, autogenerate=autogenerate)
    finally:
        engine.dispose()
    if scripts is None:
        return []
    items = scripts if isinstance(scripts, list) else [scripts]
    return [s.path for s in items if s is not None]
