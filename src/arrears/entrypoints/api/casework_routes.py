"""Cases, promises, plans, disputes and complaints, agencies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from arrears.domain.money import parse_amount
from arrears.domain.plans import PlanTerms
from arrears.entrypoints.api import jobs
from arrears.entrypoints.api.ledger_routes import money
from arrears.entrypoints.api.limits import AsOf, Limit, Offset, RequiredAsOf, heavy, page
from arrears.entrypoints.api.schemas import (
    ActivityIn,
    AgencyIn,
    AssignIn,
    DisputeIn,
    NoteIn,
    PlacementIn,
    PlanIn,
    PromiseIn,
    ResolveIn,
    RowId,
)
from arrears.entrypoints.api.security import Caller, Config, RawBody, Uow, check_loan_scope, roles
from arrears.services import agencies, cases, disputes, plans, promises
from arrears.services.auth import Principal

router = APIRouter()
CASE_ROLES = ("admin", "agent", "supervisor", "compliance")


def _today() -> date:
    return datetime.now(UTC).date()


def _currency(uow: Uow, loan_id: str) -> str:
    return uow.loans.record(loan_id).loan.currency


# ------------------------------------------------------------------------------------------------ cases


@router.post("/cases/refresh", status_code=202, tags=["cases", "jobs"])
def refresh_cases(
    request: Request,
    response: Response,
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "supervisor"))],
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Open, update and close cases from the ledger as of a date: a background job (202, Location:
    /jobs/{id}; its result is `{open_cases}`); 409 while one is queued or running."""
    params = {"as_of": (as_of or _today()).isoformat()}
    return jobs.submit(request, response, uow, "case_refresh", params, who)


@router.get("/cases/queue", tags=["cases"], dependencies=[Depends(heavy)])
def my_queue(
    uow: Uow,
    who: Annotated[Principal, Depends(roles("agent", "supervisor"))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The caller's work queue: own and unassigned cases they have the skills for, best first."""
    return [money(c) for c in cases.queue(uow, who.name, who.skills, _today(), limit, offset=offset)]


@router.get("/cases/{case_id}", tags=["cases"])
def get_case(
    case_id: RowId, uow: Uow, who: Annotated[Principal, Depends(roles(*CASE_ROLES))]
) -> dict[str, Any]:
    view = cases.case_view(uow, case_id)
    if who.role == "agent" and view["assigned_to"] not in (None, who.name):
        raise HTTPException(404, f"unknown case {case_id}")
    return {**money(view), "notes": cases.notes(uow, case_id)}


@router.post("/cases/{case_id}/assign", tags=["cases"])
def assign_case(
    case_id: RowId, body: AssignIn, uow: Uow, who: Annotated[Principal, Depends(roles("admin", "supervisor"))]
) -> dict[str, Any]:
    """Assign or reassign a case (agent null: back to the pool)."""
    out = cases.assign(uow, case_id, body.agent, who.actor)
    uow.commit()
    return money(out)


@router.post("/cases/{case_id}/notes", status_code=201, tags=["cases"])
def add_note(
    case_id: RowId, body: NoteIn, uow: Uow, who: Annotated[Principal, Depends(roles("agent", "supervisor"))]
) -> dict[str, Any]:
    """Record a contact: outcome code, note, next-action date."""
    view = cases.case_view(uow, case_id)
    if who.role == "agent" and view["assigned_to"] not in (None, who.name):
        raise HTTPException(404, f"unknown case {case_id}")
    out = cases.add_note(
        uow,
        case_id,
        who.name,
        body.note,
        outcome=body.outcome,
        channel=body.channel,
        next_action_on=body.next_action_on,
    )
    uow.commit()
    return money(out)


# --------------------------------------------------------------------------------------------- promises


@router.post("/promises", status_code=201, tags=["promises"])
def make_promise(
    body: PromiseIn,
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "agent", "supervisor", "agency", "borrower"))],
) -> dict[str, Any]:
    """A promise to pay; the loan's unsent collection actions are suspended while it is pending."""
    check_loan_scope(uow, who, body.loan_id)
    cur = _currency(uow, body.loan_id)
    out = promises.make_promise(
        uow,
        body.loan_id,
        parse_amount(body.amount, cur, field="amount"),
        body.due_on,
        body.made_on,
        who.actor,
    )
    uow.commit()
    return money(out, cur)


@router.post("/promises/settle", tags=["promises"], dependencies=[Depends(heavy)])
def settle_promises(
    uow: Uow,
    cfg: Config,
    who: Annotated[Principal, Depends(roles("admin", "supervisor"))],
    as_of: RequiredAsOf,
) -> list[dict[str, Any]]:
    """Decide every pending promise as of a date (kept / broken); the ones that changed."""
    out = promises.settle_promises(uow, as_of, cfg.promise_tolerance)
    for p in out:
        borrower = uow.loans.record(p["loan_id"]).borrower_id
        cases.refresh_case(uow, borrower, as_of, cfg.recovery)
    uow.commit()
    return [money(p) for p in out]


# ------------------------------------------------------------------------------------------------ plans


@router.post("/plans", status_code=201, tags=["plans"])
def propose_plan(
    body: PlanIn,
    uow: Uow,
    cfg: Config,
    who: Annotated[Principal, Depends(roles("admin", "agent", "supervisor"))],
) -> dict[str, Any]:
    """Propose a plan; within the caller's approval limit it starts at once, otherwise it waits."""
    cur = _currency(uow, body.loan_id)
    terms = PlanTerms(
        body.kind,
        body.start_on,
        body.days,
        body.count,
        body.first_due,
        Decimal(body.discount_pct),
        parse_amount(body.waive_amount, cur, field="waive_amount"),
    )
    out = plans.propose_plan(uow, body.loan_id, terms, cfg.plans, who.actor, who.role)
    uow.commit()
    return money(out, cur)


@router.post("/plans/{plan_id}/approve", tags=["plans"])
def approve_plan(
    plan_id: RowId, uow: Uow, cfg: Config, who: Annotated[Principal, Depends(roles("admin", "supervisor"))]
) -> dict[str, Any]:
    out = plans.approve_plan(uow, plan_id, cfg.plans, who.actor, who.role)
    uow.commit()
    return money(out)


@router.post("/plans/review", tags=["plans"], dependencies=[Depends(heavy)])
def review_plans(
    uow: Uow,
    cfg: Config,
    who: Annotated[Principal, Depends(roles("admin", "supervisor"))],
    as_of: RequiredAsOf,
) -> list[dict[str, Any]]:
    """Complete the paid plans and break the missed ones (reverting per policy) as of a date."""
    out = plans.review_plans(uow, as_of, cfg.plans, who.actor)
    uow.commit()
    return [money(p) for p in out]


@router.get("/loans/{loan_id}/schedules", tags=["plans"])
def schedule_versions(
    loan_id: str, uow: Uow, who: Caller, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    """Every schedule version of the loan (the original is version 1)."""
    check_loan_scope(uow, who, loan_id)
    return page(plans.versions(uow, loan_id), limit, offset)


# ------------------------------------------------------------------------------------ disputes, complaints


def _open(kind: str, body: DisputeIn, uow: Uow, cfg: Config, who: Principal) -> dict[str, Any]:
    check_loan_scope(uow, who, body.loan_id)
    agency = (
        who.agency_id if who.role == "agency" else agencies.placement_of(uow, body.loan_id, body.opened_on)
    )
    out = disputes.open_dispute(
        uow,
        body.loan_id,
        kind,
        body.category,
        body.description,
        body.opened_on,
        cfg.sla,
        who.actor,
        channel=body.channel,
        agent=body.agent,
        agency_id=agency,
    )
    uow.commit()
    return out


OPENERS = ("admin", "agent", "supervisor", "compliance", "agency", "borrower")


@router.post("/disputes", status_code=201, tags=["disputes"])
def open_dispute(
    body: DisputeIn, uow: Uow, cfg: Config, who: Annotated[Principal, Depends(roles(*OPENERS))]
) -> dict[str, Any]:
    """Dispute the debt (wrong_amount, not_my_debt, identity_theft, already_paid): collection pauses."""
    return _open("dispute", body, uow, cfg, who)


@router.post("/complaints", status_code=201, tags=["disputes"])
def open_complaint(
    body: DisputeIn, uow: Uow, cfg: Config, who: Annotated[Principal, Depends(roles(*OPENERS))]
) -> dict[str, Any]:
    """Complain about how we collected (harassment, privacy, service)."""
    return _open("complaint", body, uow, cfg, who)


@router.get("/disputes", tags=["disputes"], dependencies=[Depends(heavy)])
def list_disputes(
    uow: Uow,
    who: Caller,
    kind: Annotated[str | None, Query(pattern="^(dispute|complaint)$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Disputes and complaints (oldest first): all for compliance / supervisors / admins, own ones for a
    borrower."""
    loan_ids = None
    if who.role == "borrower":
        loan_ids = cases.loans_of(uow, who.borrower_id or "")
    elif who.role not in ("admin", "supervisor", "compliance"):
        raise HTTPException(403, f"role {who.role} may not list disputes")
    return disputes.list_disputes(uow, loan_ids=loan_ids, kind=kind, limit=limit, offset=offset)


@router.get("/disputes/{dispute_id}", tags=["disputes"])
def get_dispute(dispute_id: RowId, uow: Uow, who: Caller) -> dict[str, Any]:
    view = disputes.dispute_view(uow, dispute_id)
    if who.role not in ("admin", "supervisor", "compliance"):
        check_loan_scope(uow, who, view["loan_id"])
    return view


@router.post("/disputes/{dispute_id}/acknowledge", tags=["disputes"])
def acknowledge(
    dispute_id: RowId,
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "supervisor", "compliance"))],
) -> dict[str, Any]:
    out = disputes.acknowledge(uow, dispute_id, who.actor)
    uow.commit()
    return out


@router.post("/disputes/{dispute_id}/resolve", tags=["disputes"])
def resolve(
    dispute_id: RowId,
    body: ResolveIn,
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "supervisor", "compliance"))],
) -> dict[str, Any]:
    out = disputes.resolve(uow, dispute_id, body.resolution, body.resolved_on, who.actor)
    uow.commit()
    return out


@router.post("/disputes/{dispute_id}/evidence", status_code=201, tags=["disputes"])
def attach_evidence(
    dispute_id: RowId,
    raw: RawBody,
    uow: Uow,
    cfg: Config,
    who: Caller,
    filename: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """Attach a file (the raw request body); stored by its SHA-256 under the data directory."""
    view = disputes.dispute_view(uow, dispute_id)
    if who.role not in ("admin", "supervisor", "compliance", "agent"):
        check_loan_scope(uow, who, view["loan_id"])
    out = disputes.attach_evidence(uow, dispute_id, filename, raw, cfg.data_dir, who.actor)
    uow.commit()
    return out


@router.get("/complaints/rates", tags=["disputes"], dependencies=[Depends(heavy)])
def complaint_rates(
    uow: Uow, who: Annotated[Principal, Depends(roles("admin", "supervisor", "compliance", "strategist"))]
) -> dict[str, Any]:
    """Complaints per 10,000 contacts by channel, agent and agency."""
    return disputes.complaint_rates(uow)


# --------------------------------------------------------------------------------------------- agencies


@router.post("/agencies", status_code=201, tags=["agencies"])
def create_agency(
    body: AgencyIn, uow: Uow, who: Annotated[Principal, Depends(roles("admin"))]
) -> dict[str, Any]:
    out = agencies.create_agency(
        uow,
        body.id,
        body.name,
        body.commission_rate,
        who.actor,
        capacity=body.capacity,
        buckets=",".join(body.buckets),
        placement_days=body.placement_days or agencies.DEFAULT_PLACEMENT_DAYS,
    )
    uow.commit()
    return out


@router.post("/placements", status_code=201, tags=["agencies"])
def place(
    body: PlacementIn, uow: Uow, who: Annotated[Principal, Depends(roles("admin", "supervisor"))]
) -> list[dict[str, Any]]:
    """Place accounts with an agency until the recall date."""
    out = agencies.place(
        uow, body.agency_id, body.loan_ids, body.placed_on, body.recall_on, who.actor, body.commission_rate
    )
    uow.commit()
    return out


@router.post("/placements/{loan_id}/recall", tags=["agencies"])
def recall_placement(
    loan_id: Annotated[str, Path(min_length=1, max_length=64)],
    uow: Uow,
    who: Annotated[Principal, Depends(roles("admin", "supervisor"))],
) -> dict[str, Any]:
    """Take a loan back from its agency before the recall date: the agency no longer sees it (404)."""
    out = agencies.recall(uow, loan_id, who.actor, _today())
    uow.commit()
    return out


@router.post("/agency/activity", status_code=201, tags=["agencies"])
def report_activity(
    body: ActivityIn, uow: Uow, who: Annotated[Principal, Depends(roles("agency"))]
) -> dict[str, Any]:
    """An agency reports what it did on one of its accounts."""
    check_loan_scope(uow, who, body.loan_id)
    out = agencies.report_activity(
        uow, who.agency_id or "", body.loan_id, body.kind, body.outcome, body.note, who.actor
    )
    uow.commit()
    return out
