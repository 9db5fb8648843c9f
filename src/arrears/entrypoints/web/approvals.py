"""Approvals (`/approvals`, supervisors and admins): lawyer's letters held for legal review, with the PDF
as it will go out, and plans / waivers over an agent's limit; approve or reject with a reference."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from arrears.domain.errors import ArrearsError, NotFound
from arrears.entrypoints.web.desk import config_of, profile_of
from arrears.entrypoints.web.rendering import SECURITY_HEADERS, render
from arrears.entrypoints.web.session import PageError, Viewer, page
from arrears.services import approvals
from arrears.services.dispatch import Dispatcher

router = APIRouter()
Approver = Annotated[Viewer, Depends(page("approvals"))]


def channels_config(request: Request) -> Any:
    """The lender's identity (channels.yaml: ARREARS_CHANNELS or ./channels.yaml), read once."""
    found = getattr(request.app.state, "console_channels", None)
    if found is None:
        from arrears.adapters.channels.config import load_channels_config

        found = load_channels_config(None)
        request.app.state.console_channels = found
    return found


def dispatcher_of(request: Request) -> Dispatcher:
    """A dispatcher with no channels: it renders letters exactly as dispatch will, and sends nothing."""
    from arrears.bootstrap import make_dispatcher

    return make_dispatcher(request.app.state.store_url, {}, channels_config(request), profile_of(request))


def _page(request: Request, who: Viewer, **extra: Any) -> Response:
    found = approvals.waiting(who.uow)
    return render(request, "approvals.html", who=who, letters=found["letters"], plans=found["plans"], **extra)


@router.get("/approvals")
def approvals_page(request: Request, who: Approver) -> Response:
    return _page(request, who)


@router.get("/approvals/letters/{outbox_id}/preview.pdf")
def letter_pdf(request: Request, who: Approver, outbox_id: int) -> Response:
    """The letter as it will be printed and sent (rendered now, with today's figures)."""
    from arrears.adapters.letters import render_letter_pdf

    try:
        message = approvals.letter_preview(who.uow, dispatcher_of(request), outbox_id, who.now)
    except NotFound:
        raise PageError(404, who.gettext("No such letter.")) from None
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'inline; filename="letter-{outbox_id}.pdf"'}
    return Response(render_letter_pdf(message), media_type="application/pdf", headers=headers)


@router.post("/approvals/letters/{outbox_id}")
def decide_letter(
    request: Request,
    who: Approver,
    outbox_id: int,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    ref: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    who.check_csrf(csrf)
    try:
        if decision == "approve":
            law_firm = str(channels_config(request).lender["law_firm"])
            approvals.approve_letter(who.uow, outbox_id, who.principal.actor, ref, law_firm, who.now)
        else:
            approvals.reject_letter(who.uow, outbox_id, who.principal.actor, ref, who.now)
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        return _page(request, who, error=str(err))
    return RedirectResponse(f"/approvals?done={decision}&id={outbox_id}", status_code=303)


@router.post("/approvals/plans/{plan_id}")
def decide_plan(
    request: Request,
    who: Approver,
    plan_id: int,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    ref: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    who.check_csrf(csrf)
    try:
        approvals.decide_plan(
            who.uow,
            plan_id,
            decision == "approve",
            config_of(request).plans,
            who.principal.actor,
            who.user.role,
            ref,
        )
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        return _page(request, who, error=str(err))
    return RedirectResponse(f"/approvals?done={decision}&plan={plan_id}", status_code=303)
