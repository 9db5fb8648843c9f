"""Litigation cases over the API (docs/agencies.md): open, move through the stages, record costs, read.
Legal staff act as supervisors or admins; the same services as `arrears litigation`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from arrears.domain.money import parse_amount
from arrears.entrypoints.api.security import Uow, roles
from arrears.services import litigation
from arrears.services.auth import Principal

router = APIRouter()
LEGAL = ("admin", "supervisor")


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loan_id: str = Field(min_length=1, max_length=64)
    on: date
    court: str = Field("", max_length=200)
    note: str = Field("", max_length=2000)


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(min_length=1, max_length=16)
    on: date
    court: str | None = Field(None, max_length=200)
    case_number: str | None = Field(None, max_length=64)
    note: str = Field("", max_length=2000)


class CostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(min_length=1, max_length=32)
    kind: str = Field(min_length=1, max_length=32)
    on: date
    book_as_fee: bool = False
    fee_products: Sequence[str] = ()


CaseId = Annotated[int, Path(ge=1)]


@router.post("/litigation", status_code=201, tags=["litigation"])
def open_case(body: CaseIn, uow: Uow, who: Annotated[Principal, Depends(roles(*LEGAL))]) -> dict[str, Any]:
    """Refer a loan to litigation (stage referred)."""
    out = litigation.open_case(uow, body.loan_id, body.on, who.actor, court=body.court, note=body.note)
    uow.commit()
    return out


@router.post("/litigation/{case_id}/stage", tags=["litigation"])
def move(
    case_id: CaseId, body: StageIn, uow: Uow, who: Annotated[Principal, Depends(roles(*LEGAL))]
) -> dict[str, Any]:
    """Move the case to a later stage: filing holds the ladder, closing ends the hold."""
    out = litigation.move(
        uow,
        case_id,
        body.stage,
        body.on,
        who.actor,
        court=body.court,
        case_number=body.case_number,
        note=body.note,
    )
    uow.commit()
    return out


@router.post("/litigation/{case_id}/costs", tags=["litigation"])
def add_cost(
    case_id: CaseId, body: CostIn, uow: Uow, who: Annotated[Principal, Depends(roles(*LEGAL))]
) -> dict[str, Any]:
    """Record a legal cost, booked as a fee on the loan only where the product's contract allows."""
    amount = parse_amount(body.amount, field="amount")
    out = litigation.add_cost(
        uow, case_id, amount, body.kind, body.on, who.actor, book_as_fee=body.book_as_fee,
        fee_products=set(body.fee_products),
    )  # fmt: skip
    uow.commit()
    return out


@router.get("/litigation/{case_id}", tags=["litigation"])
def show(
    case_id: CaseId, uow: Uow, who: Annotated[Principal, Depends(roles(*LEGAL, "compliance"))]
) -> dict[str, Any]:
    """The case with its stages, documents and costs."""
    return litigation.show(uow, case_id)
