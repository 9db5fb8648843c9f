"""Repayment plans: eligibility, approval per role, the schedule rewrite (a new schedule version, the old
one kept), the hardship pause while a plan runs, completion and breaking (revert per policy).

Schedule versions: version 1 is the loan's original schedule (from the start); a plan adds a version that
takes effect on its start date. The instalments table always holds the newest version; `loan_as_of` gives
the loan with the schedule that was in force on a date, so positions before a plan are unchanged.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from arrears.adapters.store.casework_models import PlanRow, ScheduleVersionRow
from arrears.adapters.store.models import InstalmentRow
from arrears.adapters.store.records import AccountEvent, Posting
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position, waivable_late_fee
from arrears.domain.loans import Instalment, Loan, Pause, Waiver
from arrears.domain.plans import PlanRules, PlanTerms, first_missed, rewrite
from arrears.services import audit
from arrears.services.promises import cancel_unsent
from arrears.services.unit_of_work import UnitOfWork


class ApprovalDenied(InputError):
    """The caller may not approve this plan (over their limit, or their own request)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _dump(instalments: tuple[Instalment, ...]) -> list[dict[str, Any]]:
    return [
        {
            "seq": i.seq,
            "due": i.due.isoformat(),
            "principal": i.principal,
            "interest": i.interest,
            "fees": i.fees,
        }
        for i in instalments
    ]


def _load(rows: list[dict[str, Any]]) -> tuple[Instalment, ...]:
    return tuple(
        Instalment(r["seq"], date.fromisoformat(r["due"]), r["principal"], r["interest"], r["fees"])
        for r in rows
    )


def versions(uow: UnitOfWork, loan_id: str) -> list[dict[str, Any]]:
    """Every stored schedule version of a loan, oldest first."""
    rows = uow.connection.execute(
        select(ScheduleVersionRow)
        .where(ScheduleVersionRow.loan_id == loan_id)
        .order_by(ScheduleVersionRow.version)
    ).mappings()
    return [dict(r) for r in rows]


def loan_as_of(uow: UnitOfWork, loan_id: str, as_of: date) -> Loan:
    """The loan with the schedule in force on `as_of` (the newest schedule when no plan changed it)."""
    loan = uow.loans.get(loan_id)
    in_force = None
    for v in versions(uow, loan_id):
        if v["effective_from"] is None or v["effective_from"] <= as_of:
            in_force = v
    if in_force is None or in_force["version"] == max(v["version"] for v in versions(uow, loan_id)):
        return loan
    return dataclasses.replace(loan, instalments=_load(in_force["instalments"]))


def replace_schedule(
    uow: UnitOfWork,
    loan_id: str,
    instalments: tuple[Instalment, ...],
    effective_from: date,
    reason: str,
    plan_id: int | None,
) -> int:
    """Store a new schedule version and make it the loan's schedule, with balancing postings; its number."""
    c = uow.connection
    old = uow.loans.get(loan_id).instalments
    number = int(
        c.scalar(select(func.max(ScheduleVersionRow.version)).where(ScheduleVersionRow.loan_id == loan_id))
        or 0
    )
    at = _now()
    if number == 0:
        c.execute(
            insert(ScheduleVersionRow).values(
                loan_id=loan_id,
                version=1,
                effective_from=None,
                instalments=_dump(old),
                reason="original schedule",
                plan_id=None,
                created_at=at,
            )
        )
        number = 1
    number += 1
    c.execute(
        insert(ScheduleVersionRow).values(
            loan_id=loan_id,
            version=number,
            effective_from=effective_from,
            instalments=_dump(instalments),
            reason=reason,
            plan_id=plan_id,
            created_at=at,
        )
    )
    c.execute(delete(InstalmentRow).where(InstalmentRow.loan_id == loan_id))
    c.execute(
        insert(InstalmentRow),
        [
            {
                "loan_id": loan_id,
                "seq": i.seq,
                "due_date": i.due,
                "principal": i.principal,
                "interest": i.interest,
                "fees": i.fees,
            }
            for i in instalments
        ],
    )
    # Postings stay append-only: the old schedule comes off and the new one goes on, per component.
    for component in ("principal", "interest", "fees"):
        before = sum(getattr(i, component) for i in old)
        after = sum(getattr(i, component) for i in instalments)
        ref = f"schedule:v{number}"
        if before:
            uow.postings.add(Posting(loan_id, effective_from, "schedule", component, -before, ref), at)
        if after:
            uow.postings.add(Posting(loan_id, effective_from, "schedule", component, after, ref), at)
    return number


def plan_view(uow: UnitOfWork, plan_id: int) -> dict[str, Any]:
    row = uow.connection.execute(select(PlanRow).where(PlanRow.id == plan_id)).mappings().first()
    if row is None:
        raise NotFound(f"unknown plan {plan_id}")
    return dict(row)


def _terms_json(terms: PlanTerms) -> dict[str, Any]:
    return {
        "kind": terms.kind,
        "start_on": terms.start_on.isoformat(),
        "days": terms.days,
        "count": terms.count,
        "first_due": terms.first_due.isoformat() if terms.first_due else None,
        "discount_pct": str(terms.discount_pct),
        "waive_amount": terms.waive_amount,
    }


def _terms(raw: dict[str, Any]) -> PlanTerms:
    return PlanTerms(
        raw["kind"],
        date.fromisoformat(raw["start_on"]),
        raw["days"],
        raw["count"],
        date.fromisoformat(raw["first_due"]) if raw["first_due"] else None,
        Decimal(raw["discount_pct"]),
        raw["waive_amount"],
    )


def propose_plan(
    uow: UnitOfWork, loan_id: str, terms: PlanTerms, rules: PlanRules, actor: str, role: str
) -> dict[str, Any]:
    """Check eligibility and record the plan; activated at once when within the caller's limit."""
    loan = uow.loans.get(loan_id)
    position = compute_position(loan, terms.start_on)
    active = int(
        uow.connection.scalar(
            select(func.count())
            .select_from(PlanRow)
            .where(PlanRow.loan_id == loan_id, PlanRow.status.in_(("active", "awaiting_approval")))
        )
        or 0
    )
    rules.check_eligible(terms, position, active)
    change = rewrite(terms, position)
    plan_id = int(
        uow.connection.execute(
            insert(PlanRow)
            .values(
                loan_id=loan_id,
                kind=terms.kind,
                status="awaiting_approval",
                terms=_terms_json(terms),
                concession=change.concession,
                start_on=terms.start_on,
                ends_on=change.ends_on,
                plan_seqs=list(change.plan_seqs),
                requested_by=actor,
                created_at=_now(),
                updated_at=_now(),
            )
            .returning(PlanRow.id)
        ).scalar_one()
    )
    audit.append(uow, actor, "plan.propose", f"loan:{loan_id}", {"plan_id": plan_id, **_terms_json(terms)})
    # A waiver needs a second person (four eyes); anything else within the caller's limit starts now.
    if terms.kind != "fee_waiver" and rules.within_limit(role, terms, change.concession):
        return _activate(uow, plan_id, actor)
    return plan_view(uow, plan_id)


def approve_plan(uow: UnitOfWork, plan_id: int, rules: PlanRules, actor: str, role: str) -> dict[str, Any]:
    """A second user approves a plan that waits for approval (within their own limit)."""
    plan = plan_view(uow, plan_id)
    if plan["status"] != "awaiting_approval":
        raise InputError(f"plan {plan_id} is {plan['status']}, not awaiting approval", field="status")
    if plan["requested_by"] == actor:
        raise ApprovalDenied("a plan cannot be approved by the user who asked for it", field="approved_by")
    if not rules.within_limit(role, _terms(plan["terms"]), plan["concession"]):
        raise ApprovalDenied(f"the plan is above the approval limit of role {role}", field="concession")
    return _activate(uow, plan_id, actor)


def _activate(uow: UnitOfWork, plan_id: int, approver: str) -> dict[str, Any]:
    plan = plan_view(uow, plan_id)
    terms = _terms(plan["terms"])
    loan_id = plan["loan_id"]
    loan = uow.loans.get(loan_id)
    position = compute_position(loan, terms.start_on)
    change = rewrite(terms, position)
    values: dict[str, Any] = {"status": "active", "approved_by": approver, "updated_at": _now()}
    if change.instalments is None:  # a late-fee waiver: four eyes, on the ledger
        # The ledger applies a day's waivers before its payments and before grace ends at the end of the
        # day: on the last grace day no late fee is charged yet, and a waiver then would be refused.
        if change.concession > waivable_late_fee(loan, terms.start_on):
            raise InputError(
                f"on {terms.start_on} there is not that much unpaid late fee to waive yet (inside the grace"
                " period?): start the waiver a day later",
                field="start_on",
            )
        uow.loans.add_waiver(
            loan_id,
            Waiver(terms.start_on, change.concession, plan["requested_by"], approver, f"plan {plan_id}"),
        )
        values["status"] = "completed"
    else:
        from_version = len(versions(uow, loan_id)) or 1
        values["from_version"] = from_version
        values["to_version"] = replace_schedule(
            uow, loan_id, change.instalments, terms.start_on, f"plan {plan_id} ({terms.kind})", plan_id
        )
        values["pause_id"] = uow.loans.add_pause(
            loan_id, Pause(terms.start_on, change.ends_on, "hardship_plan")
        )
        uow.events.add(
            AccountEvent(
                f"plan:{plan_id}:hardship",
                loan_id,
                "hardship_flag",
                terms.start_on,
                detail={"plan_id": plan_id},
            )
        )
        cancel_unsent(uow, loan_id, f"plan {plan_id} active")
    uow.connection.execute(update(PlanRow).where(PlanRow.id == plan_id).values(**values))
    audit.append(
        uow,
        approver,
        "plan.activate",
        f"loan:{loan_id}",
        {"plan_id": plan_id, "concession": change.concession, "to_version": values.get("to_version")},
    )
    return plan_view(uow, plan_id)


def review_plans(
    uow: UnitOfWork, as_of: date, rules: PlanRules, actor: str, loan_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Complete the active plans that are paid and break the ones missed; the plans that changed."""
    q = select(PlanRow.id, PlanRow.loan_id, PlanRow.plan_seqs).where(PlanRow.status == "active")
    if loan_ids is not None:
        q = q.where(PlanRow.loan_id.in_(loan_ids))
    changed = []
    for plan_id, loan_id, seqs in uow.connection.execute(q).all():
        position = compute_position(uow.loans.get(loan_id), as_of)
        plan_seqs = tuple(seqs or ())
        if all(i.outstanding.total == 0 for i in position.instalments if i.seq in plan_seqs):
            _close(uow, plan_id, "completed", as_of)
            changed.append(plan_view(uow, plan_id))
        elif (missed := first_missed(plan_seqs, position, rules.break_tolerance_days)) is not None:
            changed.append(break_plan(uow, plan_id, as_of, rules, actor, missed_seq=missed))
    return changed


def _close(uow: UnitOfWork, plan_id: int, status: str, on: date) -> None:
    plan = plan_view(uow, plan_id)
    if plan["pause_id"] is not None:
        uow.loans.end_pause(plan["pause_id"], on - timedelta(days=1) if status == "broken" else on)
    uow.connection.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id)
        .values(status=status, updated_at=_now(), broken_on=on if status == "broken" else None)
    )


def break_plan(
    uow: UnitOfWork, plan_id: int, on: date, rules: PlanRules, actor: str, *, missed_seq: int | None = None
) -> dict[str, Any]:
    """A missed plan: the pause ends, and per policy the schedule before the plan comes back (revert)."""
    plan = plan_view(uow, plan_id)
    if plan["status"] != "active":
        raise InputError(f"plan {plan_id} is {plan['status']}, not active", field="status")
    loan_id = plan["loan_id"]
    _close(uow, plan_id, "broken", on)
    if rules.on_break == "revert" and plan["from_version"] is not None:
        before = next(v for v in versions(uow, loan_id) if v["version"] == plan["from_version"])
        replace_schedule(
            uow, loan_id, _load(before["instalments"]), on, f"plan {plan_id} broken: revert", plan_id
        )
    audit.append(
        uow,
        actor,
        "plan.break",
        f"loan:{loan_id}",
        {"plan_id": plan_id, "missed_seq": missed_seq, "on_break": rules.on_break},
    )
    return plan_view(uow, plan_id)


def plans_of(uow: UnitOfWork, loan_ids: list[str]) -> list[dict[str, Any]]:
    rows = uow.connection.execute(
        select(PlanRow).where(PlanRow.loan_id.in_(loan_ids)).order_by(PlanRow.id)
    ).mappings()
    return [dict(r) for r in rows]
