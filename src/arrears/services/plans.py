"""Repayment plans: eligibility, approval per role, the schedule rewrite (a new schedule version, the old
one kept), the hardship pause while a plan runs, completion and breaking (revert per policy).

Schedule versions: version 1 is the loan's original schedule (from the start); a plan adds a version that
takes effect on its start date. The instalments table always holds the newest version; `loan_as_of` gives
the loan with the schedule that was in force on a date, so positions before a plan are unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from arrears.domain.casework_records import (
    PlanRecord,
    instalments_from_document,
    terms_document,
    terms_from_document,
)
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position, waivable_late_fee
from arrears.domain.loans import Instalment, Loan, Pause, Waiver
from arrears.domain.plan_offers import PORTAL_ROLE, Offer, SelfServeRules, offers, portal_plan_rules
from arrears.domain.plans import PlanRules, PlanTerms, first_missed, rewrite
from arrears.domain.records import AccountEvent, Posting
from arrears.services import audit
from arrears.services.promises import cancel_unsent
from arrears.services.unit_of_work import UnitOfWork


class ApprovalDenied(InputError):
    """The caller may not approve this plan (over their limit, or their own request)."""


def versions(uow: UnitOfWork, loan_id: str) -> list[dict[str, Any]]:
    """Every stored schedule version of a loan, oldest first."""
    return [asdict(v) for v in uow.schedules.versions(loan_id)]


def loan_as_of(uow: UnitOfWork, loan_id: str, as_of: date) -> Loan:
    """The loan with the schedule in force on `as_of` (the newest schedule when no plan changed it)."""
    loan = uow.loans.get(loan_id)
    stored = uow.schedules.versions(loan_id)
    in_force = None
    for v in stored:
        if v.effective_from is None or v.effective_from <= as_of:
            in_force = v
    if in_force is None or in_force.version == max(v.version for v in stored):
        return loan
    return replace(loan, instalments=instalments_from_document(in_force.instalments))


def replace_schedule(
    uow: UnitOfWork,
    loan_id: str,
    instalments: tuple[Instalment, ...],
    effective_from: date,
    reason: str,
    plan_id: int | None,
) -> int:
    """Store a new schedule version and make it the loan's schedule, with balancing postings; its number."""
    old = uow.loans.get(loan_id).instalments
    number = uow.schedules.latest_version(loan_id)
    at = datetime.now(UTC)
    if number == 0:
        uow.schedules.add_version(loan_id, 1, None, old, "original schedule", None, at)
        number = 1
    number += 1
    uow.schedules.add_version(loan_id, number, effective_from, instalments, reason, plan_id, at)
    uow.schedules.replace_instalments(loan_id, instalments)
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
    return asdict(_plan(uow, plan_id))


def _plan(uow: UnitOfWork, plan_id: int) -> PlanRecord:
    record = uow.plans.get(plan_id)
    if record is None:
        raise NotFound(f"unknown plan {plan_id}")
    return record


def propose_plan(
    uow: UnitOfWork, loan_id: str, terms: PlanTerms, rules: PlanRules, actor: str, role: str
) -> dict[str, Any]:
    """Check eligibility and record the plan; activated at once when within the caller's limit."""
    loan = uow.loans.get(loan_id)
    position = compute_position(loan, terms.start_on)
    rules.check_eligible(terms, position, uow.plans.open_count(loan_id))
    change = rewrite(terms, position)
    plan_id = uow.plans.add(loan_id, terms, change, actor)
    audit.append(uow, actor, "plan.propose", f"loan:{loan_id}", {"plan_id": plan_id, **terms_document(terms)})
    # A waiver needs a second person (four eyes); anything else within the caller's limit starts now.
    if terms.kind != "fee_waiver" and rules.within_limit(role, terms, change.concession):
        return _activate(uow, plan_id, actor)
    return plan_view(uow, plan_id)


def approve_plan(uow: UnitOfWork, plan_id: int, rules: PlanRules, actor: str, role: str) -> dict[str, Any]:
    """A second user approves a plan that waits for approval (within their own limit)."""
    plan = _plan(uow, plan_id)
    if plan.status != "awaiting_approval":
        raise InputError(f"plan {plan_id} is {plan.status}, not awaiting approval", field="status")
    if plan.requested_by == actor:
        raise ApprovalDenied("a plan cannot be approved by the user who asked for it", field="approved_by")
    if not rules.within_limit(role, terms_from_document(plan.terms), plan.concession):
        raise ApprovalDenied(f"the plan is above the approval limit of role {role}", field="concession")
    return _activate(uow, plan_id, actor)


def _activate(uow: UnitOfWork, plan_id: int, approver: str) -> dict[str, Any]:
    plan = _plan(uow, plan_id)
    terms = terms_from_document(plan.terms)
    loan_id = plan.loan_id
    loan = uow.loans.get(loan_id)
    position = compute_position(loan, terms.start_on)
    change = rewrite(terms, position)
    to_version: int | None = None
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
            Waiver(terms.start_on, change.concession, plan.requested_by, approver, f"plan {plan_id}"),
        )
        uow.plans.approve(plan_id, approver, "completed")
    else:
        from_version = len(uow.schedules.versions(loan_id)) or 1
        to_version = replace_schedule(
            uow, loan_id, change.instalments, terms.start_on, f"plan {plan_id} ({terms.kind})", plan_id
        )
        pause_id = uow.loans.add_pause(loan_id, Pause(terms.start_on, change.ends_on, "hardship_plan"))
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
        uow.plans.approve(
            plan_id, approver, "active", from_version=from_version, to_version=to_version, pause_id=pause_id
        )
    audit.append(
        uow,
        approver,
        "plan.activate",
        f"loan:{loan_id}",
        {"plan_id": plan_id, "concession": change.concession, "to_version": to_version},
    )
    return plan_view(uow, plan_id)


def review_plans(
    uow: UnitOfWork, as_of: date, rules: PlanRules, actor: str, loan_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Complete the active plans that are paid and break the ones missed; the plans that changed."""
    changed = []
    for plan in uow.plans.active(loan_ids):
        view = review_plan(uow, plan, uow.loans.get(plan.loan_id), as_of, rules, actor)
        if view is not None:
            changed.append(view)
    return changed


def review_plan(
    uow: UnitOfWork, plan: PlanRecord, loan: Loan, as_of: date, rules: PlanRules, actor: str
) -> dict[str, Any] | None:
    """Complete the active plan if its instalments are paid on `loan` as of the date, break it if one is
    missed; the plan as it is then, or None when it goes on."""
    position = compute_position(loan, as_of)
    plan_seqs = tuple(plan.plan_seqs or ())
    if all(i.outstanding.total == 0 for i in position.instalments if i.seq in plan_seqs):
        _close(uow, plan, "completed", as_of)
        return plan_view(uow, plan.id)
    if (missed := first_missed(plan_seqs, position, rules.break_tolerance_days)) is not None:
        return break_plan(uow, plan.id, as_of, rules, actor, missed_seq=missed)
    return None


def _close(uow: UnitOfWork, plan: PlanRecord, status: str, on: date) -> None:
    """Complete or break the plan on `on`: its hardship pause ends (the day before, when broken)."""
    if plan.pause_id is not None:
        uow.loans.end_pause(plan.pause_id, on - timedelta(days=1) if status == "broken" else on)
    uow.plans.close(plan.id, status, broken_on=on if status == "broken" else None)


def break_plan(
    uow: UnitOfWork, plan_id: int, on: date, rules: PlanRules, actor: str, *, missed_seq: int | None = None
) -> dict[str, Any]:
    """A missed plan: the pause ends, and per policy the schedule before the plan comes back (revert)."""
    plan = _plan(uow, plan_id)
    if plan.status != "active":
        raise InputError(f"plan {plan_id} is {plan.status}, not active", field="status")
    loan_id = plan.loan_id
    _close(uow, plan, "broken", on)
    if rules.on_break == "revert" and plan.from_version is not None:
        before = next(v for v in uow.schedules.versions(loan_id) if v.version == plan.from_version)
        replace_schedule(
            uow,
            loan_id,
            instalments_from_document(before.instalments),
            on,
            f"plan {plan_id} broken: revert",
            plan_id,
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
    """The loans' plans, oldest first."""
    return [asdict(p) for p in uow.plans.of_loans(loan_ids)]


def self_serve_offers(
    uow: UnitOfWork, loan_id: str, today: date, rules: PlanRules, offered: SelfServeRules | None = None
) -> list[Offer]:
    """The plans the borrower may choose in the portal today (domain/plan_offers.py)."""
    position = compute_position(uow.loans.get(loan_id), today)
    return offers(position, rules, uow.plans.open_count(loan_id), offered)


def accept_offer(
    uow: UnitOfWork,
    loan_id: str,
    offer_id: str,
    today: date,
    rules: PlanRules,
    actor: str,
    offered: SelfServeRules | None = None,
) -> dict[str, Any]:
    """The borrower accepts an offer: proposed as the role `portal`, active at once within the portal's limit,
    otherwise awaiting a supervisor's approval (the console's queue)."""
    available = {o.id: o for o in self_serve_offers(uow, loan_id, today, rules, offered)}
    chosen = available.get(offer_id)
    if chosen is None:
        raise InputError("this offer is not available", field="offer")
    return propose_plan(uow, loan_id, chosen.terms, portal_plan_rules(rules, offered), actor, PORTAL_ROLE)
