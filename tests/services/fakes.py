"""In-memory implementations of the store's ports, for service tests that need no database.

A service takes a `UnitOfWork` and reaches the store only through its ports (issue 13); these fakes are
that port on plain Python data, so a test can drive a service and then read exactly what it wrote. Only
the ports the tested services use are here; using another one fails loudly (AttributeError), which is
the point: a service that starts to need a new port shows up in these tests.

`MemoryStore` is the database: it survives units of work. `MemoryUnitOfWork(store)` is one transaction on
it: what the block wrote is kept by commit() and dropped by rollback() or by leaving the block without
commit — the same contract as the SQL unit of work.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from arrears.domain.audit import GENESIS, AuditEntry, Checkpoint, StoredCheckpoint
from arrears.domain.compliance.facts import BorrowerFlag
from arrears.domain.errors import NotFound
from arrears.domain.records import Borrower, LoanRecord
from arrears.services.unit_of_work import UnitOfWork


@dataclass
class FlagRow:
    id: int
    flag: BorrowerFlag
    set_at: datetime
    cleared_by: str | None = None
    clear_reason: str | None = None


@dataclass
class MemoryState:
    borrowers: dict[str, Borrower] = field(default_factory=dict)
    loans: dict[str, LoanRecord] = field(default_factory=dict)
    flags: list[FlagRow] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    head: tuple[int, str] | None = None


class MemoryStore:
    """The data every unit of work on this store reads and, when it commits, writes."""

    def __init__(self) -> None:
        self.state = MemoryState()


class MemoryBorrowers:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, borrower_id: str) -> Borrower | None:
        return self.state.borrowers.get(borrower_id)

    def add(self, borrower: Borrower) -> bool:
        if borrower.id in self.state.borrowers:
            return False
        self.state.borrowers[borrower.id] = borrower
        return True


class MemoryLoans:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def exists(self, loan_id: str) -> bool:
        return loan_id in self.state.loans

    def record(self, loan_id: str) -> LoanRecord:
        try:
            return self.state.loans[loan_id]
        except KeyError:
            raise NotFound(f"no loan {loan_id!r}") from None


class MemoryFlags:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def add(self, flag: BorrowerFlag, set_at: datetime) -> int:
        row = FlagRow(len(self.state.flags) + 1, flag, set_at)
        self.state.flags.append(row)
        return row.id

    def open_ids(self, borrower_id: str, name: str, channel: str, debt: str, value: str | None) -> list[int]:
        return [
            r.id
            for r in self.state.flags
            if r.flag.cleared_at is None
            and (r.flag.borrower_id, r.flag.name, r.flag.channel, r.flag.debt)
            == (borrower_id, name, channel, debt)
            and (value is None or r.flag.value == value)
        ]

    def clear(self, ids: Sequence[int], at: datetime, by: str, reason: str) -> None:
        for r in self.state.flags:
            if r.id in ids:
                r.flag = replace(r.flag, cleared_at=at)
                r.cleared_by, r.clear_reason = by, reason

    def history(self, borrower_id: str) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "borrower_id": r.flag.borrower_id,
                "name": r.flag.name,
                "effective_at": r.flag.effective_at,
                "channel": r.flag.channel,
                "debt": r.flag.debt,
                "value": r.flag.value,
                "until": r.flag.until,
                "set_at": r.set_at,
                "set_by": r.flag.set_by,
                "reason": r.flag.reason,
                "source": r.flag.source,
                "cleared_at": r.flag.cleared_at,
                "cleared_by": r.cleared_by,
                "clear_reason": r.clear_reason,
            }
            for r in self.state.flags
            if r.flag.borrower_id == borrower_id
        ]

    def for_borrowers(
        self, borrower_ids: Sequence[str], *, since: datetime | None = None
    ) -> dict[str, list[BorrowerFlag]]:
        out: dict[str, list[BorrowerFlag]] = {}
        for r in self.state.flags:
            if r.flag.borrower_id in borrower_ids:
                out.setdefault(r.flag.borrower_id, []).append(r.flag)
        return out


class MemoryAudit:
    """The audit port: rows in order, and the head the store advances as rows that extend it arrive."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def tip(self, *, lock: bool = False) -> tuple[int, str] | None:
        return self.state.head

    def add(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            head = self.state.head or (0, GENESIS)
            if entry.seq != head[0] + 1 or entry.prev_hash != head[1]:
                raise AssertionError(f"audit row {entry.seq} does not extend the head {head}")
            self.state.audit.append(entry)
            self.state.head = (entry.seq, entry.hash)

    def entry(self, seq: int) -> AuditEntry | None:
        return next((e for e in self.state.audit if e.seq == seq), None)

    def entries(self, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        rows = [e for e in self.state.audit if subject is None or e.subject == subject]
        return rows[-limit:] if limit else rows

    def walk(self, *, batch: int = 10_000, start: int = 1) -> Iterator[AuditEntry]:
        yield from (e for e in self.state.audit if e.seq >= start)


class MemoryCheckpoints:
    """The checkpoint port in memory (outside the fake database, as the real one is outside the real)."""

    def __init__(self) -> None:
        self.written: list[Checkpoint] = []

    def location(self) -> str:
        return "memory"

    def write(self, checkpoint: Checkpoint) -> str:
        self.written.append(checkpoint)
        return f"memory#{len(self.written)}"

    def newest_first(self) -> Iterator[StoredCheckpoint]:
        for i in range(len(self.written), 0, -1):
            yield StoredCheckpoint(f"memory#{i}", self.written[i - 1])


class MemoryUnitOfWork(UnitOfWork):
    """One transaction on a MemoryStore: it works on a copy and commit() puts the copy back."""

    def __init__(self, store: MemoryStore) -> None:
        self.url = "memory://"
        self.store = store
        self._begin()

    def _begin(self) -> None:
        state = copy.deepcopy(self.store.state)
        self.state = state
        self.borrowers = MemoryBorrowers(state)  # type: ignore[assignment]
        self.loans = MemoryLoans(state)  # type: ignore[assignment]
        self.flags = MemoryFlags(state)  # type: ignore[assignment]
        self.audit = MemoryAudit(state)  # type: ignore[assignment]

    @property
    def dialect(self) -> str:
        return "memory"

    def commit(self) -> None:
        self.store.state = copy.deepcopy(self.state)

    def rollback(self) -> None:
        self._begin()

    @contextmanager
    def savepoint(self) -> Iterator[None]:  # type: ignore[override]
        saved = copy.deepcopy(self.state)
        try:
            yield
        except BaseException:
            self.state.__dict__.update(saved.__dict__)
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rollback()
