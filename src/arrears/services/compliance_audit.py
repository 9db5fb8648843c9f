"""Audit rows for compliance decisions and contacts, appended to the hash-chained log (services/audit.py).

- The daily run: one `compliance.run` row per run (counts per status and per rule) and one
  `compliance.blocked` row per blocked action (loan, channel, template, rule ids).
- The dispatcher: one `contact` row per contact attempt (channel, outcome, masked target, the outbox row's
  rule ids) and one `compliance.blocked` row per action blocked at send time.

Rows are chained in one go: the chain's tip is locked once, the rows are hashed in order and inserted with
one executemany, and the tip is moved once, so a run with many blocked actions stays cheap. The rows commit
or roll back with the caller's transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import AuditHeadRow, AuditRow
from arrears.services.audit import GENESIS, default_actor, row_hash
from arrears.services.compliance_report import mask_target

RUN_ACTION, BLOCKED_ACTION, CONTACT_ACTION = "compliance.run", "compliance.blocked", "contact"


def append_all(connection: Connection, actor: str, rows: Iterable[tuple[str, str, Mapping[str, Any]]]) -> int:
    """Chain (action, subject, detail) rows onto the audit log in this transaction; returns how many."""
    rows = list(rows)
    if not rows:
        return 0  # nothing to chain: the tip is not even locked
    c = connection
    # Locking the tip serialises concurrent appends (PostgreSQL), as audit.append does.
    head = c.execute(
        select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == 1).with_for_update()
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    at = datetime.now(UTC)
    values = []
    for action, subject, detail in rows:
        stored = json.loads(json.dumps(detail, ensure_ascii=False))  # what the store will hand back
        seq += 1
        digest = row_hash(seq, at, actor, action, subject, stored, prev)
        values.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "detail": stored,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    c.execute(insert(AuditRow), values)
    if head is None:
        c.execute(insert(AuditHeadRow).values(id=1, seq=seq, hash=prev))
    else:
        c.execute(update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=seq, hash=prev))
    return len(values)


def _rules(text: str | None) -> list[str]:
    return [r for r in (text or "").split(",") if r]


def audit_run_decisions(
    connection: Connection,
    run_id: str,
    as_of: Any,
    profile: str,
    rows: Sequence[Mapping[str, Any]],
    actor: str | None = None,
) -> int:
    """The daily run's decisions: a summary row, and a row per blocked action (outbox row dicts)."""
    statuses: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    blocked = []
    for row in rows:
        statuses[row["status"]] += 1
        for rule in _rules(row["rules"]):
            rules[f"{row['status']}:{rule}"] += 1
        if row["status"] == "blocked":
            blocked.append(
                (
                    BLOCKED_ACTION,
                    f"loan:{row['loan_id']}",
                    {
                        "run_id": run_id,
                        "as_of": str(as_of),
                        "channel": row["channel"],
                        "template": row["template"],
                        "rules": _rules(row["rules"]),
                    },
                )
            )
    summary = (
        RUN_ACTION,
        f"run:{run_id}",
        {
            "as_of": str(as_of),
            "profile": profile,
            "actions": len(rows),
            "statuses": dict(sorted(statuses.items())),
            "rules": dict(sorted(rules.items())),
        },
    )
    return append_all(connection, actor or default_actor(), [summary, *blocked])


def audit_dispatch(
    connection: Connection,
    attempts: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    actor: str | None = None,
) -> int:
    """The dispatcher's contacts (contact_attempts row dicts) and its send-time blocks (status updates)."""
    rules_of = {s["b_id"]: s.get("rules") for s in statuses}
    rows: list[tuple[str, str, Mapping[str, Any]]] = [
        (
            CONTACT_ACTION,
            f"loan:{a['loan_id']}",
            {
                "outbox_id": a["outbox_id"],
                "channel": a["channel"],
                "outcome": a["outcome"],
                "target": mask_target(a["channel"], a["target"]),
                "message_type": a["message_type"],
                "at": a["at"].astimezone(UTC).isoformat(),
                "rules": _rules(rules_of.get(a["outbox_id"])),
            },
        )
        for a in attempts
    ]
    rows.extend(
        (
            BLOCKED_ACTION,
            f"outbox:{s['b_id']}",
            {"at": s["updated_at"].astimezone(UTC).isoformat(), "rules": _rules(s.get("rules"))},
        )
        for s in statuses
        if s["status"] == "blocked"
    )
    return append_all(connection, actor or default_actor(), rows)
