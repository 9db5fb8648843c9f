"""What waits for a supervisor or legal reviewer: lawyer's letters held for legal review (outbox rows
`awaiting_approval`) and plans or waivers over their proposer's limit; approving or rejecting them with a
reference, each decision in the audit log. An approved letter is `pending`: the dispatcher sends it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from arrears.domain.errors import InputError, NotFound
from arrears.domain.messages import RenderedMessage
from arrears.domain.outbox import StatusChange
from arrears.domain.plans import PlanRules
from arrears.services import audit, plans
from arrears.services.dispatch import Dispatcher, message_context
from arrears.services.outbox import row_view
from arrears.services.receipts import approve
from arrears.services.unit_of_work import UnitOfWork

AWAITING = "awaiting_approval"


def waiting(uow: UnitOfWork, limit: int = 100) -> dict[str, list[dict[str, Any]]]:
    """The letters and the plans waiting for a decision, oldest first."""
    entries, _ = uow.outbox.find(status=AWAITING, limit=limit)
    return {
        "letters": [row_view(e) for e in entries],
        "plans": [asdict(p) for p in uow.plans.awaiting_approval(limit)],
    }


def _reference(ref: str) -> str:
    if not ref.strip():
        raise InputError("the approval reference is required", field="ref")
    return ref.strip()


def approve_letter(
    uow: UnitOfWork, outbox_id: int, actor: str, ref: str, law_firm: str, now: datetime
) -> None:
    """Record the legal review and release the letter to dispatch (as `arrears outbox approve`)."""
    approve(uow, outbox_id, actor, _reference(ref), law_firm, now)
    audit.append(
        uow, actor, "outbox.approve", f"outbox:{outbox_id}", {"ref": ref.strip(), "law_firm": law_firm}
    )


def reject_letter(uow: UnitOfWork, outbox_id: int, actor: str, ref: str, now: datetime) -> None:
    """Refuse a letter at review: it is cancelled and never sent."""
    reference = _reference(ref)
    entry = uow.outbox.get(outbox_id)
    if entry is None:
        raise NotFound(f"no outbox row {outbox_id}")
    if entry.status != AWAITING:
        raise InputError(f"outbox row {outbox_id} is {entry.status}, not {AWAITING}", field="ID")
    reason = f"rejected at legal review by {actor} ({reference})"
    uow.outbox.set_statuses(
        [StatusChange(outbox_id, "cancelled", now, entry.attempts, entry.rules or "", None, reason)]
    )
    audit.append(uow, actor, "outbox.reject", f"outbox:{outbox_id}", {"ref": reference})


def decide_plan(
    uow: UnitOfWork, plan_id: int, approved: bool, rules: PlanRules, actor: str, role: str, ref: str
) -> dict[str, Any]:
    """Approve a plan over the proposer's limit (the approver's own limit applies) or reject it."""
    reference = _reference(ref)
    record = uow.plans.get(plan_id)
    if record is None:
        raise NotFound(f"unknown plan {plan_id}")
    if approved:
        out = plans.approve_plan(uow, plan_id, rules, actor, role)
    else:
        if record.status != AWAITING:
            raise InputError(f"plan {plan_id} is {record.status}, not {AWAITING}", field="ID")
        uow.plans.close(plan_id, "rejected")
        out = plans.plan_view(uow, plan_id)
    audit.append(
        uow, actor, "plan.approve" if approved else "plan.reject", f"plan:{plan_id}", {"ref": reference}
    )
    return out


def letter_preview(
    uow: UnitOfWork, d: Dispatcher, outbox_id: int, now: datetime | None = None
) -> RenderedMessage:
    """The letter of an outbox row as the dispatcher would render it now (figures as of today)."""
    entry = uow.outbox.get(outbox_id)
    if entry is None:
        raise NotFound(f"no outbox row {outbox_id}")
    record = uow.loans.record(entry.loan_id)
    borrower = uow.borrowers.get(entry.borrower_id)
    language = (borrower.language if borrower else None) or "zh-CN"
    when = now or datetime.now(UTC)
    context = message_context(d, entry, record, borrower, language, when)
    approval = uow.activity.approvals([outbox_id]).get(outbox_id)
    if approval is not None:
        context["approval_ref"] = approval.approval.ref
        context["law_firm"] = approval.law_firm or context["law_firm"]
    return d.renderer.render(entry.template, language, context, over_limit="flag")
