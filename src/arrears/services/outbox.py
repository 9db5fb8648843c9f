"""The outbox as people see it: rows by status, borrower, loan, day; one row with what became of it.

Reading only, through a unit of work; personal data is masked (names, phones, e-mails, addresses in
provider errors). `arrears outbox list|show` and anything else that shows the outbox call these.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from arrears.adapters.store.dispatch_models import (
    AgentTaskRow,
    ContactAttemptRow,
    DeliveryRow,
    OutboxApprovalRow,
)
from arrears.adapters.store.models import AuditRow, BorrowerRow
from arrears.adapters.store.run_models import OUTBOX_STATUSES, OutboxRow
from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_email, mask_name, mask_phone
from arrears.services.compliance_report import mask_target
from arrears.services.unit_of_work import UnitOfWork

DEFAULT_LIMIT = 100
# Claimable again once next_allowed_at has passed (as services.dispatch.claim reads the outbox).
RETRIED = ("deferred", "failed")
# Columns shown under another name: the contract of `outbox list --json`.
RENAMED = {"as_of": "day", "step_id": "step"}
LISTS = ("rules", "requires")  # comma-separated in the store, lists in views
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
    where = []
    if status is not None:
        where.append(OutboxRow.status == status)
    if borrower_id is not None:
        where.append(OutboxRow.borrower_id == borrower_id)
    if loan_id is not None:
        where.append(OutboxRow.loan_id == loan_id)
    if day is not None:
        where.append(OutboxRow.as_of == day)
    if channel is not None:
        where.append(OutboxRow.channel == channel)
    c = uow.connection
    total = int(c.scalar(select(func.count()).select_from(OutboxRow).where(*where)) or 0)
    rows = c.execute(select(OutboxRow).where(*where).order_by(OutboxRow.id).limit(limit)).mappings().all()
    ids = [r["id"] for r in rows]
    approvals = _approvals(uow, ids)
    names = _borrower_names(uow, {r["borrower_id"] for r in rows})
    out = []
    for r in rows:
        view = row_view(r, approvals.get(r["id"]))
        view["borrower_name"] = names.get(r["borrower_id"])
        out.append(view)
    return out, total


def outbox_detail(uow: UnitOfWork, outbox_id: int) -> dict[str, Any]:
    """One row with its borrower (masked), approval, deliveries, contact attempts, agent tasks and the
    audit entries about it; NotFound for an unknown id."""
    c = uow.connection
    row = c.execute(select(OutboxRow).where(OutboxRow.id == outbox_id)).mappings().first()
    if row is None:
        raise NotFound(f"no outbox row {outbox_id}")
    view = row_view(row, _approvals(uow, [outbox_id]).get(outbox_id))
    borrower = c.execute(select(BorrowerRow).where(BorrowerRow.id == row["borrower_id"])).mappings().first()
    view["borrower_name"] = mask_name(borrower["name"]) if borrower else None
    view["borrower"] = (
        {
            "id": borrower["id"],
            "name": mask_name(borrower["name"]),
            "phone": mask_phone(borrower["phone"]),
            "email": mask_email(borrower["email"]),
            "timezone": borrower["timezone"],
            "language": borrower["language"],
        }
        if borrower
        else None
    )
    deliveries = c.execute(
        select(DeliveryRow).where(DeliveryRow.outbox_id == outbox_id).order_by(DeliveryRow.sent_at)
    ).mappings()
    view["deliveries"] = [
        {
            "provider": d["provider"],
            "provider_id": d["provider_id"],
            "status": d["status"],
            "sent_at": _iso(d["sent_at"]),
            "updated_at": _iso(d["updated_at"]),
            "detail": _masked_detail(row["channel"], d["detail"]),
        }
        for d in deliveries
    ]
    attempts = c.execute(
        select(ContactAttemptRow)
        .where(ContactAttemptRow.outbox_id == outbox_id)
        .order_by(ContactAttemptRow.at, ContactAttemptRow.id)
    ).mappings()
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
        for a in attempts
    ]
    tasks = c.execute(
        select(AgentTaskRow).where(AgentTaskRow.outbox_id == outbox_id).order_by(AgentTaskRow.id)
    ).mappings()
    view["agent_tasks"] = [
        {"id": t["id"], "reason": t["reason"], "status": t["status"], "created_at": _iso(t["created_at"])}
        for t in tasks
    ]
    view["audit"] = _audit(uow, row)
    return view


def ready_by_channel(uow: UnitOfWork, now: datetime, configured: Collection[str]) -> dict[str, int]:
    """Rows a dispatch at `now` would claim whose channel is not among `configured`, counted by channel
    (pending, or deferred / failed whose next_allowed_at has passed)."""
    ready = or_(
        OutboxRow.status == "pending",
        and_(OutboxRow.status.in_(RETRIED), OutboxRow.next_allowed_at <= now),
    )
    query = (
        select(OutboxRow.channel, func.count())
        .where(ready, OutboxRow.channel.not_in(sorted(configured)))
        .group_by(OutboxRow.channel)
        .order_by(OutboxRow.channel)
    )
    return {str(channel): int(n) for channel, n in uow.connection.execute(query).all()}


def row_view(row: Mapping[Any, Any], approval: Mapping[Any, Any] | None = None) -> dict[str, Any]:
    """An outbox row as views show it: `day`, `step`, rule ids as a list, instants and dates in ISO 8601,
    provider errors with addresses masked, the approval (or None)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
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
            "approved_by": approval["approved_by"],
            "ref": approval["ref"],
            "law_firm": approval["law_firm"],
            "at": _iso(approval["at"]),
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


def _approvals(uow: UnitOfWork, ids: list[int]) -> dict[int, Mapping[Any, Any]]:
    if not ids:
        return {}
    rows = uow.connection.execute(
        select(OutboxApprovalRow).where(OutboxApprovalRow.outbox_id.in_(ids))
    ).mappings()
    return {int(r["outbox_id"]): r for r in rows}


def _borrower_names(uow: UnitOfWork, ids: set[str]) -> dict[str, str | None]:
    if not ids:
        return {}
    rows = uow.connection.execute(
        select(BorrowerRow.id, BorrowerRow.name).where(BorrowerRow.id.in_(sorted(ids)))
    ).all()
    return {str(r.id): mask_name(r.name) for r in rows}


def _masked_detail(channel: str, detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if detail is None:
        return None
    out = dict(detail)
    for key in ("to", "target"):
        if out.get(key):
            out[key] = mask_target(channel, str(out[key]))
    return out


def _audit(uow: UnitOfWork, row: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """Audit entries about the row: its own (outbox:ID), the contacts it made, and the daily run's
    block of it (same run, channel and template)."""
    rows = uow.connection.execute(
        select(AuditRow)
        .where(AuditRow.subject.in_([f"outbox:{row['id']}", f"loan:{row['loan_id']}"]))
        .order_by(AuditRow.seq)
    ).mappings()
    out = []
    for r in rows:
        detail = r["detail"] if isinstance(r["detail"], dict) else {}
        ours = (
            r["subject"] == f"outbox:{row['id']}"
            or detail.get("outbox_id") == row["id"]
            or (
                detail.get("run_id") == row["run_id"]
                and detail.get("channel") == row["channel"]
                and detail.get("template") == row["template"]
            )
        )
        if not ours:
            continue
        shown = dict(detail)
        if shown.get("target"):
            shown["target"] = mask_target(str(shown.get("channel") or row["channel"]), str(shown["target"]))
        out.append(
            {
                "seq": r["seq"],
                "at": _iso(r["at"]),
                "actor": r["actor"],
                "action": r["action"],
                "subject": r["subject"],
                "detail": shown,
            }
        )
    return out
