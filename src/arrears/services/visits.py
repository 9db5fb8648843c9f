"""Field visits (上门): the policy's `visit` step opens a visit task for the field team of the borrower's
region; the field agent's report is a contact attempt judged and audited like an agent's call
(services/desk.py `call_check` with channel "visit"), refused when it breaks the profile's visit rules
(domain/field_visits.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from arrears.domain.compliance.clock import at_local_time, zone
from arrears.domain.compliance.facts import contact_address
from arrears.domain.compliance.profile import ComplianceProfile, HoursRule
from arrears.domain.errors import InputError, NotFound
from arrears.domain.field_visits import (
    VISIT_CHANNEL,
    VISIT_MESSAGE_TYPE,
    VISIT_OUTCOMES,
    check_report,
    rules_for,
    team_for,
    visit_window,
)
from arrears.domain.masking import mask_address, mask_name
from arrears.domain.money import format_minor
from arrears.domain.outbox import ContactMade
from arrears.domain.runs import PlannedAction
from arrears.services import audit
from arrears.services.compliance_audit import audit_dispatch
from arrears.services.desk import CallNotAllowed, call_check
from arrears.services.unit_of_work import UnitOfWork

DEFAULT_VISIT_COST = 8000  # 80.00 in minor units: travel and two agents' time, when the report names none


def allowed_hours(profile: ComplianceProfile) -> tuple[time, time] | None:
    """The narrowest local hours the profile's hours rules allow in-person contact, or None."""
    start: time | None = None
    end: time | None = None
    for rule in profile.rules_of(HoursRule):
        if VISIT_CHANNEL in rule.channels:
            start = rule.start if start is None else max(start, rule.start)
            end = rule.end if end is None else min(end, rule.end)
    return (start, end) if start is not None and end is not None else None


def open_visits(
    uow: UnitOfWork,
    as_of: date,
    profile: ComplianceProfile,
    rows: Sequence[PlannedAction],
    teams: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A visit task for each of today's visit steps the compliance filter allowed (idempotent by the
    outbox row's key): the team of the borrower's region, the window in the borrower's local time, and
    whether two agents and a recording are required."""
    rules = rules_for(profile.name, profile.extends)
    start, end = visit_window(rules, allowed_hours(profile))
    out = []
    for row in rows:
        if row.channel != VISIT_CHANNEL or row.status != "pending":
            continue
        borrower = uow.borrowers.get(row.borrower_id)
        tz = zone((borrower.timezone if borrower else None) or profile.unknown_timezones[0])
        region = (borrower.region if borrower else None) or ""
        visit = {
            "idempotency_key": row.idempotency_key,
            "loan_id": row.loan_id,
            "borrower_id": row.borrower_id,
            "region": region,
            "team": team_for(region, teams or {}),
            "day": as_of,
            "window_start": at_local_time(as_of, start, tz),
            "window_end": at_local_time(as_of, end, tz),
            "two_person": rules.two_person,
            "recording": rules.recording,
            "status": "open",
        }
        if uow.visits.add(visit):
            out.append({"loan_id": row.loan_id, "team": visit["team"], "day": as_of.isoformat()})
    if out:
        audit.append(uow, "daily-run", "visit.open", f"day:{as_of.isoformat()}", {"visits": out})
    return out


def _view(visit: dict[str, Any], address: str | None, *, full: bool) -> dict[str, Any]:
    return {
        "id": visit["id"],
        "loan_id": visit["loan_id"],
        "borrower_id": visit["borrower_id"],
        "team": visit["team"],
        "region": visit["region"],
        "day": visit["day"].isoformat(),
        "window": [visit["window_start"].isoformat(), visit["window_end"].isoformat()],
        "two_person": visit["two_person"],
        "recording": visit["recording"],
        "address": address if full else mask_address(address),
        "status": visit["status"],
        "outcome": visit["outcome"],
        "cost": format_minor(visit["cost"]),
    }


def queue(uow: UnitOfWork, team: str | None = None, status: str | None = "open") -> list[dict[str, Any]]:
    """Visit tasks (a team's, or all), addresses masked past the city."""
    out = []
    for visit in uow.visits.find(status=status, team=team):
        borrower = uow.borrowers.get(visit["borrower_id"])
        out.append(_view(visit, borrower.address if borrower else None, full=False))
    return out


def sheet(uow: UnitOfWork, visit_id: int, actor: str) -> dict[str, Any]:
    """The visit sheet the field team takes along: the full address (audited as pii.view)."""
    visit = uow.visits.get(visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id}")
    borrower = uow.borrowers.get(visit["borrower_id"])
    out = _view(visit, borrower.address if borrower else None, full=True)
    out["name"] = borrower.name if borrower else None
    out["avoid_workplace"] = _avoid_workplace(uow, visit["borrower_id"])
    audit.append(
        uow,
        actor,
        "pii.view",
        f"borrower:{visit['borrower_id']}",
        {"fields": ["name", "address"], "for": f"visit:{visit_id}"},
    )
    return out


def _avoid_workplace(uow: UnitOfWork, borrower_id: str) -> bool:
    now = datetime.now(UTC)
    flags = uow.flags.for_borrowers([borrower_id], since=now).get(borrower_id, [])
    return any(f.name == "employer_prohibits_contact" and f.in_force(now) for f in flags)


def record_visit(
    uow: UnitOfWork,
    profile: ComplianceProfile,
    visit_id: int,
    outcome: str,
    agents: tuple[str, ...],
    at: datetime,
    actor: str,
    *,
    place: str = "home",
    recording: str = "",
    cost: int | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The field agents' report of a visit: checked against the visit rules and, as a contact attempt at
    `at`, against the compliance profile (hours, holds, caps) exactly as an agent's call; then recorded
    in the contact history and the audit log and the task closed. Not committed."""
    visit = uow.visits.get(visit_id)
    if visit is None:
        raise NotFound(f"no visit {visit_id}")
    if visit["status"] != "open":
        raise InputError(f"visit {visit_id} is {visit['status']}", field="visit")
    if at.tzinfo is None:
        raise InputError("the visit's time needs a time zone", field="at")
    rules = rules_for(profile.name, profile.extends)
    check_report(rules, outcome, agents, recording, place, _avoid_workplace(uow, visit["borrower_id"]))
    decision = call_check(
        uow, profile, visit["loan_id"], at, channel=VISIT_CHANNEL, message_type=VISIT_MESSAGE_TYPE
    )
    if not decision.allowed:
        audit.append(
            uow,
            actor,
            "visit.refused",
            f"loan:{visit['loan_id']}",
            {"visit": visit_id, "decision": decision.decision, "rules": list(decision.rules)},
        )
        raise CallNotAllowed(decision)
    borrower = uow.borrowers.get(visit["borrower_id"])
    target = contact_address(
        VISIT_CHANNEL, None, None, mask_name(borrower.name if borrower else None) or visit["borrower_id"]
    )
    contact = ContactMade(
        loan_id=visit["loan_id"],
        borrower_id=visit["borrower_id"],
        channel=VISIT_CHANNEL,
        target=target,
        at=at,
        outcome=VISIT_OUTCOMES[outcome],
        message_type=VISIT_MESSAGE_TYPE,
        outbox_id=None,  # type: ignore[arg-type]
        provider_id=f"visit:{visit_id}",
    )
    uow.outbox.add_contacts([contact])
    audit_dispatch(
        uow,
        [
            {
                "loan_id": visit["loan_id"],
                "outbox_id": None,
                "channel": VISIT_CHANNEL,
                "outcome": contact.outcome,
                "target": target,
                "message_type": VISIT_MESSAGE_TYPE,
                "at": at,
            }
        ],
        [],
        actor,
    )
    spent = DEFAULT_VISIT_COST if cost is None else cost
    uow.visits.close(
        visit_id,
        {
            "status": "done",
            "agent": ",".join(agents),
            "outcome": outcome,
            "cost": spent,
            "done_at": at,
            "rules": ",".join(decision.rules),
        },
    )
    audit.append(
        uow,
        actor,
        "visit.record",
        f"loan:{visit['loan_id']}",
        {
            "visit": visit_id,
            "outcome": outcome,
            "agents": list(agents),
            "place": place,
            "recording": recording,
            "note": note,
        },
    )
    return {
        "visit": visit_id,
        "status": "done",
        "contact_outcome": contact.outcome,
        "cost": format_minor(spent),
    }


def visit_kpis(uow: UnitOfWork, start: date, end: date) -> dict[str, Any]:
    """Visits done between `start` and `end` (exclusive): count, cost, and what the visited loans paid in the
    30 days after the visit; cost and recovery per visit."""
    done = [v for v in uow.visits.find(status="done") if start <= v["day"] < end]
    cost = sum(v["cost"] for v in done)
    recovered = 0
    for v in done:
        day = v["day"]
        paid = uow.agencies.payments_of([v["loan_id"]], day, date.fromordinal(day.toordinal() + 31))
        recovered += sum(amount for *_, amount in paid)
    n = len(done)
    return {
        "visits": n,
        "met": sum(1 for v in done if VISIT_OUTCOMES.get(v["outcome"] or "") == "met"),
        "cost": format_minor(cost),
        "recovered_30d": format_minor(recovered),
        "cost_per_visit": format_minor(cost // n) if n else "0.00",
        "recovery_per_visit": format_minor(recovered // n) if n else "0.00",
    }
