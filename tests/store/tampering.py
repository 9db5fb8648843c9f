"""What an attacker with the tables' owner rights (or the SQLite file) but not the audit key can do to the
audit log: drop the guards and edit, recompute the hashes they can, append forged rows. Shared by
tests/store/test_audit_tamper.py and scripts/audit_tamper.py (the measured tables of docs/reliability.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from arrears.adapters.store import forget_engines, open_store
from arrears.domain.audit import DEV_KEY, GENESIS, AuditEntry, AuditKey, chained, key_marker, row_hash
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork


def is_pg(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def tamper(url: str, *statements: str, params: list[dict[str, Any]] | None = None) -> None:
    """As the tables' owner: drop the guards (triggers), run the statements, put PostgreSQL's guards back."""
    with open_store(url).begin() as c:
        if is_pg(url):
            c.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            c.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        else:
            names = c.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'")
            ).scalars()
            for name in list(names):
                c.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            if params is None:
                c.execute(text(statement))
            else:
                c.execute(text(statement), params)
        if is_pg(url):
            c.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
            c.execute(text("ALTER TABLE audit_head ENABLE TRIGGER USER"))
    forget_engines()


def rows_of(url: str) -> list[AuditEntry]:
    with UnitOfWork(url) as uow:
        return audit.entries(uow)


def recompute(url: str, key: AuditKey | None, start: int = 1) -> None:
    """Rewrite rows from seq `start` on with hashes recomputed under `key` (None: plain SHA-256), move the
    head: the best an attacker without the audit key can do."""
    rows = rows_of(url)
    prev = GENESIS if start == 1 else rows[start - 2].hash
    updates = []
    for e in rows[start - 1 :]:
        digest = row_hash(e.seq, e.at, e.actor, e.action, e.subject, e.detail, prev, key=key)
        updates.append({"seq": e.seq, "prev": prev, "hash": digest})
        prev = digest
    tamper(url, "UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE seq = :seq", params=updates)
    tamper(url, f"UPDATE audit_head SET seq = {rows[-1].seq}, hash = '{prev}' WHERE id = 1")


def append_forged_dev_rows(url: str, action: tuple[str, str, dict[str, Any]]) -> None:
    """Rows after the keyed ones, behind a marker naming the (public) development key, inserted through the
    guards (they follow the head)."""
    tip = rows_of(url)[-1]
    forged = chained(
        (tip.seq, tip.hash), datetime.now(UTC), "mallory", [key_marker(DEV_KEY, None), action], DEV_KEY
    )
    with open_store(url).begin() as c:
        for e in forged:
            c.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
                    "VALUES (:seq, :at, :actor, :action, :subject, :detail, :prev_hash, :hash)"
                ),
                {
                    **{k: getattr(e, k) for k in AuditEntry.__slots__},
                    "detail": json.dumps(e.detail),
                    "at": e.at if is_pg(url) else e.at.replace(tzinfo=None).isoformat(sep=" "),
                },
            )
    forget_engines()
