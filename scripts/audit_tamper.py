"""Audit tampering, measured: each way of rewriting the audit log is tried on a fresh store, then
`arrears audit verify` is run as a user would (a subprocess); on PostgreSQL the application role's attempts
are tried too. Prints the "Audit tampering" tables of docs/reliability.md.

    .venv/bin/python scripts/audit_tamper.py                       # SQLite only
    .venv/bin/python scripts/audit_tamper.py --pg "$(cat .pg_test_url)"   # and PostgreSQL (CREATEDB,
                                                                   # CREATEROLE for the role cases)

The attacker has the tables' owner rights (or the SQLite file) but not the audit key: they drop the guards,
edit, and recompute what they can (plain SHA-256, or the public development key).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests.store.tampering: the tampering the tests do

from tests.store.tampering import append_forged_dev_rows, recompute, rows_of, tamper  # noqa: E402

from arrears.adapters.store import forget_engines  # noqa: E402
from arrears.adapters.store.roles import setup_roles  # noqa: E402
from arrears.bootstrap import configure  # noqa: E402
from arrears.domain.audit import DEV_KEY, GENESIS  # noqa: E402
from arrears.services import audit  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402

ROWS = 10


def _truncate(url: str) -> None:
    kept = rows_of(url)[5]
    tamper(url, "DELETE FROM audit_log WHERE seq > 6", f"UPDATE audit_head SET seq = 6, hash = '{kept.hash}'")


CASES: list[tuple[str, Callable[[str], None]]] = [
    (
        "payload edit (row 7's detail)",
        lambda u: tamper(u, """UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 7"""),
    ),
    ("middle row deleted (row 5)", lambda u: tamper(u, "DELETE FROM audit_log WHERE seq = 5")),
    (
        "two rows swapped (4 and 5)",
        lambda u: tamper(
            u,
            "UPDATE audit_log SET seq = -1 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = 5",
            "UPDATE audit_log SET seq = 5 WHERE seq = -1",
        ),
    ),
    ("tail deleted (7..10) + head moved back", _truncate),
    (
        "row 8 edited, 8..10 recomputed in SHA-256",
        lambda u: (
            tamper(u, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 8"),
            recompute(u, None, 8),
        ),
    ),
    (
        "full rewrite recomputed in SHA-256 (row 7 edited)",
        lambda u: (
            tamper(u, """UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 7"""),
            recompute(u, None),
        ),
    ),
    ("full rewrite under the development key", lambda u: recompute(u, DEV_KEY)),
    ("rows appended under the development key", lambda u: append_forged_dev_rows(u, ("x", "y", {}))),
]


def _store(base: str | None, workdir: Path, name: str) -> tuple[str, Callable[[], None]]:
    if base is None:
        return f"sqlite:///{workdir}/{name}.db", lambda: None
    server = make_url(base).set(drivername="postgresql+psycopg")
    db = f"arrears_tamper_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}"'))

    def drop() -> None:
        forget_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=db).render_as_string(hide_password=False), drop


def _seeded(url: str, checkpoints: Path) -> None:
    os.environ["ARREARS_AUDIT_CHECKPOINTS"] = str(checkpoints)
    with UnitOfWork(url) as uow:
        for n in range(ROWS):
            audit.append(uow, "alice", "policy.publish", f"policy:p@{n}", {"n": n})
        uow.commit()
    with UnitOfWork(url) as uow:
        assert audit.write_checkpoint(uow).written


def _verify(url: str, checkpoints: Path) -> tuple[int, dict[str, Any]]:
    env = {**os.environ, "ARREARS_DB_URL": url, "ARREARS_AUDIT_CHECKPOINTS": str(checkpoints)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli", "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def tamper_table(base: str | None) -> list[str]:
    store = "PostgreSQL" if base else "SQLite"
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for i, (case, attack) in enumerate([("none (clean log)", lambda _u: None), *CASES]):
            url, drop = _store(base, workdir, f"s{i}")
            try:
                checkpoints = workdir / f"cp{i}"
                _seeded(url, checkpoints)
                attack(url)
                code, verdict = _verify(url, checkpoints)
                reason = verdict["reason"] or f"intact: {verdict['count']} row(s), matches the checkpoint"
                seq = verdict["bad_seq"] if verdict["bad_seq"] is not None else "—"
                lines.append(f"| {store} | {case} | {code} | {seq} | {reason} |")
            finally:
                forget_engines()
                drop()
    return lines


REFUSED = {
    "UPDATE audit_log": "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log": "DELETE FROM audit_log WHERE seq = 2",
    "TRUNCATE audit_log": "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER USER": "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "DROP TRIGGER audit_log_append_only": "DROP TRIGGER audit_log_append_only ON audit_log",
    "CREATE TRIGGER … ON audit_log": (
        "CREATE TRIGGER mine BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION arrears_append_only()"
    ),
    "UPDATE audit_head": "UPDATE audit_head SET seq = 1",
    "DELETE FROM audit_head": "DELETE FROM audit_head",
    "TRUNCATE audit_head": "TRUNCATE audit_head",
    "INSERT INTO audit_head": f"INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '{GENESIS}')",
    "ALTER TABLE audit_head DISABLE TRIGGER USER": "ALTER TABLE audit_head DISABLE TRIGGER USER",
    "SELECT … FROM audit_head FOR UPDATE": "SELECT seq FROM audit_head FOR UPDATE",
    "SET session_replication_role = replica": "SET session_replication_role = replica",
    "INSERT a row that does not follow the head": (
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
        f"VALUES (99, now(), 'm', 'x', 'y', '{{}}', '{GENESIS}', '{'e' * 64}')"
    ),
}


def role_table(base: str) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _store(base, Path(tmp), "roles")
        role = f"arrears_app_{uuid.uuid4().hex[:8]}"
        password = secrets.token_hex(12)
        owner = create_engine(url)
        try:
            _seeded(url, Path(tmp) / "cp")
            setup_roles(url, role, password)
            app = create_engine(make_url(url).set(username=role, password=password))
            for name, statement in REFUSED.items():
                try:
                    with app.begin() as c:
                        c.execute(text(statement))
                    outcome = "**allowed**"
                except DBAPIError as err:
                    state = getattr(err.orig, "sqlstate", "?")
                    first = str(err.orig).splitlines()[0]
                    outcome = f"refused ({state}: {first})"
                lines.append(f"| {name} | {outcome} |")
            app.dispose()
        finally:
            forget_engines()
            with owner.begin() as c:
                c.execute(text(f'GRANT "{role}" TO current_user'))
                c.execute(text(f'DROP OWNED BY "{role}"'))
                c.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            owner.dispose()
            drop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL server URL (a role with CREATEDB and CREATEROLE)")
    args = parser.parse_args()
    configure()
    os.environ["ARREARS_AUDIT_KEY"] = secrets.token_hex(32)
    os.environ.pop("ARREARS_AUDIT_KEY_FILE", None)
    print("| store | tampering | `audit verify` exit | first bad seq | reason |")
    print("|---|---|---|---|---|")
    for line in tamper_table(None) + (tamper_table(args.pg) if args.pg else []):
        print(line)
    if args.pg:
        print()
        print("| the application role tries | the database |")
        print("|---|---|")
        for line in role_table(args.pg):
            print(line)


if __name__ == "__main__":
    main()
