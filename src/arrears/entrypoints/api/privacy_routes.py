"""PIPL requests over the API (docs/privacy.md), for the admin role only: `GET /borrowers/{id}/privacy-export`
(everything held about the person, decrypted; audited pii.export) and `POST /borrowers/{id}/erasure`
(pseudonymise after the retention period, or before it on a valid request; audited pii.erase) — the same
services as `arrears privacy export` / `erase`, the caller recorded as the actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from arrears.adapters.privacy_config import load_retention
from arrears.entrypoints.api.limits import Day
from arrears.entrypoints.api.schemas import Body
from arrears.entrypoints.api.security import Uow, roles
from arrears.services import privacy
from arrears.services.auth import Principal

router = APIRouter()
BorrowerId = Annotated[str, Path(min_length=1, max_length=64)]
Admin = Annotated[Principal, Depends(roles("admin"))]


class ErasureIn(Body):
    """Why the person's data is erased, and whether before the end of the retention period."""

    reason: str = Field(min_length=1, max_length=2000, examples=["PIPL §47 request of 2026-12-01"])
    force_before_retention: bool = Field(
        False, description="erase although the retention period runs (a valid request under PIPL §47)"
    )
    as_of: Day | None = Field(None, description="judge the retention as of this day (today)")


@router.get("/borrowers/{borrower_id}/privacy-export", tags=["privacy"])
def privacy_export(borrower_id: BorrowerId, uow: Uow, who: Admin) -> dict[str, Any]:
    """Everything the store holds about the borrower, decrypted (404 for an unknown one); audited."""
    return privacy.export(uow, borrower_id, actor=who.actor)


@router.post("/borrowers/{borrower_id}/erasure", tags=["privacy"])
def privacy_erase(borrower_id: BorrowerId, body: ErasureIn, uow: Uow, who: Admin) -> dict[str, Any]:
    """Pseudonymise the borrower (identity, contact data, notes; the data key destroyed), keeping the
    ledger and the audit chain; 422 naming `borrower` while the retention period runs, unless forced."""
    result = privacy.erase(
        uow,
        borrower_id,
        reason=body.reason,
        by=who.actor,
        retention=load_retention(),
        as_of=body.as_of,
        force_before_retention=body.force_before_retention,
    )
    return result.to_dict()
