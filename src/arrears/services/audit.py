"""The audit log: append-only and hash-chained, so a changed or deleted row is found by verify().

hash = sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
{seq, at (UTC ISO, microseconds), actor, action, subject, detail, prev_hash}; the first row's prev_hash is
64 zeros. The one-row table audit_head holds the tip, so deleting the newest rows is detected too.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from arrears.adapters.store.models import AuditHeadRow, AuditRow
from arrears.services.unit_of_work import UnitOfWork

GENESIS = "0" * 64
ACTOR_ENV = "ARREARS_ACTOR"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "count": self.count, "bad_seq": self.bad_seq, "reason": self.reason}


def canonical(
    seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any], prev_hash: str
) -> bytes:
    """The bytes a row's hash is computed over."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def row_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any], prev_hash: str
) -> str:
    return hashlib.sha256(canonical(seq, at, actor, action, subject, detail, prev_hash)).hexdigest()


def append(
    uow: UnitOfWork, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Add a row at the end of the chain, in the unit of work's transaction (kept only if it commits)."""
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False))  # what the store will hand back
    c = uow.connection
    # Locking the tip serialises concurrent appends (PostgreSQL); SQLite has one writer anyway.
    head = c.execute(
        select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1).with_for_update()
    ).first()
    prev_seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS)
    seq = prev_seq + 1
    at = datetime.now(UTC)
    digest = row_hash(seq, at, actor, action, subject, detail, prev_hash)
    c.execute(
        insert(AuditRow).values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=detail,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    if head is None:
        c.execute(insert(AuditHeadRow).values(id=1, seq=seq, hash=digest))
    else:
        c.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=seq, hash=digest))
    return AuditEntry(seq, at, actor, action, subject, detail, prev_hash, digest)


def entries(uow: UnitOfWork, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Audit rows, oldest first (optionally for one subject, the newest `limit`)."""
    q = select(AuditRow).order_by(AuditRow.seq.desc())
    if subject is not None:
        q = q.where(AuditRow.subject == subject)
    if limit is not None:
        q = q.limit(limit)
    rows = uow.connection.execute(q).mappings().all()
    return [AuditEntry(**{k: r[k] for k in AuditEntry.__slots__}) for r in reversed(rows)]


def verify(uow: UnitOfWork, *, batch: int = 10_000) -> AuditVerdict:
    """Walk the chain from the first row; the verdict names the first row that was changed or is missing."""
    c = uow.connection
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = c.execute(
            select(AuditRow).where(AuditRow.seq >= expected_seq).order_by(AuditRow.seq).limit(batch)
        ).mappings()
        got = 0
        for r in rows:
            got += 1
            seq = r["seq"]
            if seq != expected_seq:
                return AuditVerdict(False, count, expected_seq, f"row {expected_seq} is missing (deleted)")
            if r["prev_hash"] != prev_hash:
                return AuditVerdict(
                    False, count, seq, f"row {seq} does not link to row {seq - 1} (prev_hash)"
                )
            digest = row_hash(
                seq, r["at"], r["actor"], r["action"], r["subject"], r["detail"], r["prev_hash"]
            )
            if digest != r["hash"]:
                return AuditVerdict(False, count, seq, f"row {seq} was changed (hash mismatch)")
            prev_hash, last_seq, expected_seq = r["hash"], seq, seq + 1
            count += 1
        if got < batch:
            break
    head = c.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)).first()
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
