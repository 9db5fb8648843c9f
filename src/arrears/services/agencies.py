"""Outside agencies: place accounts (commission rate, recall date), keep them to their own accounts,
take their activity reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from arrears.domain.casework_records import Agency
from arrears.domain.errors import InputError, NotFound
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

ACTIVITY_KINDS = ("call", "sms", "letter", "visit", "payment_reported", "note")


def _rate(text: str) -> str:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise InputError(f"not a rate: {text!r}", field="commission_rate") from None
    if not Decimal(0) <= rate < Decimal(1):
        raise InputError(
            "a commission rate is a fraction between 0 and 1 (e.g. 0.18)", field="commission_rate"
        )
    return str(rate)


def create_agency(
    uow: UnitOfWork, agency_id: str, name: str, commission_rate: str, actor: str
) -> dict[str, Any]:
    if uow.agencies.get(agency_id) is not None:
        raise InputError(f"agency {agency_id} exists", field="id")
    agency = Agency(agency_id, name, _rate(commission_rate))
    uow.agencies.add(agency)
    audit.append(uow, actor, "agency.create", f"agency:{agency_id}", {"name": name})
    return {"id": agency.id, "name": agency.name, "commission_rate": agency.commission_rate}


def place(
    uow: UnitOfWork,
    agency_id: str,
    loan_ids: list[str],
    placed_on: date,
    recall_on: date,
    actor: str,
    commission_rate: str | None = None,
) -> list[dict[str, Any]]:
    """Place loans with an agency until the recall date; a loan is with one agency at a time."""
    agency = uow.agencies.get(agency_id)
    if agency is None:
        raise NotFound(f"unknown agency {agency_id!r}")
    if recall_on <= placed_on:
        raise InputError("the recall date must be after the placement date", field="recall_on")
    rate = _rate(commission_rate) if commission_rate is not None else agency.commission_rate
    out = []
    for loan_id in loan_ids:
        uow.loans.record(loan_id)
        if placement_of(uow, loan_id, placed_on) is not None:
            raise InputError(f"loan {loan_id} is already placed", field="loan_ids")
        uow.agencies.place(loan_id, agency_id, placed_on, recall_on, rate)
        out.append(
            {
                "loan_id": loan_id,
                "agency_id": agency_id,
                "placed_on": placed_on,
                "recall_on": recall_on,
                "commission_rate": rate,
            }
        )
    audit.append(
        uow, actor, "agency.place", f"agency:{agency_id}", {"loans": loan_ids, "recall_on": str(recall_on)}
    )
    return out


def recall(uow: UnitOfWork, loan_id: str, actor: str, on: date | None = None) -> dict[str, Any]:
    """Take a loan back from the agency holding it (before the recall date); NotFound if it is not placed.
    From then on the agency no longer sees the account; the loan may be placed again."""
    placement = uow.agencies.active_placement(loan_id)
    if placement is None:
        raise NotFound(f"loan {loan_id!r} is not placed with an agency")
    uow.agencies.recall(placement.id)
    recalled_on = on or datetime.now(UTC).date()
    audit.append(
        uow,
        actor,
        "agency.recall",
        f"loan:{loan_id}",
        {"agency_id": placement.agency_id, "recalled_on": str(recalled_on)},
    )
    return {
        "loan_id": loan_id,
        "agency_id": placement.agency_id,
        "placed_on": placement.placed_on,
        "recall_on": placement.recall_on,
        "recalled_on": recalled_on,
        "status": "recalled",
    }


def placement_of(uow: UnitOfWork, loan_id: str, today: date) -> str | None:
    """The agency holding the loan today (active and before its recall date), or None."""
    return uow.agencies.holder(loan_id, today)


def placed_loans(uow: UnitOfWork, agency_id: str, today: date) -> list[str]:
    """The loans the agency holds today, sorted."""
    return uow.agencies.placed_loans(agency_id, today)


def report_activity(
    uow: UnitOfWork, agency_id: str, loan_id: str, kind: str, outcome: str | None, note: str, actor: str
) -> dict[str, Any]:
    if kind not in ACTIVITY_KINDS:
        raise InputError(f"unknown activity {kind!r} (one of {', '.join(ACTIVITY_KINDS)})", field="kind")
    activity_id = uow.agencies.add_activity(agency_id, loan_id, kind, outcome, note)
    audit.append(uow, actor, "agency.activity", f"loan:{loan_id}", {"id": activity_id, "kind": kind})
    return {"id": activity_id, "agency_id": agency_id, "loan_id": loan_id, "kind": kind, "outcome": outcome}
