"""The audit log's hash chain: an entry, the bytes its hash covers, and the chain's first link.

hash = sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
{seq, at (UTC ISO, microseconds), actor, action, subject, detail, prev_hash}; the first entry's prev_hash
is 64 zeros. Appending and verifying are services (services/audit.py); the store keeps the entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


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


def chained(
    tip: tuple[int, str] | None,
    at: datetime,
    actor: str,
    rows: list[tuple[str, str, dict[str, Any]]],
) -> list[AuditEntry]:
    """(action, subject, detail) rows as the entries that follow `tip` (seq, hash; None: an empty log).

    `detail` must already be what the store hands back (JSON round-tripped), or verify() would disagree."""
    seq, prev = tip if tip is not None else (0, GENESIS)
    out = []
    for action, subject, detail in rows:
        seq += 1
        digest = row_hash(seq, at, actor, action, subject, detail, prev)
        out.append(AuditEntry(seq, at, actor, action, subject, detail, prev, digest))
        prev = digest
    return out
