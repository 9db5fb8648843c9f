"""The outbox as people see it: rows by status, borrower, loan, day; one row with what became of it.

Reading only, through a unit of work; personal data is masked (names, phones, e-mails, addresses in
provider errors). `arrears outbox list|show` and anything else that shows the outbox call these.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from arrears.domain.activity import RecordedApproval
from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_email, mask_name, mask_phone
from arrears.domain.outbox import OUTBOX_STATUSES, OutboxEntry
from arrears.services.compliance_report import mask_target
from arrears.services.unit_of_work import UnitOfWork

DEFAULT_LIMIT = 100
# Columns shown under another name: the contract of `outbox list --json`.
RENAMED = {"as_of": "day", "step_id": "step"}
LISTS = ("rules", "requires")  # comma-separated in the store, lists in views
COLUMNS = tuple(f.name for f in fields(OutboxEntry))  # the order views show them in
_PHONE_RUN = re.compile(r"(?<![\w+])\+?\d{7,15}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def check_status(status: str | None, field: str = "status") -> str | None:
    """The status if the outbox knows it, else bad input naming `field`."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise InputError(f"unknown status {status!r} (one of: {', '.join(OUTBOX_STATUSES)})", field=field)
    return status


def list_outbox(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    borrower_id: str | None = None,
    loan_id: str | None = None,
    day: date | None = None,
    channel: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[list[dict[str, Any]], int]:
    """Rows matching every filter given, in id order (the order the run wrote them), at most `limit`;
    and how many match in all."""
    check_status(status)
    if limit < 1:
        raise InputError("must be at least 1", field="limit")
    entries, total = uow.outbox.find(
        status=status, borrower_id=borrower_id, loan_id=loan_id, day=day, channel=channel, limit=limit
    )
    approvals = uow.activity.approvals([e.id for e in entries])
    names = {
        b.id: mask_name(b.name)
        for b in uow.activity.borrowers(sorted({e.borrower_id for e in entries})).values()
    }
    out = []
    for entry in entries:
        view = row_view(entry, approvals.get(entry.id))
        view["borrower_name"] = names.get(entry.borrower_id)
        out.append(view)
    return out, total


def outbox_detail(uow: UnitOfWork, outbox_id: int) -> dict[str, Any]:
    """One row with its borrower (masked), approval, deliveries, contact attempts, agent tasks and the
    audit entries about it; NotFound for an unknown id."""
    entry = uow.outbox.get(outbox_id)
    if entry is None:
        raise NotFound(f"no outbox row {outbox_id}")
    view = row_view(entry, uow.activity.approvals([outbox_id]).get(outbox_id))
    borrower = uow.borrowers.get(entry.borrower_id)
    view["borrower_name"] = mask_name(borrower.name) if borrower else None
    view["borrower"] = (
        {
            "id": borrower.id,
            "name": mask_name(borrower.name),
            "phone": mask_phone(borrower.phone),
            "email": mask_email(borrower.email),
            "timezone": borrower.timezone,
            "language": borrower.language,
        }
        if borrower
        else None
    )
    view["deliveries"] = [
        {
            "provider": d.provider,
            "provider_id": d.provider_id,
            "status": d.status,
            "sent_at": _iso(d.sent_at),
            "updated_at": _iso(d.updated_at),
            "detail": _masked_detail(entry.channel, d.detail),
        }
        for d in uow.outbox.deliveries_of(outbox_id)
    ]
    view["contact_attempts"] = [
        {
            "id": a["id"],
            "channel": a["channel"],
            "target": mask_target(a["channel"], a["target"]),
            "at": _iso(a["at"]),
            "outcome": a["outcome"],
            "message_type": a["message_type"],
            "provider_id": a["provider_id"],
        }
        for a in uow.outbox.contacts_of(outbox_id)
    ]
    view["agent_tasks"] = [
        {"id": t["id"], "reason": t["reason"], "status": t["status"], "created_at": _iso(t["created_at"])}
        for t in uow.agent_tasks.for_outbox(outbox_id)
    ]
    view["audit"] = _audit(uow, entry)
    return view


def ready_by_channel(uow: UnitOfWork, now: datetime, configured: Collection[str]) -> dict[str, int]:
    """Rows a dispatch at `now` would claim whose channel is not among `configured`, counted by channel
    (pending, or deferred / failed whose next_allowed_at has passed)."""
    return uow.outbox.ready_by_channel(now, configured)


def row_view(entry: OutboxEntry, approval: RecordedApproval | None = None) -> dict[str, Any]:
    """An outbox row as views show it: `day`, `step`, rule ids as a list, instants and dates in ISO 8601,
    provider errors with addresses masked, the approval (or None)."""
    out: dict[str, Any] = {}
    for key in COLUMNS:
        value = getattr(entry, key)
        name = RENAMED.get(key, key)
        if key in LISTS:
            out[name] = [part for part in (value or "").split(",") if part]
        elif key == "last_error":
            out[name] = scrub(value)
        elif isinstance(value, date | datetime):
            out[name] = value.isoformat()
        else:
            out[name] = value
    out["approval"] = (
        {
            "approved_by": approval.approval.approved_by,
            "ref": approval.approval.ref,
            "law_firm": approval.law_firm,
            "at": _iso(approval.approval.approved_at),
        }
        if approval is not None
        else None
    )
    return out


def scrub(text: str | None) -> str | None:
    """Free text (a provider's error) with phone numbers and e-mail addresses masked."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)) or "", text)
    return _PHONE_RUN.sub(lambda m: mask_phone(m.group(0)) or "", text)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _masked_detail(channel: str, detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if detail is None:
        return None
    out = dict(detail)
    for key in ("to", "target"):
        if out.get(key):
            out[key] = mask_target(channel, str(out[key]))
    return out


def _audit(uow: UnitOfWork, entry: OutboxEntry) -> list[dict[str, Any]]:
    """Audit entries about the row: its own (outbox:ID), the contacts it made, and the daily run's
    block of it (same run, channel and template)."""
    about = [
        *uow.audit.entries(subject=f"outbox:{entry.id}"),
        *uow.audit.entries(subject=f"loan:{entry.loan_id}"),
    ]
    out = []
    for r in sorted(about, key=lambda r: r.seq):
        detail = r.detail if isinstance(r.detail, dict) else {}
        ours = (
            r.subject == f"outbox:{entry.id}"
            or detail.get("outbox_id") == entry.id
            or (
                detail.get("run_id") == entry.run_id
                and detail.get("channel") == entry.channel
                and detail.get("template") == entry.template
            )
        )
        if not ours:
            continue
        shown = dict(detail)
        if shown.get("target"):
            shown["target"] = mask_target(str(shown.get("channel") or entry.channel), str(shown["target"]))
        out.append(
            {
                "seq": r.seq,
                "at": _iso(r.at),
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "detail": shown,
            }
        )
    return out
