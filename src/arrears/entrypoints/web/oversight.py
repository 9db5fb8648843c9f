"""Compliance (`/compliance`, compliance officers, supervisors, admins): the compliance report of a period
with the violations its replay finds and the blocks / defers by rule, the complaint and dispute SLA timers
(breaches first), template lint findings, the audit chain's verification, and one borrower's facts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from arrears.domain.errors import ArrearsError
from arrears.entrypoints.web.desk import profile_of
from arrears.entrypoints.web.rendering import render
from arrears.entrypoints.web.session import PageError, Viewer, page
from arrears.services import audit, borrower_facts, disputes
from arrears.services.compliance_report import compliance_report

router = APIRouter()
Officer = Annotated[Viewer, Depends(page("compliance"))]
SLA_ORDER = {"resolve_overdue": 0, "ack_overdue": 1, "resolved_late": 2, "on_time": 3, "resolved": 4}
MAX_DAYS = 366


def _day(value: str | None, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(400, f"{field}: not a date (YYYY-MM-DD)") from None


def _lint() -> list[Any]:
    from arrears.entrypoints.cli.templates import lint_paths

    root = Path.cwd() / "templates"
    if not root.is_dir():
        return []
    return [f.to_dict() for f in lint_paths([root])[1]]


@router.get("/compliance")
def compliance_page(request: Request, who: Officer) -> Response:
    today = who.now.date()
    start = _day(request.query_params.get("from"), today - timedelta(days=7), "from")
    end = _day(request.query_params.get("to"), today, "to")
    if end < start or (end - start).days > MAX_DAYS:
        raise PageError(400, f"to: at most {MAX_DAYS} days after from, and not before it")
    report = compliance_report(who.uow, profile_of(request), start, end).to_dict()
    cases = disputes.list_disputes(who.uow, today=today, limit=200)
    cases.sort(key=lambda c: (SLA_ORDER.get(c["sla"], 9), c["resolve_by"]))
    borrower_id = (request.query_params.get("borrower") or "").strip()
    facts = None
    facts_error = None
    if borrower_id:
        try:
            facts = borrower_facts.show(who.uow, borrower_id, at=who.now)
        except ArrearsError as err:
            facts_error = str(err)
    verdict = audit.verify(who.uow).to_dict()
    return render(
        request,
        "compliance.html",
        who=who,
        start=start,
        end=end,
        report=report,
        cases=cases,
        findings=_lint(),
        verdict=verdict,
        borrower_id=borrower_id,
        facts=facts,
        facts_error=facts_error,
    )
