"""What comes back after a send: delivery receipts, IVR call outcomes, inbound SMS replies; and approvals.

Service functions the HTTP API calls with one record each, and the CLI with a file of them:

- `record_delivery(uow, {"provider_id" | "idempotency_key", "status", "at"?})`: the provider's receipt
  updates the delivery and the contact attempt's outcome (what the compliance caps count). An IVR outcome
  of `pressed_1` ("press 1 for an agent") also opens an agent call task.
- `record_reply(uow, {"from", "text", "at"?, "channel"?})`: 退订 / TD / T / STOP / UNSUBSCRIBE opt the
  borrower out of that channel (the dispatcher's compliance check reads opt_outs); PLAN / 分期 / 还款计划
  records a `plan_request` event on each of the borrower's loans.
- `approve(uow, outbox_id, by, ref, law_firm)`: the legal review of an awaiting_approval row.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arrears.domain.activity import RecordedApproval
from arrears.domain.compliance.document import parse_instant
from arrears.domain.compliance.model import Approval
from arrears.domain.errors import InputError, NotFound
from arrears.domain.outbox import OUTCOME_FOR_STATUS
from arrears.domain.records import AccountEvent
from arrears.services import borrower_facts
from arrears.services.cases import loans_of
from arrears.services.unit_of_work import UnitOfWork

# Receipt status -> the contact attempt's outcome: the outbox's one table (the API's name for it).
RECEIPT_OUTCOMES = OUTCOME_FOR_STATUS
OPT_OUT_WORDS = frozenset({"退订", "TD", "T", "STOP", "UNSUBSCRIBE", "取消订阅"})
PLAN_WORDS = frozenset({"PLAN", "分期", "还款计划"})


def _now(record: dict[str, Any], where: str) -> datetime:
    raw = record.get("at")
    return parse_instant(raw, f"{where}.at") if raw not in (None, "") else datetime.now(UTC)


def record_delivery(uow: UnitOfWork, record: dict[str, Any], where: str = "receipt") -> str:
    """Apply one delivery receipt; returns the new status. Unknown message: NotFound."""
    status = str(record.get("status") or "").strip().lower()
    if status not in RECEIPT_OUTCOMES:
        known = ", ".join(sorted(RECEIPT_OUTCOMES))
        raise InputError(f"unknown status {status!r} (known: {known})", field=f"{where}.status")
    at = _now(record, where)
    key, provider_id = record.get("idempotency_key"), record.get("provider_id")
    if not key and not provider_id:
        raise InputError("needs provider_id or idempotency_key", field=f"{where}.provider_id")
    delivery = (
        uow.outbox.delivery(idempotency_key=str(key))
        if key
        else uow.outbox.delivery(provider_id=str(provider_id))
    )
    if delivery is None:
        raise NotFound(f"no message sent with id {key or provider_id!r}")
    detail = dict(delivery.detail or {})
    detail.setdefault("receipts", []).append({"status": status, "at": at.isoformat()})
    uow.outbox.record_receipt(delivery.outbox_id, status, RECEIPT_OUTCOMES[status], at, detail)
    if status == "pressed_1":
        entry = uow.outbox.get(delivery.outbox_id)
        if entry is None:
            raise NotFound(f"no outbox row {delivery.outbox_id}")
        uow.agent_tasks.enqueue(
            f"{entry.idempotency_key}:pressed_1",
            entry.loan_id,
            entry.borrower_id,
            "ivr_pressed_1",
            outbox_id=delivery.outbox_id,
        )
    return status


def _keyword(text: str) -> str:
    """The reply reduced to its keyword: full-width to ASCII, no spaces or punctuation, upper case."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass
class ReplyResult:
    borrower_id: str | None
    action: str  # opt_out | plan_request | none | unknown_sender
    loans: list[str] = field(default_factory=list)


def record_reply(uow: UnitOfWork, record: dict[str, Any], where: str = "reply") -> ReplyResult:
    """Apply one inbound reply: opt-out, plan request, or nothing."""
    sender = str(record.get("from") or "").strip()
    if not sender:
        raise InputError("needs the sender's number", field=f"{where}.from")
    text = str(record.get("text") or "")
    channel = str(record.get("channel") or "sms")
    at = _now(record, where)
    digits = sender.removeprefix("+").removeprefix("86") if len(sender) > 11 else sender
    senders = {b for number in {sender, digits} for b in uow.personal_data.find("phone", number)}
    borrower_id = min(senders, default=None)  # the lowest id when several share the number
    if borrower_id is None:
        return ReplyResult(None, "unknown_sender")
    word = _keyword(text)
    if word in OPT_OUT_WORDS:
        borrower_facts.set_flag(
            uow,
            borrower_id,
            "opt_out",
            channel=channel,
            by="borrower",
            reason=f"reply: {text.strip()[:40]}",
            source="reply",
            effective_at=at,
        )
        return ReplyResult(borrower_id, "opt_out")
    if word in PLAN_WORDS:
        loans = loans_of(uow, borrower_id)
        digest = hashlib.sha256(f"{sender}|{at.isoformat()}|{text}".encode()).hexdigest()[:16]
        for loan_id in loans:
            uow.events.add(
                AccountEvent(
                    f"reply-{digest}-{loan_id}"[:64],
                    loan_id,
                    "plan_request",
                    at.astimezone(UTC).date(),
                    at,
                    {"channel": channel, "text": text.strip()[:200]},
                )
            )
        return ReplyResult(borrower_id, "plan_request", loans)
    return ReplyResult(borrower_id, "none")


def approve(
    uow: UnitOfWork, outbox_id: int, by: str, ref: str, law_firm: str, at: datetime | None = None
) -> None:
    """Record the legal review of an awaiting_approval row and make it pending (dispatch will send it)."""
    if not by.strip():
        raise InputError("the approver's name is required", field="--by")
    if not ref.strip():
        raise InputError("the approval reference is required", field="--ref")
    entry = uow.outbox.get(outbox_id)
    if entry is None:
        raise NotFound(f"no outbox row {outbox_id}")
    if entry.status != "awaiting_approval":
        raise InputError(f"outbox row {outbox_id} is {entry.status}, not awaiting_approval", field="ID")
    when = at or datetime.now(UTC)
    # A legal step's validity runs from its approval (the review dates the letter), not from the plan day.
    expires = when + timedelta(days=entry.valid_days) if entry.valid_days is not None else None
    uow.outbox.approve(
        RecordedApproval(outbox_id, Approval(ref.strip(), by.strip(), when), law_firm), expires
    )


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Records from a CSV file (header row) or a JSON file (a list, or {"records": [...]})."""
    file = Path(path)
    if not file.exists():
        raise InputError("file not found", file=str(file))
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", file=str(file), line=exc.lineno) from None
        if isinstance(data, dict):
            data = data.get("records")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError('expected a list of objects (or {"records": [...]})', file=str(file))
        return data
    return [dict(row) for row in csv.DictReader(text.splitlines())]
