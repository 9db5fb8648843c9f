"""The audit log's hash chain: entries, what a hash covers, keys, the chain's rules, signed checkpoints.

A row's hash is HMAC-SHA256, under a key the database does not hold, of the canonical JSON (sorted keys, no
spaces, UTF-8) of {seq, at (UTC ISO, microseconds), actor, action, subject, detail, prev_hash}; the first
entry's prev_hash is 64 zeros. Someone who can write to the database but has no key cannot make a changed
row verify again, nor recompute the rows after it.

Schemes, weakest first: plain SHA-256 (rows written before keys existed), the development key (a constant
in this file: it proves nothing, anyone can recompute it), a real key (ARREARS_AUDIT_KEY or a key file).
A chain is a run of segments: its first rows in whichever scheme row 1 verifies under, then, whenever the
writer's key changes, a marker row (action `audit.key`, hashed under the new key, naming it) from which
the new key holds. A segment never follows a stronger one (no downgrade), so rows appended without the key
after keyed rows are refused. What a marker cannot prove — that the whole log was not recomputed from
row 1 in a weaker scheme — the signed checkpoint outside the database proves (`Checkpoint`).

Appending and verifying are services (services/audit.py); the store keeps the entries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from arrears.domain.errors import ArrearsError

GENESIS = "0" * 64
KEY_ACTION = "audit.key"  # the marker row: the rows from it on are keyed with detail["key_id"]
KEY_SUBJECT = "audit"
PLAIN = "sha256"  # the scheme of rows written before keys: plain SHA-256, no key
DEVELOPMENT = "development"
DEV_SECRET = b"arrears development audit key - public, proves nothing"
CHECKPOINT_DOMAIN = b"arrears audit checkpoint v1\n"


class AuditError(ArrearsError):
    """The audit log cannot be appended to as configured (a missing key, a newest row that does not verify)."""


@dataclass(frozen=True, slots=True)
class AuditKey:
    """An HMAC key; `id` (16 hex digits derived from it) names it in marker rows and checkpoints."""

    secret: bytes = field(repr=False)
    source: str = ""  # where it came from, for messages: "ARREARS_AUDIT_KEY", "keys.txt line 2"
    development: bool = False
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "id", hmac.new(self.secret, b"arrears audit key id", hashlib.sha256).hexdigest()[:16]
        )

    def mac(self, data: bytes) -> str:
        return hmac.digest(self.secret, data, "sha256").hex()

    @property
    def rank(self) -> int:
        return 1 if self.development else 2

    @property
    def label(self) -> str:
        return "the development key" if self.development else f"key {self.id}"

    @property
    def name(self) -> str:
        """As marker rows and checkpoints name the scheme: "development" or "key:<id>"."""
        return DEVELOPMENT if self.development else f"key:{self.id}"


DEV_KEY = AuditKey(DEV_SECRET, "development key (no ARREARS_AUDIT_KEY / ARREARS_AUDIT_KEY_FILE)", True)


def rank(key: AuditKey | None) -> int:
    """0 plain SHA-256, 1 the development key, 2 a real key."""
    return 0 if key is None else key.rank


def label(key: AuditKey | None) -> str:
    return "plain SHA-256 (no key)" if key is None else key.label


def scheme_name(key: AuditKey | None) -> str:
    return PLAIN if key is None else key.name


@dataclass(frozen=True, slots=True)
class Keyring:
    """The key new rows are hashed with, and the retired keys older segments may still be under."""

    current: AuditKey
    retired: tuple[AuditKey, ...] = ()

    def known(self) -> list[AuditKey]:
        """Every key a row may verify under: current, retired, and the development key."""
        out = [self.current, *self.retired]
        if all(k.id != DEV_KEY.id for k in out):
            out.append(DEV_KEY)
        return out

    def find(self, key_id: object) -> AuditKey | None:
        if key_id == DEVELOPMENT:
            return DEV_KEY
        return next((k for k in self.known() if k.id == key_id), None)

    def trusts(self, key_id: str) -> AuditKey | None:
        """The key a checkpoint signed with `key_id` is checked with: with a real key configured, only real
        keys (a checkpoint signed with the public development key proves nothing)."""
        key = self.find(key_id)
        if key is None or (key.development and not self.current.development):
            return None
        return key


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
class Segment:
    """Rows from `from_seq` on are hashed in `scheme` ("sha256", "development", "key:<id>")."""

    from_seq: int
    scheme: str

    def to_dict(self) -> dict[str, object]:
        return {"from_seq": self.from_seq, "scheme": self.scheme}


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str | None = None
    segments: tuple[Segment, ...] = ()
    checkpoint: dict[str, Any] | None = None  # the checkpoint checked against (and where it is)
    key_id: str | None = None  # the configured key
    development_key: bool = False  # no key configured: the development key was used
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "count": self.count,
            "bad_seq": self.bad_seq,
            "reason": self.reason,
            "segments": [s.to_dict() for s in self.segments],
            "checkpoint": self.checkpoint,
            "key_id": self.key_id,
            "development_key": self.development_key,
            "notes": list(self.notes),
        }


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
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    prev_hash: str,
    *,
    key: AuditKey | None,
) -> str:
    """HMAC-SHA256 under `key` of the row's canonical bytes; `key=None`: plain SHA-256 (rows from before keys)."""
    body = canonical(seq, at, actor, action, subject, detail, prev_hash)
    return hashlib.sha256(body).hexdigest() if key is None else key.mac(body)


def entry_hash(e: AuditEntry, key: AuditKey | None) -> str:
    return row_hash(e.seq, e.at, e.actor, e.action, e.subject, e.detail, e.prev_hash, key=key)


def hashed_under(e: AuditEntry, key: AuditKey | None) -> bool:
    return hmac.compare_digest(entry_hash(e, key), e.hash)


def scheme_of(e: AuditEntry, keys: Keyring) -> tuple[bool, AuditKey | None]:
    """(True, the key the row verifies under — None for plain SHA-256), or (False, None) if none."""
    for key in keys.known():
        if hashed_under(e, key):
            return True, key
    return hashed_under(e, None), None


def key_marker(key: AuditKey, previous: AuditKey | None) -> tuple[str, str, dict[str, Any]]:
    """The (action, subject, detail) of the row that starts a segment under `key`."""
    return (
        KEY_ACTION,
        KEY_SUBJECT,
        {"key_id": DEVELOPMENT if key.development else key.id, "previous": scheme_name(previous)},
    )


def chained(
    tip: tuple[int, str] | None,
    at: datetime,
    actor: str,
    rows: list[tuple[str, str, dict[str, Any]]],
    key: AuditKey | None,
) -> list[AuditEntry]:
    """(action, subject, detail) rows as the entries that follow `tip` (seq, hash; None: an empty log).

    `detail` must already be what the store hands back (JSON round-tripped), or verify() would disagree."""
    seq, prev = tip if tip is not None else (0, GENESIS)
    out = []
    for action, subject, detail in rows:
        seq += 1
        digest = row_hash(seq, at, actor, action, subject, detail, prev, key=key)
        out.append(AuditEntry(seq, at, actor, action, subject, detail, prev, digest))
        prev = digest
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None  # the first bad row; None when no row is to blame (a forged checkpoint, none at all)
    reason: str


class ChainCheck:
    """Walks entries in seq order and holds them to the chain's rules: contiguous seqs, each prev_hash the
    previous hash, each hash under its segment's scheme, a new segment only at a marker row, never weaker.

    Start at the beginning (the default), or after a row already known good (`at` = its seq and hash, `key`
    = its scheme) to check only what was appended since."""

    def __init__(
        self, keys: Keyring, *, at: tuple[int, str] = (0, GENESIS), key: AuditKey | None = None
    ) -> None:
        self.keys = keys
        self.seq, self.hash = at
        self.key = key
        self.count = 0
        self.segments: list[Segment] = []

    @property
    def started(self) -> bool:
        return self.seq > 0

    def feed(self, e: AuditEntry) -> Problem | None:
        expected = self.seq + 1
        if e.seq != expected:
            return Problem(expected, f"row {expected} is missing (deleted)")
        if e.prev_hash != self.hash:
            return Problem(e.seq, f"row {e.seq} does not link to row {e.seq - 1} (prev_hash)")
        if self.started and hashed_under(e, self.key):
            pass
        elif e.action == KEY_ACTION and isinstance(e.detail, Mapping) and "key_id" in e.detail:
            problem = self._marker(e)
            if problem:
                return problem
        elif not self.started:
            verifies, found = scheme_of(e, self.keys)
            if not verifies:
                return Problem(
                    e.seq,
                    f"row {e.seq} was changed, or is keyed with a key this process does not have "
                    "(its hash verifies under no configured key)",
                )
            self.key = found
            self.segments.append(Segment(e.seq, scheme_name(found)))
        else:
            return Problem(e.seq, self._changed(e))
        self.seq, self.hash = e.seq, e.hash
        self.count += 1
        return None

    def _marker(self, e: AuditEntry) -> Problem | None:
        key_id = e.detail["key_id"]
        key = self.keys.find(key_id)
        if key is None:
            return Problem(
                e.seq,
                f"row {e.seq} starts rows keyed with key {key_id}, which this process does not have "
                "(ARREARS_AUDIT_KEY, or a retired key in ARREARS_AUDIT_KEY_FILE)",
            )
        if not hashed_under(e, key):
            return Problem(e.seq, f"row {e.seq} was changed (hash mismatch)")
        if self.started and key.rank < rank(self.key):
            return Problem(
                e.seq,
                f"row {e.seq} switches from {label(self.key)} down to {label(key)} "
                "(rows written without the key after keyed rows)",
            )
        self.key = key
        self.segments.append(Segment(e.seq, scheme_name(key)))
        return None

    def _changed(self, e: AuditEntry) -> str:
        if self.key is not None and hashed_under(e, None):
            return (
                f"row {e.seq} was changed: its hash is a plain SHA-256 where {label(self.key)} is expected "
                "(recomputed without the key)"
            )
        return f"row {e.seq} was changed (hash mismatch)"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head as seen at `at`, signed (HMAC) with the key `key_id`; kept outside the database."""

    head_seq: int
    head_hash: str
    rows: int
    at: datetime
    key_id: str
    signature: str = ""

    def body(self) -> bytes:
        data = {
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "rows": self.rows,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id,
        }
        return CHECKPOINT_DOMAIN + json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    def signed(self, key: AuditKey) -> Checkpoint:
        unsigned = replace(self, key_id=key.name if key.development else key.id, signature="")
        return replace(unsigned, signature=key.mac(unsigned.body()))

    def signed_by(self, key: AuditKey) -> bool:
        return self.key_id in (key.id, key.name) and hmac.compare_digest(key.mac(self.body()), self.signature)

    def to_dict(self) -> dict[str, Any]:
        return {
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "rows": self.rows,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """ValueError when a field is missing or of the wrong kind."""
        try:
            at = datetime.fromisoformat(str(data["at"]))
            checkpoint = cls(
                int(data["head_seq"]),
                str(data["head_hash"]),
                int(data["rows"]),
                at if at.tzinfo else at.replace(tzinfo=UTC),
                str(data["key_id"]),
                str(data["signature"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a checkpoint: {err}") from None
        if checkpoint.head_seq < 0 or checkpoint.rows < 0:
            raise ValueError("not a checkpoint: negative head_seq or rows")
        return checkpoint


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as read back (or why a stored line is not one), and where it is."""

    where: str
    checkpoint: Checkpoint | None = None
    problem: str | None = None
