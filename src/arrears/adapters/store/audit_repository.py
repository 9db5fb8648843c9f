"""The audit log's rows (audit_log) and its tip (audit_head): entries in, entries out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import AuditHeadRow, AuditRow
from arrears.domain.audit import AuditEntry

_FIELDS = AuditEntry.__slots__


def _entry(row: object) -> AuditEntry:
    return AuditEntry(*(getattr(row, k) for k in _FIELDS))


class AuditRepository:
    """Append to and read the hash-chained log on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def tip(self, *, lock: bool = False) -> tuple[int, str] | None:
        """The last entry's (seq, hash) as audit_head records it; `lock` holds it until the transaction ends
        (PostgreSQL: concurrent appends wait here; SQLite has one writer anyway)."""
        query = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1)
        head = self.connection.execute(query.with_for_update() if lock else query).first()
        return (int(head[0]), head[1]) if head is not None else None

    def add(self, entries: Sequence[AuditEntry]) -> None:
        """Store entries that follow the tip (one executemany) and move the tip to the last of them."""
        if not entries:
            return
        c = self.connection
        c.execute(insert(AuditRow), [{k: getattr(e, k) for k in _FIELDS} for e in entries])
        last = entries[-1]
        moved = c.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=last.seq, hash=last.hash)
        )
        if moved.rowcount == 0:  # the log's first entries
            c.execute(insert(AuditHeadRow).values(id=1, seq=last.seq, hash=last.hash))

    def entries(self, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries oldest first (optionally for one subject, the newest `limit`)."""
        query = select(AuditRow).order_by(AuditRow.seq.desc())
        if subject is not None:
            query = query.where(AuditRow.subject == subject)
        if limit is not None:
            query = query.limit(limit)
        rows = self.connection.execute(query).all()
        return [_entry(r) for r in reversed(rows)]

    def walk(self, *, batch: int = 10_000) -> Iterator[AuditEntry]:
        """Every entry from seq 1 up, in seq order, read `batch` at a time (however long the log is)."""
        start = 1
        while True:
            rows = self.connection.execute(
                select(AuditRow).where(AuditRow.seq >= start).order_by(AuditRow.seq).limit(batch)
            ).all()
            for r in rows:
                yield _entry(r)
            if len(rows) < batch:
                return
            start = rows[-1].seq + 1
