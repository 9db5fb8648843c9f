"""Fixtures for the whole suite.

`store_url`: a fresh, empty store per test, on SQLite (a file in tmp_path) and on PostgreSQL. The
PostgreSQL server comes from ARREARS_TEST_PG_URL (scripts/test.sh sets it; locally:
`bash scripts/postgres.sh && export ARREARS_TEST_PG_URL=$(cat .pg_test_url)`). Each test session (each
xdist worker) creates a database of its own and drops it at the end; each test starts from an empty
schema. Without ARREARS_TEST_PG_URL the PostgreSQL variants are skipped, except under CI=true, where
they fail: CI must test PostgreSQL.

`cli`: runs `arrears ...` in-process (exit code, stdout, stderr), as a user would see it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from arrears.adapters.store import forget_engines
from arrears.bootstrap import configure
from arrears.services.data_keys import new_key, write_key_file

configure()  # the SQL store behind the services' unit-of-work port, as the entrypoints compose it

# `arrears run` / `dispatch` checkpoint the audit log: a test opening a store of its own (not `store_url`,
# which gives each store a directory) writes to this session's directory, never ./audit-checkpoints. No
# audit key from the machine: the development key, unless a test sets one.
_CHECKPOINTS = tempfile.mkdtemp(prefix="arrears-audit-checkpoints-")
os.environ["ARREARS_AUDIT_CHECKPOINTS"] = _CHECKPOINTS
atexit.register(shutil.rmtree, _CHECKPOINTS, True)
for _name in ("ARREARS_AUDIT_KEY", "ARREARS_AUDIT_KEY_FILE"):
    os.environ.pop(_name, None)
# Personal data (docs/privacy.md): this session's own key file, never the machine's keys or the user's
# development keys; a test that needs others sets them.
for _name in (
    "ARREARS_DATA_KEY",
    "ARREARS_LOOKUP_KEY",
    "ARREARS_DATA_KEY_PROVIDER",
    "ARREARS_PRIVACY_CONFIG",
):
    os.environ.pop(_name, None)
os.environ["ARREARS_DATA_KEY_FILE"] = os.path.join(_CHECKPOINTS, "data-keys")
os.environ["ARREARS_DEV_DATA_KEY_FILE"] = os.path.join(_CHECKPOINTS, "dev-data-keys")
write_key_file(Path(os.environ["ARREARS_DATA_KEY_FILE"]), [new_key()], new_key())

PG_URL_ENV = "ARREARS_TEST_PG_URL"
PG_PREFIX = "arrears_t_"  # + pid + random: one database per test session (per xdist worker)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL database of this session's own (created here, dropped at the end)."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_URL_ENV} is not set: CI must run the PostgreSQL tests")
        pytest.skip(
            f"{PG_URL_ENV} not set (bash scripts/postgres.sh; export {PG_URL_ENV}=$(cat .pg_test_url))"
        )
    server = make_url(url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"{PG_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        _drop_orphans(connection)
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        forget_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _drop_orphans(connection: Connection) -> None:
    """Databases left by test sessions that were killed (their process is gone) are dropped."""
    names = connection.execute(
        text("SELECT datname FROM pg_database WHERE datname LIKE :pattern"),
        {"pattern": PG_PREFIX.replace("_", r"\_") + "%"},
    ).scalars()
    for name in list(names):
        pid = name[len(PG_PREFIX) :].split("_")[0]
        if pid.isdigit() and not _alive(int(pid)):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _empty_pg(url: str) -> None:
    forget_engines()  # no pooled connection may hold the schema while it is dropped
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The URL of a fresh, empty store; also set as ARREARS_DB_URL for commands run by the test, with its
    own audit checkpoint directory (ARREARS_AUDIT_CHECKPOINTS)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
        open(f"{tmp_path}/store.db", "wb").close()  # an empty SQLite file: the CLI refuses a missing one
    else:
        url = request.getfixturevalue("pg_server_url")
        _empty_pg(url)
    monkeypatch.setenv("ARREARS_DB_URL", url)
    monkeypatch.setenv("ARREARS_AUDIT_CHECKPOINTS", f"{tmp_path}/audit-checkpoints")
    try:
        yield url
    finally:
        forget_engines()


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `arrears ARGS...` in this process; returns the exit code and what it printed."""
    from arrears.entrypoints.cli import build_app

    return in_process(build_app, capsys, monkeypatch)


def in_process(
    build: Callable[[], Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """`arrears ARGS...` run in this process on the typer app `build` makes (all commands, or a few)."""
    from arrears.entrypoints.cli.console import run_app

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["arrears", *args])
        capsys.readouterr()
        try:
            code = run_app(build)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
