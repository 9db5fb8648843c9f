"""The audit log: append-only and hash-chained, so a changed or deleted row is found by verify().

The chain itself (what a hash covers, the first link) is domain/audit.py. The store keeps a one-row tip
(audit_head) beside the entries, so deleting the newest rows is detected too; appends lock it first.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from arrears.domain.audit import GENESIS, AuditEntry, AuditVerdict, canonical, chained, row_hash
from arrears.services.unit_of_work import UnitOfWork

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditVerdict",
    "append",
    "append_all",
    "canonical",
    "default_actor",
    "entries",
    "row_hash",
    "verify",
]

ACTOR_ENV = "ARREARS_ACTOR"


def append(
    uow: UnitOfWork, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Add a row at the end of the chain, in the unit of work's transaction (kept only if it commits)."""
    return append_all(uow, actor, [(action, subject, detail or {})])[0]


def append_all(
    uow: UnitOfWork, actor: str, rows: Iterable[tuple[str, str, Mapping[str, Any]]]
) -> list[AuditEntry]:
    """Chain (action, subject, detail) rows onto the log in one go: the tip is locked once (which serialises
    concurrent appends on PostgreSQL), the rows are hashed in order and stored together."""
    # What the store will hand back: verify() hashes the stored detail.
    stored = [(a, s, json.loads(json.dumps(dict(d), ensure_ascii=False))) for a, s, d in rows]
    if not stored:
        return []  # nothing to chain: the tip is not even locked
    new = chained(uow.audit.tip(lock=True), datetime.now(UTC), actor, stored)
    uow.audit.add(new)
    return new


def entries(uow: UnitOfWork, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Audit rows, oldest first (optionally for one subject, the newest `limit`)."""
    return uow.audit.entries(subject=subject, limit=limit)


def verify(uow: UnitOfWork, *, batch: int = 10_000) -> AuditVerdict:
    """Walk the chain from the first row; the verdict names the first row that was changed or is missing."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seq = 0
    for e in uow.audit.walk(batch=batch):
        if e.seq != expected_seq:
            return AuditVerdict(False, count, expected_seq, f"row {expected_seq} is missing (deleted)")
        if e.prev_hash != prev_hash:
            return AuditVerdict(
                False, count, e.seq, f"row {e.seq} does not link to row {e.seq - 1} (prev_hash)"
            )
        if row_hash(e.seq, e.at, e.actor, e.action, e.subject, e.detail, e.prev_hash) != e.hash:
            return AuditVerdict(False, count, e.seq, f"row {e.seq} was changed (hash mismatch)")
        prev_hash, last_seq, expected_seq = e.hash, e.seq, e.seq + 1
        count += 1
    head = uow.audit.tip()
    if head is None:
        if count:
            return AuditVerdict(False, count, last_seq, "the chain's tip record (audit_head) is missing")
        return AuditVerdict(True, 0)
    if head[0] != last_seq or head[1] != prev_hash:
        if head[0] > last_seq:
            gone = f"row {head[0]} is" if head[0] == last_seq + 1 else f"rows {last_seq + 1}..{head[0]} are"
            return AuditVerdict(False, count, last_seq + 1, f"{gone} missing (deleted)")
        return AuditVerdict(False, count, head[0], "the chain's tip does not match audit_head")
    return AuditVerdict(True, count)


def default_actor() -> str:
    """Who is acting: env ARREARS_ACTOR, else the operating-system user."""
    actor = os.environ.get(ACTOR_ENV)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
