"""Litigation as a case (domain/litigation.py): open it on a loan, move it through its stages with their dates,
court and case number, attach documents and costs (booked as fees on the loan where the contract allows),
and hold the account's ladder while the court process speaks (a `litigation` fact on the debt, which the
profiles' litigation hold reads at plan and at send time). Every change is audited."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from arrears.domain.compliance.clock import zone
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position
from arrears.domain.litigation import (
    LITIGATION_FLAG,
    STAGES,
    check_cost_kind,
    check_move,
    holds_ladder,
)
from arrears.domain.money import format_minor
from arrears.services import audit, borrower_facts
from arrears.services.plans import replace_schedule
from arrears.services.unit_of_work import UnitOfWork

DEFAULT_ZONE = "Asia/Shanghai"


def _case(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    case = uow.litigation.get(case_id)
    if case is None:
        raise NotFound(f"no litigation case {case_id}")
    return case


def _start_of(uow: UnitOfWork, borrower_id: str, day: date) -> datetime:
    borrower = uow.borrowers.get(borrower_id)
    return datetime.combine(day, time(0, 0), zone((borrower.timezone if borrower else None) or DEFAULT_ZONE))


def open_case(
    uow: UnitOfWork, loan_id: str, on: date, actor: str, *, court: str = "", note: str = ""
) -> dict[str, Any]:
    """Refer a loan to litigation (stage `referred`), claiming what it owes on `on`; one open case a loan."""
    record = uow.loans.record(loan_id)
    if uow.litigation.open_for_loan(loan_id) is not None:
        raise InputError(f"loan {loan_id} already has an open litigation case", field="loan_id")
    claim = compute_position(record.loan, on).outstanding.total
    case_id = uow.litigation.add_case(
        {
            "loan_id": loan_id,
            "borrower_id": record.borrower_id,
            "stage": "referred",
            "stage_on": on,
            "court": court,
            "case_number": "",
            "claim": claim,
        }
    )
    uow.litigation.add_event(
        {"case_id": case_id, "kind": "stage", "stage": "referred", "on_day": on, "note": note, "actor": actor}
    )
    audit.append(uow, actor, "litigation.open", f"loan:{loan_id}", {"case": case_id, "claim": claim})
    return show(uow, case_id)


def move(
    uow: UnitOfWork,
    case_id: int,
    stage: str,
    on: date,
    actor: str,
    *,
    court: str | None = None,
    case_number: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Move a case to a later stage on `on`. Filing holds the ladder (the litigation fact on the debt) and
    takes the loan back from an agency holding it; closing ends the hold."""
    case = _case(uow, case_id)
    check_move(case["stage"], stage)
    if on < case["stage_on"]:
        raise InputError(f"{on} is before the case's last stage ({case['stage_on']})", field="on")
    if stage == "filed" and not (case_number or case["case_number"]):
        raise InputError("a filed case needs the court's case number", field="case_number")
    if stage == "filed" and not (court or case["court"]):
        raise InputError("a filed case needs the court", field="court")
    values: dict[str, Any] = {"stage": stage, "stage_on": on}
    if court is not None:
        values["court"] = court
    if case_number is not None:
        values["case_number"] = case_number
    uow.litigation.update_case(case_id, values)
    uow.litigation.add_event(
        {"case_id": case_id, "kind": "stage", "stage": stage, "on_day": on, "note": note, "actor": actor}
    )
    loan_id, borrower_id = case["loan_id"], case["borrower_id"]
    at = _start_of(uow, borrower_id, on)
    was, now_holds = holds_ladder(case["stage"]), holds_ladder(stage)
    if now_holds and not was:
        borrower_facts.set_flag(
            uow, borrower_id, LITIGATION_FLAG, by=actor, reason=f"litigation case {case_id} {stage}",
            source="litigation", debt=loan_id, value=f"case {case_id}", effective_at=at,
        )  # fmt: skip
        placement = uow.agencies.active_placement(loan_id)
        if placement is not None:
            uow.agencies.recall(placement.id, on)
            audit.append(
                uow,
                actor,
                "agency.recall",
                f"loan:{loan_id}",
                {"agency_id": placement.agency_id, "recalled_on": on.isoformat(), "cause": "litigation"},
            )
    elif was and not now_holds:
        borrower_facts.clear_flag(
            uow, borrower_id, LITIGATION_FLAG, by=actor, reason=f"litigation case {case_id} {stage}",
            source="litigation", debt=loan_id, at=at,
        )  # fmt: skip
    audit.append(
        uow,
        actor,
        "litigation.stage",
        f"loan:{loan_id}",
        {"case": case_id, "stage": stage, "on": on.isoformat()},
    )
    return show(uow, case_id)


def add_document(
    uow: UnitOfWork, case_id: int, name: str, sha256: str, on: date, actor: str, note: str = ""
) -> dict[str, Any]:
    """Attach a document (its name and SHA-256; the file stays in the document store) to the case."""
    case = _case(uow, case_id)
    if not name.strip():
        raise InputError("a document needs a name", field="document")
    uow.litigation.add_event(
        {"case_id": case_id, "kind": "document", "stage": case["stage"], "on_day": on, "note": note,
         "document": name, "sha256": sha256, "actor": actor}
    )  # fmt: skip
    audit.append(
        uow,
        actor,
        "litigation.document",
        f"loan:{case['loan_id']}",
        {"case": case_id, "document": name, "sha256": sha256},
    )
    return show(uow, case_id)


def add_cost(
    uow: UnitOfWork,
    case_id: int,
    amount: int,
    kind: str,
    on: date,
    actor: str,
    *,
    book_as_fee: bool = False,
    fee_products: Collection[str] = (),
    note: str = "",
) -> dict[str, Any]:
    """Record a legal cost. With `book_as_fee`, and only for a product whose contract lets the lender recover
    legal costs (`fee_products`), the cost is added to the fees of the loan's oldest unpaid instalment as a
    new schedule version (with its balancing postings)."""
    case = _case(uow, case_id)
    check_cost_kind(kind)
    if amount <= 0:
        raise InputError("a cost is an amount above zero", field="amount")
    record = uow.loans.record(case["loan_id"])
    if book_as_fee:
        if record.product_code not in fee_products:
            raise InputError(
                f"the contract of product {record.product_code} does not let legal costs be charged to the borrower",
                field="book_as_fee",
            )
        loan = record.loan
        oldest = compute_position(loan, on).oldest_unpaid_due
        target = next((i for i in loan.instalments if i.due == oldest), loan.instalments[-1])
        instalments = tuple(
            replace(i, fees=i.fees + amount) if i.seq == target.seq else i for i in loan.instalments
        )
        replace_schedule(uow, case["loan_id"], instalments, on, f"litigation case {case_id}: {kind}", None)
    uow.litigation.add_event(
        {"case_id": case_id, "kind": "cost", "stage": case["stage"], "on_day": on, "note": note or kind,
         "cost": amount, "fee_booked": book_as_fee, "actor": actor}
    )  # fmt: skip
    audit.append(
        uow, actor, "litigation.cost", f"loan:{case['loan_id']}",
        {"case": case_id, "kind": kind, "amount": amount, "fee_booked": book_as_fee},
    )  # fmt: skip
    return show(uow, case_id)


def show(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    """The case with its events, amounts as decimal strings."""
    case = _case(uow, case_id)
    events = uow.litigation.events([case_id])
    costs = [e for e in events if e["kind"] == "cost"]
    return {
        "id": case["id"],
        "loan_id": case["loan_id"],
        "borrower_id": case["borrower_id"],
        "stage": case["stage"],
        "stage_on": case["stage_on"].isoformat(),
        "court": case["court"],
        "case_number": case["case_number"],
        "claim": format_minor(case["claim"]),
        "ladder": "held" if holds_ladder(case["stage"]) else "continues",
        "costs": format_minor(sum(e["cost"] for e in costs)),
        "costs_booked_as_fees": format_minor(sum(e["cost"] for e in costs if e["fee_booked"])),
        "events": [
            {
                "kind": e["kind"],
                "stage": e["stage"],
                "on": e["on_day"].isoformat(),
                "note": e["note"],
                **({"document": e["document"], "sha256": e["sha256"]} if e["kind"] == "document" else {}),
                **(
                    {"cost": format_minor(e["cost"]), "fee_booked": e["fee_booked"]}
                    if e["kind"] == "cost"
                    else {}
                ),
            }
            for e in events
        ],
    }


def list_cases(uow: UnitOfWork, stage: str | None = None) -> list[dict[str, Any]]:
    if stage is not None and stage not in STAGES:
        raise InputError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})", field="stage")
    return [show(uow, c["id"]) for c in uow.litigation.cases() if stage is None or c["stage"] == stage]


def litigation_kpis(uow: UnitOfWork, start: date, end: date) -> dict[str, Any]:
    """Legal recovery and cost between `start` and `end` (exclusive): cases by stage, what the loans in
    litigation paid from their referral on, the legal costs spent, and recovery per unit of cost."""
    cases = uow.litigation.cases()
    events = uow.litigation.events([c["id"] for c in cases]) if cases else []
    referred = {
        e["case_id"]: e["on_day"] for e in events if e["kind"] == "stage" and e["stage"] == "referred"
    }
    recovered = 0
    for c in cases:
        since = max(start, referred.get(c["id"], start))
        if since < end:
            recovered += sum(a for *_, a in uow.agencies.payments_of([c["loan_id"]], since, end))
    cost = sum(e["cost"] for e in events if e["kind"] == "cost" and start <= e["on_day"] < end)
    booked = sum(
        e["cost"] for e in events if e["kind"] == "cost" and e["fee_booked"] and start <= e["on_day"] < end
    )
    by_stage = {s: sum(1 for c in cases if c["stage"] == s) for s in STAGES}
    return {
        "cases": len(cases),
        "by_stage": by_stage,
        "legal_recovered": format_minor(recovered),
        "legal_cost": format_minor(cost),
        "legal_cost_booked_as_fees": format_minor(booked),
        "legal_recovery_per_cost": round(recovered / cost, 4) if cost else None,
    }
