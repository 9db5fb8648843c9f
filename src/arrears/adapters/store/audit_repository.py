"""The audit log's rows (audit_log) and its head (audit_head): entries in, entries out.

The head is the database's business: a trigger (migration 0007_audit_head_guard) refuses inserted rows that do not follow
it (seq = head + 1, prev_hash = head hash, linked among themselves) and moves it to the last of them — on
PostgreSQL a statement trigger whose SECURITY DEFINER function belongs to the schema's owner, so the
application role, which may only SELECT audit_head, never writes it. Appends serialise on an advisory lock
(PostgreSQL; SQLite has one writer anyway), since the application role may not lock audit_head's row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import AuditHeadRow, AuditRow
from arrears.domain.audit import AuditEntry

_FIELDS = AuditEntry.__slots__
AUDIT_LOCK = 7215530002  # pg_advisory_xact_lock key of audit appends (7215530001: migrations)
_CHUNK = 5_000  # rows per INSERT statement on PostgreSQL (the head trigger runs once per statement)

_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({AUDIT_LOCK}); SELECT seq, hash FROM audit_head WHERE id = 1"
).encode()
_PG_INSERT = text(
    "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
    "SELECT * FROM unnest(CAST(:seq AS bigint[]), CAST(:at AS timestamptz[]), CAST(:actor AS text[]), "
    "CAST(:action AS text[]), CAST(:subject AS text[]), CAST(:detail AS jsonb[]), "
    "CAST(:prev_hash AS text[]), CAST(:hash AS text[]))"
)


def _entry(row: object) -> AuditEntry:
    return AuditEntry(*(getattr(row, k) for k in _FIELDS))


class AuditRepository:
    """Append to and read the hash-chained log on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tip(self, *, lock: bool = False) -> tuple[int, str] | None:
        """The last entry's (seq, hash) as audit_head records it ((0, 64 zeros) for an empty log); `lock`
        serialises appends until the transaction ends (PostgreSQL: a transaction-scoped advisory lock)."""
        if lock and self.connection.dialect.name == "postgresql":
            return self._locked_tip()
        query = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)
        head = self.connection.execute(query).first()
        return (int(head[0]), head[1]) if head is not None else None

    def _locked_tip(self) -> tuple[int, str] | None:
        """PostgreSQL: the lock and the head in one round trip — two statements in one simple-protocol
        query (no parameters), each with its own snapshot, so the head is read after the lock is held
        (a single statement would read it from a snapshot taken before it waited for the lock)."""
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(_LOCK_AND_HEAD)
            cursor.nextset()
            head = cursor.fetchone()
        finally:
            cursor.close()
        return (int(head[0]), head[1]) if head is not None else None

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Store entries that follow the head; the database moves the head to the last of them."""
        if not entries:
            return
        c = self.connection
        if c.dialect.name != "postgresql":
            c.execute(insert(AuditRow), [{k: getattr(e, k) for k in _FIELDS} for e in entries])
            return
        for i in range(0, len(entries), _CHUNK):  # one statement per chunk: one head check and move
            chunk = entries[i : i + _CHUNK]
            c.execute(
                _PG_INSERT,
                {
                    "seq": [e.seq for e in chunk],
                    "at": [e.at for e in chunk],
                    "actor": [e.actor for e in chunk],
                    "action": [e.action for e in chunk],
                    "subject": [e.subject for e in chunk],
                    "detail": [json.dumps(e.detail, ensure_ascii=False) for e in chunk],
                    "prev_hash": [e.prev_hash for e in chunk],
                    "hash": [e.hash for e in chunk],
                },
            )

    def entry(self, seq: int) -> AuditEntry | None:
        row = self.connection.execute(select(AuditRow).where(AuditRow.seq == seq)).first()
        return _entry(row) if row is not None else None

    def entries(self, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries oldest first (optionally for one subject, the newest `limit`)."""
        query = select(AuditRow).order_by(AuditRow.seq.desc())
        if subject is not None:
            query = query.where(AuditRow.subject == subject)
        if limit is not None:
            query = query.limit(limit)
        rows = self.connection.execute(query).all()
        return [_entry(r) for r in reversed(rows)]

    def walk(self, *, batch: int = 10_000, start: int = 1) -> Iterator[AuditEntry]:
        """Every entry from seq `start` up, in seq order, read `batch` at a time (however long the log is)."""
        while True:
            rows = self.connection.execute(
                select(AuditRow).where(AuditRow.seq >= start).order_by(AuditRow.seq).limit(batch)
            ).all()
            for r in rows:
                yield _entry(r)
            if len(rows) < batch:
                return
            start = rows[-1].seq + 1
