"""The agent desk (`/desk`) and the account page (`/accounts/{loan_id}`): the ledger as `arrears account
show` has it, contact history, promises, plans, disputes, notes, "may I call now?", and the forms that
record a call, propose a plan and open a dispute or complaint. Revealing personal data is audited."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from arrears.domain.cases import OUTCOME_CODES
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.decision import ComplianceDecision
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.disputes import CATEGORIES
from arrears.domain.errors import ArrearsError, InputError, NotFound
from arrears.domain.money import parse_amount
from arrears.domain.plans import PLAN_KINDS, PlanTerms
from arrears.domain.staff import MAY_REVEAL
from arrears.entrypoints.web.rendering import render
from arrears.entrypoints.web.session import PageError, Viewer, page
from arrears.services import desk, disputes, plans, visits
from arrears.services.cases import CaseworkConfig

router = APIRouter()
Desk = Annotated[Viewer, Depends(page("desk"))]
Account = Annotated[Viewer, Depends(page("accounts"))]
PROFILE_ENV = "ARREARS_CONSOLE_PROFILE"


def profile_of(request: Request) -> ComplianceProfile:
    """The compliance profile calls are judged on (ARREARS_CONSOLE_PROFILE, default cn), loaded once."""
    found: ComplianceProfile | None = getattr(request.app.state, "console_profile", None)
    if found is None:
        from arrears.adapters.profile_file import load_profile

        found = load_profile(os.environ.get(PROFILE_ENV, "cn"))
        request.app.state.console_profile = found
    return found


def config_of(request: Request) -> CaseworkConfig:
    cfg: CaseworkConfig = request.app.state.config
    return cfg


def _as_of(request: Request, who: Viewer) -> date:
    raw = request.query_params.get("as_of")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise PageError(400, f"as_of: {who.gettext('not a date (YYYY-MM-DD)')}") from None
    return who.now.astimezone(zone("Asia/Shanghai")).date()


@router.get("/desk")
def desk_page(request: Request, who: Desk) -> Response:
    today = _as_of(request, who)
    rows = desk.my_queue(who.uow, who.principal, today)
    # the field teams' open visits (addresses masked); an agency's staff see only their own accounts
    field = visits.queue(who.uow) if who.principal.agency_id is None else []
    return render(request, "desk.html", who=who, rows=rows, today=today, visits=field)


def decision_view(decision: ComplianceDecision, who: Viewer, tz_name: str | None) -> dict[str, Any]:
    """The compliance panel: the verdict, until when (the borrower's local time) and the rules' reasons."""
    local = zone(tz_name or decision.timezones[0])
    until = decision.next_allowed_at.astimezone(local) if decision.next_allowed_at else None
    return {
        "decision": decision.decision,
        "rules": decision.rules,
        "reasons": decision.reasons()["zh-CN" if who.lang == "zh-CN" else "en"],
        "until": until.strftime("%Y-%m-%d %H:%M %Z") if until else None,
        "local_now": decision.at.astimezone(local).strftime("%Y-%m-%d %H:%M %Z"),
    }


def _account(request: Request, who: Viewer, loan_id: str, **extra: Any) -> Response:
    as_of = _as_of(request, who)
    try:
        data = desk.account_page(who.uow, loan_id, as_of, who.principal, who.now, profile_of(request))
    except NotFound:
        raise PageError(404, who.gettext("No such account.")) from None
    borrower = data["borrower"] or {}
    decision = data["decision"]
    return render(
        request,
        "account.html",
        who=who,
        loan_id=loan_id,
        as_of=as_of,
        d=data,
        p=data["position"],
        panel=decision_view(decision, who, borrower.get("timezone")),
        may_reveal=who.user.role in MAY_REVEAL,
        may_call=who.user.role in ("admin", "agent", "supervisor"),
        outcomes=OUTCOME_CODES,
        categories=sorted(CATEGORIES.values(), key=lambda c: (c.kind, c.name)),
        plan_kinds=PLAN_KINDS,
        **extra,
    )


@router.get("/console/accounts/{loan_id}")
def account_page(request: Request, who: Account, loan_id: str) -> Response:
    return _account(request, who, loan_id)


@router.get("/console/accounts/{loan_id}/may-call")
def may_call(request: Request, who: Account, loan_id: str) -> Response:
    """The live compliance panel alone (the page refreshes it)."""
    if not desk.in_scope(who.uow, who.principal, loan_id, _as_of(request, who)):
        raise PageError(404, who.gettext("No such account."))
    decision = desk.call_check(who.uow, profile_of(request), loan_id, who.now)
    borrower = who.uow.borrowers.get(who.uow.loans.record(loan_id).borrower_id)
    tz_name = borrower.timezone if borrower else None
    return render(request, "_panel.html", who=who, panel=decision_view(decision, who, tz_name))


@router.post("/console/accounts/{loan_id}/reveal")
def reveal(request: Request, who: Account, loan_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    """The borrower's name and phone, unmasked: recorded in the audit log (pii.view)."""
    who.check_csrf(csrf)
    if who.user.role not in MAY_REVEAL or not desk.in_scope(who.uow, who.principal, loan_id, who.now.date()):
        raise PageError(404, who.gettext("No such account."))
    shown = desk.reveal(who.uow, loan_id, _as_of(request, who), who.principal)
    return render(request, "_revealed.html", who=who, b=shown)


def _acting_on(who: Viewer, loan_id: str, csrf: str) -> str:
    """A form that changes an account: the CSRF token, a role that may act, the account in the user's
    scope (404 otherwise, as for a reader); the loan's currency."""
    who.check_csrf(csrf)
    if who.user.role not in ("admin", "agent", "supervisor"):
        raise PageError(403, who.gettext("Your role may not do this."))
    if not desk.in_scope(who.uow, who.principal, loan_id, who.now.date()):
        raise PageError(404, who.gettext("No such account."))
    return who.uow.loans.record(loan_id).loan.currency


def _minor(text: str, currency: str, field: str) -> int:
    return parse_amount(text.strip(), currency, field=field)


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PageError(400, f"{field}: not a date (YYYY-MM-DD)") from None


@router.post("/console/accounts/{loan_id}/calls")
def record_call(
    request: Request,
    who: Account,
    loan_id: str,
    outcome: Annotated[str, Form(max_length=32)],
    csrf: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    amount: Annotated[str, Form(max_length=32)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
    category: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Record a call's outcome (and the promise, dispute or complaint it produced); closes the tasks."""
    currency = _acting_on(who, loan_id, csrf)
    try:
        call = desk.CallOutcome(
            outcome,
            note.strip(),
            _minor(amount, currency, "amount") if amount.strip() else None,
            _day(due_on, "due_on"),
            category.strip() or None,
        )
        result = desk.record_call(
            who.uow, profile_of(request), loan_id, call, who.now, who.principal, config_of(request).sla
        )
        who.uow.commit()
    except desk.CallNotAllowed as refused:
        who.uow.rollback()
        return _account(request, who, loan_id, call_refused=decision_view(refused.decision, who, None))
    except ArrearsError as err:
        who.uow.rollback()
        return _account(request, who, loan_id, form_error=str(err))
    return _account(request, who, loan_id, call_recorded=result)


@router.post("/console/accounts/{loan_id}/plans")
def propose_plan(
    request: Request,
    who: Account,
    loan_id: str,
    kind: Annotated[str, Form(max_length=32)],
    csrf: Annotated[str, Form()] = "",
    days: Annotated[int, Form(ge=0, le=366)] = 0,
    count: Annotated[int, Form(ge=0, le=60)] = 0,
    discount_pct: Annotated[str, Form(max_length=8)] = "0",
    waive_amount: Annotated[str, Form(max_length=32)] = "0",
) -> Response:
    """Propose a plan or waiver: within the role's limit it starts at once, above it waits for approval."""
    currency = _acting_on(who, loan_id, csrf)
    try:
        try:
            discount = Decimal(discount_pct or "0")
        except InvalidOperation:
            raise PageError(400, "discount_pct: not a number") from None
        terms = PlanTerms(
            kind,
            _as_of(request, who),
            days,
            count,
            None,
            discount,
            _minor(waive_amount or "0", currency, "waive_amount"),
        )
        result = plans.propose_plan(
            who.uow, loan_id, terms, config_of(request).plans, who.principal.actor, who.user.role
        )
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        return _account(request, who, loan_id, form_error=str(err))
    return _account(request, who, loan_id, plan_result=result)


@router.post("/console/accounts/{loan_id}/disputes")
def open_dispute(
    request: Request,
    who: Account,
    loan_id: str,
    category: Annotated[str, Form(max_length=32)],
    description: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Open a dispute (collection pauses) or a complaint, by its category, without a call (e.g. a letter
    or an agency's report); the SLA clock starts today."""
    who.check_csrf(csrf)
    today = _as_of(request, who)
    if not desk.in_scope(who.uow, who.principal, loan_id, today):
        raise PageError(404, who.gettext("No such account."))
    found = CATEGORIES.get(category)
    try:
        if found is None:
            raise InputError(f"unknown category {category!r}", field="category")
        result = disputes.open_dispute(
            who.uow,
            loan_id,
            found.kind,
            category,
            description,
            today,
            config_of(request).sla,
            who.principal.actor,
            agent=who.user.name if who.user.role == "agent" else None,
            agency_id=who.user.agency_id,
        )
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        return _account(request, who, loan_id, form_error=str(err))
    return _account(request, who, loan_id, dispute_result=result)
