"""Outside agencies: place accounts (by hand, or by the policy's agency step under the allocation rules of
domain/agencies.py), recall them at the recall date and place them again, keep agencies to their own
accounts, take their activity reports, and count what they earn (commission statements, league table)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from arrears.domain.agencies import (
    DEFAULT_PLACEMENT_DAYS,
    AgencyTerms,
    Performance,
    bars_to_placement,
    choose_agency,
    commission,
    in_placement,
    period_bounds,
)
from arrears.domain.casework_records import Agency, Placement
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor
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


def _buckets(text: str) -> str:
    names = [b.strip() for b in text.split(",") if b.strip()]
    for name in names:
        if not name.isalnum():
            raise InputError(f"not a bucket name: {name!r}", field="buckets")
    return ",".join(names)


def create_agency(
    uow: UnitOfWork,
    agency_id: str,
    name: str,
    commission_rate: str,
    actor: str,
    *,
    capacity: int | None = None,
    buckets: str = "",
    placement_days: int = DEFAULT_PLACEMENT_DAYS,
) -> dict[str, Any]:
    """A new agency: its commission rate, and for the policy's placements how many loans it may hold and
    which buckets it takes ("" = any)."""
    if uow.agencies.get(agency_id) is not None:
        raise InputError(f"agency {agency_id} exists", field="id")
    if capacity is not None and capacity < 0:
        raise InputError("capacity is a number of loans, 0 or more", field="capacity")
    if placement_days < 1:
        raise InputError("a placement lasts at least one day", field="placement_days")
    agency = Agency(agency_id, name, _rate(commission_rate), capacity, _buckets(buckets), placement_days)
    uow.agencies.add(agency)
    audit.append(
        uow,
        actor,
        "agency.create",
        f"agency:{agency_id}",
        {"name": name, "capacity": capacity, "buckets": agency.buckets},
    )
    return _agency_view(agency)


def _agency_view(agency: Agency) -> dict[str, Any]:
    return {
        "id": agency.id,
        "name": agency.name,
        "commission_rate": agency.commission_rate,
        "capacity": agency.capacity,
        "buckets": agency.buckets.split(",") if agency.buckets else [],
        "placement_days": agency.placement_days,
    }


def list_agencies(uow: UnitOfWork, today: date) -> list[dict[str, Any]]:
    """Every agency with the loans it holds today."""
    load = _load(uow)
    return [{**_agency_view(a), "holding": load.get(a.id, 0)} for a in uow.agencies.all()]


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
        record = uow.loans.record(loan_id)
        if placement_of(uow, loan_id, placed_on) is not None:
            raise InputError(f"loan {loan_id} is already placed", field="loan_ids")
        balance = compute_position(record.loan, placed_on).outstanding.total
        uow.agencies.place(
            loan_id,
            agency_id,
            placed_on,
            recall_on,
            rate,
            borrower_id=record.borrower_id,
            placed_balance=balance,
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
    placement = uow.agencies.active_placement(loan_id)
    if placement is None:
        raise NotFound(f"loan {loan_id!r} is not placed with an agency")
    recalled_on = on or datetime.now(UTC).date()
    uow.agencies.recall(placement.id, recalled_on)
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


# --- the policy's agency step: placement, recall at the recall date, re-placement -------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """What placement reads of one loan on the run day."""

    loan_id: str
    borrower_id: str
    bucket: str
    dpd: int
    outstanding: int


def _terms(agency: Agency) -> AgencyTerms:
    buckets = tuple(b for b in agency.buckets.split(",") if b)
    return AgencyTerms(agency.id, agency.commission_rate, agency.capacity, buckets)


def _load(uow: UnitOfWork) -> dict[str, int]:
    load: dict[str, int] = defaultdict(int)
    for p in uow.agencies.active_placements():
        load[p.agency_id] += 1
    return load


def _ended_on(p: Placement) -> date:
    return p.recalled_on or p.recall_on


def performance(uow: UnitOfWork, before: date) -> dict[str, Performance]:
    """Each agency's record over its placements made before `before`: balance placed and recovered during
    the placement (up to `before`)."""
    placements = uow.agencies.placements(before=before)
    if not placements:
        return {}
    start = min(p.placed_on for p in placements)
    paid = _payments_by_loan(uow, [p.loan_id for p in placements], start, before)
    placed: dict[str, int] = defaultdict(int)
    recovered: dict[str, int] = defaultdict(int)
    for p in placements:
        placed[p.agency_id] += p.placed_balance
        end = min(_ended_on(p), before)
        recovered[p.agency_id] += sum(
            a for d, a in paid.get(p.loan_id, []) if in_placement(d, p.placed_on, end)
        )
    return {k: Performance(placed[k], recovered[k]) for k in placed}


def _payments_by_loan(
    uow: UnitOfWork, loan_ids: list[str], start: date, end: date
) -> dict[str, list[tuple[date, int]]]:
    out: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for loan_id, _pid, day, amount in uow.agencies.payments_of(loan_ids, start, end):
        out[loan_id].append((day, amount))
    return out


def _barred(uow: UnitOfWork, borrower_ids: list[str], as_of: date) -> dict[str, list[str]]:
    """The facts in force on `as_of` that bar each borrower from placement (only borrowers with a bar)."""
    at = datetime.combine(as_of, time(23, 59), UTC)
    out: dict[str, list[str]] = {}
    for borrower_id, flags in uow.flags.for_borrowers(borrower_ids).items():
        live = [
            f.name
            for f in flags
            if f.in_force(at) and f.in_force_on(as_of) and not (f.name == "cease" and f.channel)
        ]
        bars = bars_to_placement(live)
        if bars:
            out[borrower_id] = bars
    return out


def _place_borrower(
    uow: UnitOfWork,
    loans: list[Account],
    as_of: date,
    cause: str,
    agencies: list[AgencyTerms],
    load: dict[str, int],
    perf: Mapping[str, Performance],
    days_of: Mapping[str, int],
    exclude: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Place one borrower's loans together with the agency the rules choose (or say why none)."""
    worst = max(loans, key=lambda a: a.dpd).bucket
    chosen = choose_agency(agencies, worst, len(loans), load, perf, exclude)
    borrower_id = loans[0].borrower_id
    if chosen is None:
        return {"borrower_id": borrower_id, "placed": False, "reason": f"no agency takes {worst} with room"}
    recall_on = as_of + timedelta(days=days_of[chosen.id])
    for a in loans:
        uow.agencies.place(
            a.loan_id,
            chosen.id,
            as_of,
            recall_on,
            chosen.commission_rate,
            borrower_id=borrower_id,
            placed_balance=a.outstanding,
            cause=cause,
        )
    load[chosen.id] = load.get(chosen.id, 0) + len(loans)
    return {
        "borrower_id": borrower_id,
        "placed": True,
        "agency_id": chosen.id,
        "loans": [a.loan_id for a in loans],
        "recall_on": recall_on.isoformat(),
        "cause": cause,
    }


def place_for_policy(
    uow: UnitOfWork,
    as_of: date,
    loan_ids: list[str],
    accounts: Mapping[str, Account],
    actor: str = "daily-run",
) -> list[dict[str, Any]]:
    """The agency step planned today for `loan_ids`: each borrower's delinquent loans, placed together with
    one agency, unless a fact bars the borrower (deceased, bankrupt, disputed, cease ...). A loan already
    held stays with its agency. Idempotent: a second run of the day finds the loans placed."""
    held = {p.loan_id: p for p in uow.agencies.active_placements()}
    borrowers = sorted({accounts[i].borrower_id for i in loan_ids if i in accounts})
    if not borrowers:
        return []
    by_borrower: dict[str, list[Account]] = defaultdict(list)
    for a in accounts.values():
        if a.borrower_id in borrowers and a.dpd > 0:
            by_borrower[a.borrower_id].append(a)
    barred = _barred(uow, borrowers, as_of)
    everyone = uow.agencies.all()
    agencies = [_terms(a) for a in everyone]
    days_of = {a.id: a.placement_days for a in everyone}
    load = _load(uow)
    perf = performance(uow, as_of)
    out = []
    for borrower_id in borrowers:
        loans = sorted(by_borrower.get(borrower_id, []), key=lambda a: a.loan_id)
        if borrower_id in barred:
            out.append(
                {"borrower_id": borrower_id, "placed": False, "reason": ", ".join(barred[borrower_id])}
            )
            continue
        waiting = [a for a in loans if a.loan_id not in held]
        if not waiting:
            continue
        holders = {held[a.loan_id].agency_id for a in loans if a.loan_id in held}
        if holders:  # the borrower is already with an agency: the other loans join it
            keep = [t for t in agencies if t.id in holders]
            result = _place_borrower(uow, waiting, as_of, "policy", keep, load, perf, days_of)
        else:
            result = _place_borrower(uow, waiting, as_of, "policy", agencies, load, perf, days_of)
        out.append(result)
    if out:
        audit.append(uow, actor, "agency.allocate", f"day:{as_of.isoformat()}", {"results": out})
    return out


def recall_due(
    uow: UnitOfWork,
    as_of: date,
    accounts: Mapping[str, Account],
    actor: str = "daily-run",
) -> list[dict[str, Any]]:
    """Recall every placement whose recall date has come, and place the borrower's loans that are still
    delinquent with another agency (never the one that just had them, while another fits)."""
    due = [p for p in uow.agencies.active_placements() if p.recall_on <= as_of]
    if not due:
        return []
    out: list[dict[str, Any]] = []
    by_borrower: dict[str, list[Placement]] = defaultdict(list)
    for p in due:
        uow.agencies.recall(p.id, p.recall_on)
        borrower_id = p.borrower_id or (accounts[p.loan_id].borrower_id if p.loan_id in accounts else "")
        by_borrower[borrower_id].append(p)
        out.append({"loan_id": p.loan_id, "agency_id": p.agency_id, "recalled_on": p.recall_on.isoformat()})
    barred = _barred(uow, sorted(b for b in by_borrower if b), as_of)
    everyone = uow.agencies.all()
    agencies = [_terms(a) for a in everyone]
    days_of = {a.id: a.placement_days for a in everyone}
    load = _load(uow)
    perf = performance(uow, as_of)
    for borrower_id, placements in sorted(by_borrower.items()):
        still = sorted(
            (
                accounts[p.loan_id]
                for p in placements
                if p.loan_id in accounts and accounts[p.loan_id].dpd > 0
            ),
            key=lambda a: a.loan_id,
        )
        if not still or borrower_id in barred:
            continue
        previous = tuple(sorted({p.agency_id for p in placements}))
        result = _place_borrower(uow, still, as_of, "replacement", agencies, load, perf, days_of, previous)
        if not result["placed"]:  # nobody else fits: the same agency may take it again
            result = _place_borrower(uow, still, as_of, "replacement", agencies, load, perf, days_of)
        out.append(result)
    audit.append(uow, actor, "agency.recall_due", f"day:{as_of.isoformat()}", {"results": out})
    return out


# --- what agencies earn -----------------------------------------------------------------------------------


def statement(uow: UnitOfWork, period: str, agency_id: str | None = None) -> dict[str, Any]:
    """The commission statement of a month (YYYY-MM): per agency, each recovery received in the month while
    the loan was placed with it, the rate of that placement and the commission, with totals."""
    try:
        start, end = period_bounds(period)
    except ValueError:
        raise InputError(f"not a month: {period!r} (YYYY-MM)", field="--period") from None
    if agency_id is not None and uow.agencies.get(agency_id) is None:
        raise NotFound(f"unknown agency {agency_id!r}")
    placements = [p for p in uow.agencies.placements(agency_id) if p.placed_on < end and _ended_on(p) > start]
    paid = uow.agencies.payments_of([p.loan_id for p in placements], start, end)
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for loan_id, payment_id, day, amount in paid:
        for p in placements:
            if p.loan_id == loan_id and in_placement(day, p.placed_on, _ended_on(p)):
                lines[p.agency_id].append(
                    {
                        "loan_id": loan_id,
                        "payment_id": payment_id,
                        "paid_on": day.isoformat(),
                        "recovered": amount,
                        "commission_rate": p.commission_rate,
                        "commission": commission(amount, p.commission_rate),
                    }
                )
                break
    agencies = []
    for agency in uow.agencies.all():
        if agency_id is not None and agency.id != agency_id:
            continue
        rows = lines.get(agency.id, [])
        agencies.append(
            {
                "agency_id": agency.id,
                "name": agency.name,
                "recovered": format_minor(sum(r["recovered"] for r in rows)),
                "commission": format_minor(sum(r["commission"] for r in rows)),
                "lines": [
                    {
                        **r,
                        "recovered": format_minor(r["recovered"]),
                        "commission": format_minor(r["commission"]),
                    }
                    for r in rows
                ],
            }
        )
    return {
        "period": period,
        "from": start.isoformat(),
        "to": (end - timedelta(days=1)).isoformat(),
        "agencies": agencies,
    }


def league_table(uow: UnitOfWork, start: date, end: date) -> list[dict[str, Any]]:
    """Agencies ranked by recovery rate over the placements in force between `start` and `end` (exclusive):
    accounts and balance placed, recovered during placement, commission earned, activities reported."""
    placements = [p for p in uow.agencies.placements() if p.placed_on < end and _ended_on(p) > start]
    paid = _payments_by_loan(uow, [p.loan_id for p in placements], start, end)
    activity = uow.agencies.activity_per_agency()
    rows = []
    for agency in uow.agencies.all():
        mine = [p for p in placements if p.agency_id == agency.id]
        placed = sum(p.placed_balance for p in mine)
        recovered = 0
        earned = 0
        for p in mine:
            for day, amount in paid.get(p.loan_id, []):
                if in_placement(day, p.placed_on, _ended_on(p)):
                    recovered += amount
                    earned += commission(amount, p.commission_rate)
        rows.append(
            {
                "agency_id": agency.id,
                "name": agency.name,
                "accounts": len({p.loan_id for p in mine}),
                "placed": placed,
                "recovered": recovered,
                "recovery_rate": round(recovered / placed, 4) if placed else 0.0,
                "commission": earned,
                "net_recovered": recovered - earned,
                "activities": activity.get(agency.id, 0),
            }
        )
    rows.sort(key=lambda r: (-r["recovery_rate"], -r["recovered"], r["agency_id"]))
    for rank, r in enumerate(rows, start=1):
        r["rank"] = rank
    return rows
