"""The audit log: append-only, hash-chained under a key, anchored by signed checkpoints outside the database.

The chain itself (what a hash covers, keys and schemes, the rules a walk holds rows to, checkpoints) is
domain/audit.py; the keys come from services/audit_keys.py. The store keeps the entries and a one-row head
(audit_head) that the database itself advances as rows are inserted (a trigger that refuses rows that do
not follow it); appends are serialised on it.

Checkpoints: `write_checkpoint` signs the head (seq, hash, row count, time) and hands it to the checkpoint
port (`CheckpointStore`; the file adapter, arrears.adapters.audit_checkpoints, is plugged in by
`arrears.bootstrap.configure()`), after checking that the chain still extends the previous checkpoint, so a
truncation or rewrite is never blessed by a later checkpoint. `verify` walks the chain and then holds it to
the latest checkpoint: rows it saw must still be there, with the hash it saw.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from arrears.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditError,
    AuditKey,
    AuditVerdict,
    ChainCheck,
    Checkpoint,
    Keyring,
    Problem,
    StoredCheckpoint,
    canonical,
    chained,
    key_marker,
    label,
    rank,
    row_hash,
    scheme_of,
)
from arrears.services.audit_keys import keyring

if TYPE_CHECKING:
    from arrears.services.unit_of_work import UnitOfWork

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditVerdict",
    "CheckpointResult",
    "CheckpointStore",
    "append",
    "append_all",
    "canonical",
    "checkpoints",
    "default_actor",
    "entries",
    "row_hash",
    "use_checkpoints",
    "verify",
    "write_checkpoint",
]

ACTOR_ENV = "ARREARS_ACTOR"

# The newest hash this process appended or checked, per key id: the next append needs no look at the tip.
_known_tips: dict[str, str] = {}


# --- the checkpoint port ------------------------------------------------------------------------------


class CheckpointStore(Protocol):
    """Where signed checkpoints go: append-only, outside the database."""

    def location(self) -> str:
        """Where the checkpoints are (for messages)."""
        ...

    def write(self, checkpoint: Checkpoint) -> str:
        """Add a checkpoint (never overwriting one); returns where it went."""
        ...

    def newest_first(self) -> Iterator[StoredCheckpoint]:
        """The stored checkpoints, newest first (lines that are not checkpoints with their problem)."""
        ...


_checkpoints: CheckpointStore | None = None


def use_checkpoints(store: CheckpointStore) -> None:
    """Write and read checkpoints with `store` (called by the bootstrap)."""
    global _checkpoints
    _checkpoints = store


def checkpoints() -> CheckpointStore:
    if _checkpoints is None:
        raise RuntimeError(
            "no audit checkpoint store is configured: call arrears.bootstrap.configure() first"
        )
    return _checkpoints


# --- appending ----------------------------------------------------------------------------------------


def append(
    uow: UnitOfWork, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Add a row at the end of the chain, in the unit of work's transaction (kept only if it commits)."""
    return append_all(uow, actor, [(action, subject, detail or {})])[0]


def append_all(
    uow: UnitOfWork, actor: str, rows: Iterable[tuple[str, str, Mapping[str, Any]]]
) -> list[AuditEntry]:
    """Chain (action, subject, detail) rows onto the log in one go, keyed with the configured key: the head
    is locked once (which serialises concurrent appends), the rows are hashed in order and stored together.

    When the newest row is under another scheme (rows from before keys, the development key, a retired
    key), a marker row naming the new key goes first. AuditError when the newest row verifies under no
    configured key, or is under a real key while this process has only the development key."""
    # What the store will hand back: verify() hashes the stored detail.
    stored = [(a, s, json.loads(json.dumps(dict(d), ensure_ascii=False))) for a, s, d in rows]
    if not stored:
        return []  # nothing to chain: the head is not even locked
    keys = keyring()
    key = keys.current
    tip = uow.audit.tip(lock=True)
    lead: list[tuple[str, str, dict[str, Any]]] = []
    if tip is not None and tip[0] > 0 and _known_tips.get(key.id) != tip[1]:
        newest = _tip_scheme(uow, tip, keys)
        if newest is None or newest.id != key.id:
            if rank(key) < rank(newest):
                raise AuditError(
                    f"the audit log is keyed with {label(newest)} (its newest row, seq {tip[0]}), and this "
                    "process has only the development key: set ARREARS_AUDIT_KEY or ARREARS_AUDIT_KEY_FILE"
                )
            lead.append(key_marker(key, newest))
    new = chained(tip, datetime.now(UTC), actor, [*lead, *stored], key)
    uow.audit.add(new)
    _known_tips[key.id] = new[-1].hash
    return new[len(lead) :]


def _tip_scheme(uow: UnitOfWork, tip: tuple[int, str], keys: Keyring) -> AuditKey | None:
    row = uow.audit.entry(tip[0])
    if row is None or row.hash != tip[1]:
        raise AuditError(
            f"the audit log's newest row (seq {tip[0]}) is missing or differs from audit_head: "
            "run `arrears audit verify`"
        )
    verifies, found = scheme_of(row, keys)
    if not verifies and keys.current.development:
        raise AuditError(
            f"the audit log's newest row (seq {tip[0]}) is keyed, and this process has only the development "
            "key: set ARREARS_AUDIT_KEY or ARREARS_AUDIT_KEY_FILE"
        )
    if not verifies:
        raise AuditError(
            f"the audit log's newest row (seq {tip[0]}) verifies under no configured key: it was changed, "
            "or it is keyed with a key this process does not have (ARREARS_AUDIT_KEY / "
            "ARREARS_AUDIT_KEY_FILE); run `arrears audit verify`"
        )
    return found


def entries(uow: UnitOfWork, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    """Audit rows, oldest first (optionally for one subject, the newest `limit`)."""
    return uow.audit.entries(subject=subject, limit=limit)


# --- checkpoints --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest checkpoint this configuration trusts, and what was passed over to find it."""

    stored: StoredCheckpoint | None
    forged: StoredCheckpoint | None = None  # a checkpoint whose signature does not verify
    notes: tuple[str, ...] = ()

    @property
    def checkpoint(self) -> Checkpoint | None:
        return self.stored.checkpoint if self.stored is not None else None


def latest_checkpoint(keys: Keyring | None = None, store: CheckpointStore | None = None) -> Latest:
    """Newest first: the first checkpoint signed with a trusted key. A checkpoint naming a trusted key whose
    signature does not verify stops the search (forged or corrupted); unreadable lines, checkpoints signed
    with the development key (when a real key is configured) and with keys this process does not have are
    passed over and noted."""
    keys = keys or keyring()
    store = store or checkpoints()
    unreadable = untrusted = 0
    for stored in store.newest_first():
        cp = stored.checkpoint
        if cp is None:
            unreadable += 1
            continue
        key = keys.trusts(cp.key_id)
        if key is None:
            untrusted += 1
            continue
        notes = _passed_over(unreadable, untrusted)
        if not cp.signed_by(key):
            return Latest(None, stored, notes)
        return Latest(stored, None, notes)
    return Latest(None, None, _passed_over(unreadable, untrusted))


def _passed_over(unreadable: int, untrusted: int) -> tuple[str, ...]:
    notes = []
    if unreadable:
        notes.append(f"{unreadable} newer checkpoint line(s) could not be read (passed over)")
    if untrusted:
        notes.append(
            f"{untrusted} newer checkpoint(s) signed with the development key or a key this process does "
            "not have (passed over)"
        )
    return tuple(notes)


@dataclass(frozen=True, slots=True)
class CheckpointResult:
    written: bool
    checkpoint: Checkpoint | None  # the one written, or the latest (unchanged head)
    where: str | None
    problem: Problem | None = None  # the chain does not extend the previous checkpoint: nothing written
    previous: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "written": self.written,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
            "where": self.where,
            "bad_seq": self.problem.seq if self.problem else None,
            "reason": self.problem.reason if self.problem else None,
        }


def write_checkpoint(uow: UnitOfWork, *, force: bool = False, batch: int = 10_000) -> CheckpointResult:
    """Sign the chain's head and store it outside the database.

    Only after checking the rows appended since the latest checkpoint (all of them, the first time): the
    chain must still hold that checkpoint's head with the same hash, and every row after it must follow the
    chain's rules. Otherwise nothing is written and the result names the first bad row. Without `force`,
    an unchanged head writes nothing (a dispatcher polling an idle outbox adds no files)."""
    keys = keyring()
    store = checkpoints()
    latest = latest_checkpoint(keys, store)
    if latest.forged is not None:
        return CheckpointResult(
            False, None, latest.forged.where, Problem(None, _forged_reason(latest.forged))
        )
    previous = latest.checkpoint
    head = uow.audit.tip() or (0, GENESIS)
    if previous is not None and not force and (previous.head_seq, previous.head_hash) == head:
        return CheckpointResult(False, previous, latest.stored.where if latest.stored else None)
    check, problem = _extends(uow, keys, previous, latest.stored, head[0], batch)
    if problem is None and (check.seq, check.hash) != head:
        problem = _head_problem(check.seq, check.hash, head)
    if problem is not None:
        return CheckpointResult(False, None, None, problem, previous)
    rows = (previous.rows if previous else 0) + check.count
    cp = Checkpoint(head[0], head[1], rows, datetime.now(UTC), "").signed(keys.current)
    return CheckpointResult(True, cp, store.write(cp), None, previous)


def _extends(
    uow: UnitOfWork,
    keys: Keyring,
    previous: Checkpoint | None,
    where: StoredCheckpoint | None,
    upto: int,
    batch: int,
) -> tuple[ChainCheck, Problem | None]:
    """Walk the rows after the previous checkpoint's head (every row without one) up to seq `upto` (the head
    read before: rows appended since are the next checkpoint's)."""
    if previous is None or previous.head_seq == 0:
        check = ChainCheck(keys)
        return check, _walk(check, uow.audit.walk(batch=batch), upto)
    row = uow.audit.entry(previous.head_seq)
    pinned = _against(previous, where)
    if row is None:
        return ChainCheck(keys), Problem(
            previous.head_seq, f"row {previous.head_seq} is missing: {pinned} (truncated)"
        )
    if row.hash != previous.head_hash:
        return ChainCheck(keys), Problem(
            previous.head_seq, f"row {previous.head_seq} does not match {pinned} (rewritten)"
        )
    verifies, scheme = scheme_of(row, keys)
    if not verifies:
        return ChainCheck(keys), Problem(
            row.seq, f"row {row.seq} verifies under no configured key ({pinned})"
        )
    check = ChainCheck(keys, at=(row.seq, row.hash), key=scheme)
    return check, _walk(check, uow.audit.walk(batch=batch, start=row.seq + 1), upto)


def _walk(
    check: ChainCheck, rows: Iterable[AuditEntry], upto: int | None = None, pins: dict[int, str] | None = None
) -> Problem | None:
    """Feed rows to the check (up to seq `upto`), noting the hashes of the seqs in `pins`."""
    for e in rows:
        if upto is not None and e.seq > upto:
            return None
        problem = check.feed(e)
        if problem is not None:
            return problem
        if pins is not None and e.seq in pins:
            pins[e.seq] = e.hash
    return None


def _against(cp: Checkpoint, stored: StoredCheckpoint | None) -> str:
    where = f", {stored.where}" if stored is not None else ""
    return (
        f"the checkpoint of {cp.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC{where} saw {cp.rows:,} row(s) up to "
        f"seq {cp.head_seq}"
    )


def _forged_reason(stored: StoredCheckpoint) -> str:
    return f"the checkpoint at {stored.where} does not verify with its key (forged or corrupted)"


def _head_problem(last_seq: int, last_hash: str, head: tuple[int, str]) -> Problem:
    if head[0] > last_seq:
        gone = f"row {head[0]} is" if head[0] == last_seq + 1 else f"rows {last_seq + 1}..{head[0]} are"
        return Problem(last_seq + 1, f"{gone} missing (deleted)")
    if head[0] == 0 and last_seq > 0:
        return Problem(last_seq, "the chain's tip record (audit_head) is missing or reset")
    return Problem(head[0], "the chain's tip does not match audit_head")


# --- verifying ----------------------------------------------------------------------------------------


def verify(uow: UnitOfWork, *, batch: int = 10_000, require_checkpoint: bool = False) -> AuditVerdict:
    """Walk the chain from the first row, then hold it to the audit_head record and the latest checkpoint.

    The verdict names the first row that was changed or is missing; a checkpoint the log no longer matches
    (rows it saw are gone, or have another hash) fails it too. Without a checkpoint the chain is not
    anchored: noted, and a failure with `require_checkpoint`."""
    keys = keyring()
    latest = latest_checkpoint(keys)
    cp = latest.checkpoint
    check = ChainCheck(keys)
    pins = {cp.head_seq: ""} if cp is not None and cp.head_seq > 0 else {}
    problem = _walk(check, uow.audit.walk(batch=batch), pins=pins)
    if problem is None:
        problem = _head_and_anchor(uow, check, latest, pins, require_checkpoint, batch)
    notes = list(latest.notes)
    if problem is None or problem.seq is not None:
        if cp is None and latest.forged is None:
            notes.append(
                f"not anchored: no checkpoint in {checkpoints().location()} "
                "(`arrears audit checkpoint` writes one)"
            )
        if not keys.current.development and check.key is not None and check.key.development:
            notes.append(
                "the newest rows are under the development key (written before ARREARS_AUDIT_KEY was set)"
            )
    checkpoint = _cp_dict(latest)
    if latest.forged is not None:
        checkpoint = {"where": latest.forged.where, "forged": True}
    return AuditVerdict(
        problem is None,
        check.count,
        problem.seq if problem else None,
        problem.reason if problem else None,
        tuple(check.segments),
        checkpoint,
        keys.current.name,
        keys.current.development,
        tuple(notes),
    )


def _head_and_anchor(
    uow: UnitOfWork,
    check: ChainCheck,
    latest: Latest,
    pins: dict[int, str],
    require_checkpoint: bool,
    batch: int,
) -> Problem | None:
    """After a clean walk: the audit_head record, then the latest checkpoint. Rows appended while the walk
    ran (the head read after it is further on) are walked too, up to that head."""
    head = uow.audit.tip()
    if head is not None and head[0] > check.seq:
        problem = _walk(check, uow.audit.walk(batch=batch, start=check.seq + 1), head[0], pins)
        if problem is not None:
            return problem
    if head is None or head[0] == 0:
        if check.count:
            return Problem(check.seq, "the chain's tip record (audit_head) is missing or reset")
    elif head != (check.seq, check.hash):
        return _head_problem(check.seq, check.hash, head)
    if latest.forged is not None:
        return Problem(None, _forged_reason(latest.forged))
    cp = latest.checkpoint
    if cp is None:
        return Problem(None, f"no checkpoint in {checkpoints().location()}") if require_checkpoint else None
    pinned = _against(cp, latest.stored)
    if check.seq < cp.head_seq:
        gone = (
            f"row {cp.head_seq} is"
            if cp.head_seq == check.seq + 1
            else f"rows {check.seq + 1}..{cp.head_seq} are"
        )
        return Problem(check.seq + 1, f"{gone} missing: {pinned} (truncated)")
    if cp.head_seq > 0 and pins.get(cp.head_seq) != cp.head_hash:
        return Problem(cp.head_seq, f"row {cp.head_seq} does not match {pinned} (the log was rewritten)")
    return None


def _cp_dict(latest: Latest) -> dict[str, Any] | None:
    if latest.stored is None or latest.stored.checkpoint is None:
        return None
    return {**latest.stored.checkpoint.to_dict(), "where": latest.stored.where}


def default_actor() -> str:
    """Who is acting: env ARREARS_ACTOR, else the operating-system user."""
    actor = os.environ.get(ACTOR_ENV)
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
