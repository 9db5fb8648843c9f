"""Audit rows for compliance decisions and contacts, appended to the hash-chained log (services/audit.py).

- The daily run: one `compliance.run` row per run (counts per status and per rule) and one
  `compliance.blocked` row per blocked action (loan, channel, template, rule ids).
- The dispatcher: one `contact` row per contact attempt (channel, outcome, masked target, the outbox row's
  rule ids) and one `compliance.blocked` row per action blocked at send time.

Rows are chained in one go (services/audit.append_all: the chain's tip is locked once, the rows are stored
together), so a run with many blocked actions stays cheap. They commit or roll back with the unit of work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from arrears.domain.runs import PlannedAction
from arrears.services.audit import append_all, default_actor
from arrears.services.compliance_report import mask_target
from arrears.services.unit_of_work import UnitOfWork

RUN_ACTION, BLOCKED_ACTION, CONTACT_ACTION = "compliance.run", "compliance.blocked", "contact"


def _rules(text: str | None) -> list[str]:
    return [r for r in (text or "").split(",") if r]


def audit_run_decisions(
    uow: UnitOfWork,
    run_id: str,
    as_of: Any,
    profile: str,
    actions: Sequence[PlannedAction],
    actor: str | None = None,
) -> int:
    """The daily run's decisions: a summary row, and a row per blocked action."""
    statuses: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    blocked = []
    for action in actions:
        statuses[action.status] += 1
        for rule in _rules(action.rules):
            rules[f"{action.status}:{rule}"] += 1
        if action.status == "blocked":
            blocked.append(
                (
                    BLOCKED_ACTION,
                    f"loan:{action.loan_id}",
                    {
                        "run_id": run_id,
                        "as_of": str(as_of),
                        "channel": action.channel,
                        "template": action.template,
                        "rules": _rules(action.rules),
                    },
                )
            )
    summary = (
        RUN_ACTION,
        f"run:{run_id}",
        {
            "as_of": str(as_of),
            "profile": profile,
            "actions": len(actions),
            "statuses": dict(sorted(statuses.items())),
            "rules": dict(sorted(rules.items())),
        },
    )
    return len(append_all(uow, actor or default_actor(), [summary, *blocked]))


def audit_dispatch(
    uow: UnitOfWork,
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
    return len(append_all(uow, actor or default_actor(), rows))
