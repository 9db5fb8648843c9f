"""Outside agencies: place accounts (commission rate, recall date), keep them to their own accounts,
take their activity reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select, update

from arrears.adapters.store.casework_models import AgencyActivityRow, AgencyRow, PlacementRow
from arrears.domain.errors import InputError, NotFound
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

ACTIVITY_KINDS = ("call", "sms", "letter", "visit", "payment_reported", "note")


def _now() -> datetime:
    return datetime.now(UTC)


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
    if uow.connection.scalar(select(AgencyRow.id).where(AgencyRow.id == agency_id)):
        raise InputError(f"agency {agency_id} exists", field="id")
    uow.connection.execute(
        insert(AgencyRow).values(
            id=agency_id, name=name, commission_rate=_rate(commission_rate), created_at=_now()
        )
    )
    audit.append(uow, actor, "agency.create", f"agency:{agency_id}", {"name": name})
    return {"id": agency_id, "name": name, "commission_rate": _rate(commission_rate)}


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
    agency = uow.connection.execute(select(AgencyRow).where(AgencyRow.id == agency_id)).mappings().first()
    if agency is None:
        raise NotFound(f"unknown agency {agency_id!r}")
    if recall_on <= placed_on:
        raise InputError("the recall date must be after the placement date", field="recall_on")
    rate = _rate(commission_rate) if commission_rate is not None else agency["commission_rate"]
    out = []
    for loan_id in loan_ids:
        uow.loans.record(loan_id)
        if placement_of(uow, loan_id, placed_on) is not None:
            raise InputError(f"loan {loan_id} is already placed", field="loan_ids")
        uow.connection.execute(
            insert(PlacementRow).values(
                loan_id=loan_id,
                agency_id=agency_id,
                placed_on=placed_on,
                recall_on=recall_on,
                commission_rate=rate,
                status="active",
                created_at=_now(),
            )
        )
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
    row = (
        uow.connection.execute(
            select(PlacementRow.id, PlacementRow.agency_id, PlacementRow.placed_on, PlacementRow.recall_on)
            .where(PlacementRow.loan_id == loan_id, PlacementRow.status == "active")
            .order_by(PlacementRow.id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"loan {loan_id!r} is not placed with an agency")
    uow.connection.execute(update(PlacementRow).where(PlacementRow.id == row["id"]).values(status="recalled"))
    recalled_on = on or _now().date()
    audit.append(
        uow,
        actor,
        "agency.recall",
        f"loan:{loan_id}",
        {"agency_id": row["agency_id"], "recalled_on": str(recalled_on)},
    )
    return {
        "loan_id": loan_id,
        "agency_id": row["agency_id"],
        "placed_on": row["placed_on"],
        "recall_on": row["recall_on"],
        "recalled_on": recalled_on,
        "status": "recalled",
    }


def placement_of(uow: UnitOfWork, loan_id: str, today: date) -> str | None:
    """The agency holding the loan today (active and before its recall date), or None."""
    return uow.connection.scalar(
        select(PlacementRow.agency_id).where(
            PlacementRow.loan_id == loan_id,
            PlacementRow.status == "active",
            PlacementRow.placed_on <= today,
            PlacementRow.recall_on > today,
        )
    )


def placed_loans(uow: UnitOfWork, agency_id: str, today: date) -> list[str]:
    return list(
        uow.connection.scalars(
            select(PlacementRow.loan_id)
            .where(
                PlacementRow.agency_id == agency_id,
                PlacementRow.status == "active",
                PlacementRow.placed_on <= today,
                PlacementRow.recall_on > today,
            )
            .order_by(PlacementRow.loan_id)
        )
    )


def report_activity(
    uow: UnitOfWork, agency_id: str, loan_id: str, kind: str, outcome: str | None, note: str, actor: str
) -> dict[str, Any]:
    if kind not in ACTIVITY_KINDS:
        raise InputError(f"unknown activity {kind!r} (one of {', '.join(ACTIVITY_KINDS)})", field="kind")
    activity_id = int(
        uow.connection.execute(
            insert(AgencyActivityRow)
            .values(agency_id=agency_id, loan_id=loan_id, at=_now(), kind=kind, outcome=outcome, note=note)
            .returning(AgencyActivityRow.id)
        ).scalar_one()
    )
    audit.append(uow, actor, "agency.activity", f"loan:{loan_id}", {"id": activity_id, "kind": kind})
    return {"id": activity_id, "agency_id": agency_id, "loan_id": loan_id, "kind": kind, "outcome": outcome}
