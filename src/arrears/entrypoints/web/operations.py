"""Operations (`/outbox`, supervisors and admins): the outbox by status and channel, failed / dead rows with
their reason and a retry, expired rows, the last runs, dispatch throughput (rows handed to each channel in
the last hour and day), and agency placements with a recall."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from arrears.domain.errors import ArrearsError
from arrears.domain.outbox import OUTBOX_STATUSES
from arrears.entrypoints.web.rendering import render
from arrears.entrypoints.web.session import PageError, Viewer, page
from arrears.services import agencies
from arrears.services import outbox as outbox_service
from arrears.services.retries import retry_row

router = APIRouter()
Operator = Annotated[Viewer, Depends(page("outbox"))]
LIMIT = 100


@router.get("/console/outbox")
def outbox_page(request: Request, who: Operator) -> Response:
    status = request.query_params.get("status") or None
    channel = request.query_params.get("channel") or None
    if status is not None and status not in OUTBOX_STATUSES:
        raise PageError(400, f"status: {who.gettext('unknown status')} {status!r}")
    rows, total = outbox_service.list_outbox(who.uow, status=status, channel=channel, limit=LIMIT)
    totals = {s: who.uow.outbox.find(status=s, limit=1)[1] for s in OUTBOX_STATUSES}
    by_channel = Counter((r["status"], r["channel"]) for r in rows)
    runs = who.uow.run_log.runs(10)
    sent = {
        window: Counter(send.channel for send in who.uow.activity.sends(who.now - span, who.now))
        for window, span in (("hour", timedelta(hours=1)), ("day", timedelta(days=1)))
    }
    return render(
        request,
        "outbox.html",
        who=who,
        rows=rows,
        total=total,
        status=status,
        channel=channel,
        statuses=OUTBOX_STATUSES,
        totals=totals,
        by_channel=sorted(by_channel.items()),
        runs=runs,
        sent=sent,
        placements=who.uow.desk.placements(50),
    )


@router.post("/console/outbox/{outbox_id}/retry")
def retry(request: Request, who: Operator, outbox_id: int, csrf: Annotated[str, Form()] = "") -> Response:
    """A failed or dead row back to pending (dispatch tries it again at its next pass)."""
    who.check_csrf(csrf)
    try:
        retry_row(who.uow, outbox_id, who.principal.actor, who.now)
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        raise PageError(400, str(err)) from None
    return RedirectResponse(f"/outbox?retried={outbox_id}", status_code=303)


@router.post("/console/outbox/placements/{loan_id}/recall")
def recall(request: Request, who: Operator, loan_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    """Take a loan back from its agency (the agency no longer sees it)."""
    who.check_csrf(csrf)
    try:
        agencies.recall(who.uow, loan_id, who.principal.actor, who.now.date())
        who.uow.commit()
    except ArrearsError as err:
        who.uow.rollback()
        raise PageError(400, str(err)) from None
    return RedirectResponse(f"/outbox?recalled={loan_id}", status_code=303)
