"""A borrower's compliance facts: `GET /borrowers/{id}/flags` (services.borrower_facts.show, masked) and
`POST /borrowers/{id}/flags` (set or clear one fact, audited, the caller recorded as `by`).

Roles (docs/api.md): admin, supervisor and compliance read and change every fact. An agent or an agency
may record only the facts that restrict contact and that a collector hears first-hand (cease, opt-out,
attorney, work number, employer prohibits contact), and clears nothing: facts that allow contact again or
that need checking (consent, hardship, dispute, deceased, bankruptcy ...) are for the roles above. An
agency sees and changes only borrowers with a loan placed with it (404 otherwise, ids cannot be probed),
and in the history only the facts about those loans or about the borrower as a whole. Strategists and
borrowers: 403.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import Field

from arrears.domain.compliance.facts import FLAG_NAMES
from arrears.domain.errors import InputError
from arrears.entrypoints.api.limits import FarDay, Instant
from arrears.entrypoints.api.schemas import Body, Id
from arrears.entrypoints.api.security import Uow, roles, today
from arrears.services import borrower_facts
from arrears.services.agencies import placed_loans
from arrears.services.auth import Principal
from arrears.services.cases import loans_of

router = APIRouter()
FACT_ADMINS = ("admin", "supervisor", "compliance")
FACT_READERS = (*FACT_ADMINS, "agent", "agency")
# What an agent or an agency may record: facts that only restrict contact, heard on a call or a visit.
COLLECTOR_FLAGS = ("cease", "opt_out", "attorney", "work_number", "employer_prohibits_contact")
BorrowerId = Annotated[str, Path(min_length=1, max_length=64)]


class FlagIn(Body):
    """Set or clear one fact. `flag`: one of the flag names; channel / debt / value / until as it takes."""

    action: Literal["set", "clear"]
    flag: str = Field(
        min_length=1, max_length=32, examples=["cease"], description=f"one of {', '.join(FLAG_NAMES)}"
    )
    channel: str | None = Field(None, max_length=32, examples=["sms"])
    debt: Id | None = None
    value: str | None = Field(None, max_length=200)
    until: FarDay | None = None
    effective_at: Instant | None = None
    reason: str = Field(min_length=1, max_length=2000)


def _scope(uow: Uow, who: Principal, borrower_id: str) -> set[str] | None:
    """The loans an agency holds of this borrower (404 when none); None for roles that see every borrower."""
    if who.role != "agency":
        if uow.borrowers.get(borrower_id) is None:
            raise HTTPException(404, f"unknown borrower {borrower_id!r}")
        return None
    held = set(loans_of(uow, borrower_id)) & set(placed_loans(uow, who.agency_id or "", today().date()))
    if not held:
        raise HTTPException(404, f"unknown borrower {borrower_id!r}")
    return held


@router.get("/borrowers/{borrower_id}/flags", tags=["borrowers"])
def get_flags(
    borrower_id: BorrowerId, uow: Uow, who: Annotated[Principal, Depends(roles(*FACT_READERS))]
) -> dict[str, Any]:
    """The facts in force now and every fact ever recorded, with who / when / why (personal data masked)."""
    held = _scope(uow, who, borrower_id)
    view = borrower_facts.show(uow, borrower_id)
    if held is not None:
        for key in ("in_force", "history"):
            view[key] = [r for r in view[key] if r["debt"] is None or r["debt"] in held]
    return view


@router.post("/borrowers/{borrower_id}/flags", tags=["borrowers"])
def change_flag(
    borrower_id: BorrowerId,
    body: FlagIn,
    uow: Uow,
    who: Annotated[Principal, Depends(roles(*FACT_READERS))],
) -> dict[str, Any]:
    """Set or clear one fact (audited; `by` is the caller). A set already in force changes nothing
    (`changed: false`); a clear of a fact not in force is a 422."""
    held = _scope(uow, who, borrower_id)
    if body.flag not in FLAG_NAMES:
        raise InputError(f"unknown flag {body.flag!r} (known: {', '.join(FLAG_NAMES)})", field="flag")
    if who.role not in FACT_ADMINS and (body.action == "clear" or body.flag not in COLLECTOR_FLAGS):
        allowed = f"may only set {', '.join(COLLECTOR_FLAGS)}"
        raise HTTPException(403, f"role {who.role} may not {body.action} {body.flag!r} ({allowed})")
    if body.debt and (not uow.loans.exists(body.debt) or (held is not None and body.debt not in held)):
        raise InputError(f"unknown loan {body.debt!r}", field="debt")
    try:
        if body.action == "clear":
            if body.until is not None:
                raise InputError("only a set takes an end date", field="until")
            change = borrower_facts.clear_flag(
                uow, borrower_id, body.flag, by=who.actor, reason=body.reason, source="api",
                channel=body.channel or "", debt=body.debt or "", value=body.value, at=body.effective_at,
            )  # fmt: skip
        else:
            change = borrower_facts.set_flag(
                uow, borrower_id, body.flag, by=who.actor, reason=body.reason, source="api",
                channel=body.channel or "", debt=body.debt or "", value=body.value or "",
                until=body.until, effective_at=body.effective_at,
            )  # fmt: skip
    except InputError as err:
        if err.field == "clear":  # nothing of that kind in force: the body's `flag` names it
            raise InputError(err.message, field="flag") from None
        raise
    uow.commit()
    return change.to_dict()
