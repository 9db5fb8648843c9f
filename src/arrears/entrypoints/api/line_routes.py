"""Credit lines and the books over the API (docs/books.md):

- `GET /lines/{id}?as_of=D`: limit, used, available, status, the loans under it (a borrower: only their own);
- `POST /lines`: add a line (or change its limit) with loans under it, checked as the import checks a row;
- `POST /lines/{id}/loans`: put new purchases (loans of the line's borrower) under the line;
- `GET /loans/{id}/history`: the account's delinquency history (bucket, pause, charge-off, cure, with day
  and cause).

Roles: admin and supervisor change lines; they, agents, strategists and compliance read; a borrower reads
their own lines and loans (404 for another's); an agency reads the loans placed with it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import Field

from arrears.domain.money import format_minor
from arrears.entrypoints.api.limits import Limit, Offset, page
from arrears.entrypoints.api.schemas import Amount, Body, Id
from arrears.entrypoints.api.security import Uow, check_loan_scope, roles, today
from arrears.services import books, credit_lines
from arrears.services.auth import Principal

router = APIRouter()
LINE_ADMINS = ("admin", "supervisor")
READERS = (*LINE_ADMINS, "agent", "strategist", "compliance", "borrower")
LOAN_READERS = (*READERS, "agency")
LineId = Annotated[str, Path(min_length=1, max_length=64)]
LoanId = Annotated[str, Path(min_length=1, max_length=64)]


class LineIn(Body):
    """A credit line: its borrower, currency and limit, and the loans (purchases) under it."""

    line_id: Id
    borrower_id: Id
    currency: str = Field(min_length=3, max_length=3, examples=["CNY"])
    limit: Amount
    loan_ids: list[Id] = Field(default_factory=list, max_length=1000)


class LoansIn(Body):
    loan_ids: list[Id] = Field(min_length=1, max_length=1000)


def _line_or_404(uow: Uow, who: Principal, line_id: str) -> None:
    line = uow.credit_lines.get(line_id)
    if line is None or (who.role == "borrower" and line.borrower_id != who.borrower_id):
        raise HTTPException(404, f"unknown credit line {line_id!r}")


@router.get("/lines/{line_id}", tags=["lines"])
def get_line(
    line_id: LineId,
    uow: Uow,
    who: Annotated[Principal, Depends(roles(*READERS))],
    as_of: Annotated[date | None, Query()] = None,
) -> dict[str, Any]:
    """The line's limit, used (its loans' outstanding principal), available and status as of a day."""
    _line_or_404(uow, who, line_id)
    day = as_of or today().date()
    return credit_lines.position_dict(credit_lines.position(uow, line_id, day), day)


@router.post("/lines", tags=["lines"], status_code=201)
def post_line(
    body: LineIn, uow: Uow, who: Annotated[Principal, Depends(roles(*LINE_ADMINS))]
) -> dict[str, Any]:
    """Add a line, or change the limit of an existing one, with loans under it (422 naming the field)."""
    row = {
        "line_id": body.line_id,
        "borrower_id": body.borrower_id,
        "currency": body.currency,
        "limit": body.limit,
        "loan_ids": ";".join(body.loan_ids),
    }
    result = credit_lines.import_lines(uow, [(1, row)], "request")
    return result.to_dict()


@router.post("/lines/{line_id}/loans", tags=["lines"])
def post_line_loans(
    line_id: LineId, body: LoansIn, uow: Uow, who: Annotated[Principal, Depends(roles(*LINE_ADMINS))]
) -> dict[str, Any]:
    """Put purchases (loans of the line's borrower) under the line."""
    line = uow.credit_lines.get(line_id)
    if line is None:
        raise HTTPException(404, f"unknown credit line {line_id!r}")
    row = {
        "line_id": line.id,
        "borrower_id": line.borrower_id,
        "currency": line.currency,
        "limit": format_minor(line.limit, line.currency),
        "loan_ids": ";".join(body.loan_ids),
    }
    return credit_lines.import_lines(uow, [(1, row)], "request").to_dict()


@router.get("/loans/{loan_id}/history", tags=["lines"])
def get_history(
    loan_id: LoanId,
    uow: Uow,
    who: Annotated[Principal, Depends(roles(*LOAN_READERS))],
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Every change of the account's bucket, pause, charge-off and cure, with its day and cause."""
    check_loan_scope(uow, who, loan_id)
    if not uow.loans.exists(loan_id):
        raise HTTPException(404, f"unknown loan {loan_id!r}")
    changes = [
        {
            "on": c.on.isoformat(),
            "change": c.kind,
            "from": c.from_bucket,
            "to": c.to_bucket,
            "dpd": c.dpd,
            "cause": c.cause,
        }
        for c in books.history(uow, loan_id)
    ]
    return page(changes, limit, offset)
