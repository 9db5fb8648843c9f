"""The agent's desk: my queue with its call tasks, one account as an agent works it, "may I call now?",
and recording a call (the contact attempt, its audit row, the case note, the task closed, and what the
call produced: a promise, a dispute or a complaint).

The call is judged by the dispatcher's decision function (domain/compliance `decide`) on the same facts:
the debtor's recorded flags, their contact history and the account's pauses; a call that is not allowed
now is not recorded (the agent is told until when it is deferred, or why it is blocked).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from arrears.domain.agent_calls import CALL_CHANNEL, CALL_MESSAGE_TYPE, CONTACT_OUTCOME, next_action_on
from arrears.domain.cases import QueueEntry, agent_queue, check_outcome
from arrears.domain.compliance.batch import lookback
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.decision import ComplianceDecision, decide
from arrears.domain.compliance.facts import contact_address, debtor_for
from arrears.domain.compliance.model import Attempt
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.disputes import SlaPolicy
from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_name
from arrears.domain.outbox import ContactMade
from arrears.domain.records import Borrower, LoanRecord
from arrears.services import cases, disputes, promises
from arrears.services.accounts import AccountView, show_account
from arrears.services.agencies import placement_of
from arrears.services.auth import Principal
from arrears.services.compliance_audit import audit_dispatch
from arrears.services.plans import plans_of
from arrears.services.unit_of_work import UnitOfWork

HISTORY_DAYS = 90
# A loan's open pauses (their reasons: the dispute category, or hardship) as the daily run reads them.
DISPUTE_PAUSES = frozenset({"dispute", "wrong_amount", "already_paid"})
IDENTITY_PAUSES = frozenset({"not_my_debt", "identity_theft"})


def in_scope(uow: UnitOfWork, who: Principal, loan_id: str, today: date) -> bool:
    """Whether the user may open the loan: an agency only the loans placed with it today."""
    if not uow.loans.exists(loan_id):
        return False
    if who.role == "agency":
        return placement_of(uow, loan_id, today) == who.agency_id
    return True


def my_queue(uow: UnitOfWork, who: Principal, today: date, limit: int = 30) -> list[dict[str, Any]]:
    """The user's cases, best first (domain.cases.agent_queue: own, then unassigned, that their skills
    cover), each with its loans and their open call tasks; an agency user: the cases of its placed loans.
    A few statements whatever the page's length (the desk is the agents' most used page)."""
    if who.role == "agency":
        placed = sorted(uow.agencies.placed_loans(who.agency_id or "", today))[:limit]
        owners = {loan_id: uow.loans.record(loan_id).borrower_id for loan_id in placed}
        found = [uow.cases.of_borrower(b) for b in dict.fromkeys(owners.values())]
        picked = [c for c in found if c is not None and c.status == "open"]
        loans = {b: [loan for loan, owner in owners.items() if owner == b] for b in owners.values()}
    else:
        entries = queue_page(uow, who, today, limit)
        picked = uow.desk.cases([e.case_id for e in entries])
        loans = uow.loans.of_borrowers([c.borrower_id for c in picked])
    rows = [{**asdict(c), "loan_ids": loans.get(c.borrower_id, [])} for c in picked]
    tasks = uow.agent_tasks.open_for([loan for row in rows for loan in row["loan_ids"]])
    for row in rows:
        row["tasks"] = [t for t in tasks if t["loan_id"] in row["loan_ids"]]
    return rows


PAGE = 200


def queue_page(uow: UnitOfWork, who: Principal, today: date, limit: int) -> list[QueueEntry]:
    """The first `limit` entries of the user's queue: the store hands candidates in the queue's order, page
    by page, and domain.cases.agent_queue keeps those the user may work (its order is the same)."""
    out: list[QueueEntry] = []
    offset = 0
    while len(out) < limit:
        candidates = uow.desk.queue_candidates(who.name, today, PAGE, offset)
        out.extend(agent_queue(candidates, who.name, who.skills, today))
        if len(candidates) < PAGE:
            break
        offset += PAGE
    return out[:limit]


def call_check(
    uow: UnitOfWork,
    profile: ComplianceProfile,
    loan_id: str,
    now: datetime,
    *,
    known: tuple[LoanRecord, Borrower | None] | None = None,
    channel: str = CALL_CHANNEL,
    message_type: str = CALL_MESSAGE_TYPE,
) -> ComplianceDecision:
    """May an agent call the borrower of this loan at `now`? The dispatcher's rules on the same facts.
    `known`: the loan's record and borrower when the caller has read them already. A field visit asks
    the same question with channel "visit"."""
    record = known[0] if known else uow.loans.record(loan_id)
    borrower = known[1] if known else uow.borrowers.get(record.borrower_id)
    tz_name = (borrower.timezone if borrower else None) or None
    local = zone(tz_name or profile.unknown_timezones[0])
    back = lookback(profile)
    history = uow.contacts.events([record.borrower_id], None if back is None else now - back)
    flags = uow.flags.for_borrowers([record.borrower_id], since=now)
    day = now.astimezone(local).date()
    paused = {p.reason for p in record.loan.pauses if p.covers(day)}
    debtor = debtor_for(
        record.borrower_id,
        (tz_name,) if tz_name else (),
        flags.get(record.borrower_id, ()),
        now,
        day,
        loan_id,
        disputed=bool(paused & DISPUTE_PAUSES),
        identity_theft=bool(paused & IDENTITY_PAUSES),
        hardship="hardship" in paused,
        recorded=True,
    )
    attempt = Attempt(
        channel=channel,
        at=now,
        target=contact_address(
            channel,
            borrower.phone if borrower else None,
            borrower.email if borrower else None,
            mask_name(borrower.name if borrower else None) or record.borrower_id,
        ),
        message_type=message_type,
        debt=loan_id,
    )
    return decide(profile, debtor, history.get(record.borrower_id, []), attempt)


@dataclass(frozen=True, slots=True)
class CallNotAllowed(Exception):
    """A call the rules do not allow now (defer: until when; block: which rules)."""

    decision: ComplianceDecision

    def __str__(self) -> str:
        return f"a call now is {self.decision.decision}ed by {', '.join(self.decision.rules)}"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What the agent tells the desk after a call; the PTP / dispute fields when the outcome needs them."""

    outcome: str
    note: str = ""
    promise_amount: int | None = None
    promise_due: date | None = None
    category: str | None = None  # a dispute's or complaint's category


def record_call(
    uow: UnitOfWork,
    profile: ComplianceProfile,
    loan_id: str,
    call: CallOutcome,
    now: datetime,
    who: Principal,
    sla: SlaPolicy,
) -> dict[str, Any]:
    """Record a call the rules allow now: the contact attempt and its audit row (as the dispatcher records
    its contacts), a promise / dispute / complaint when the outcome is one, the case note with the next
    action date, and the loan's open call tasks closed. Not committed."""
    check_outcome(call.outcome)
    decision = call_check(uow, profile, loan_id, now)
    if not decision.allowed:
        raise CallNotAllowed(decision)
    record = uow.loans.record(loan_id)
    borrower = uow.borrowers.get(record.borrower_id)
    today = now.astimezone(zone((borrower.timezone if borrower else None) or "Asia/Shanghai")).date()
    produced: dict[str, Any] = {}
    if call.outcome == "promise_to_pay":
        if call.promise_amount is None or call.promise_amount <= 0:
            raise InputError("a promise needs an amount above zero", field="amount")
        if call.promise_due is None or call.promise_due < today:
            raise InputError("a promise needs a due date from today on", field="due_on")
        produced["promise"] = promises.make_promise(
            uow, loan_id, call.promise_amount, call.promise_due, today, who.actor
        )
    elif call.outcome in ("dispute", "complaint"):
        produced[call.outcome] = disputes.open_dispute(
            uow,
            loan_id,
            call.outcome,
            call.category or "",
            call.note,
            today,
            sla,
            who.actor,
            channel=CALL_CHANNEL,
            agent=who.name,
            agency_id=who.agency_id,
        )
    tasks = uow.agent_tasks.open_for([loan_id])
    target = contact_address(
        CALL_CHANNEL,
        borrower.phone if borrower else None,
        borrower.email if borrower else None,
        mask_name(borrower.name if borrower else None) or record.borrower_id,
    )
    contact = ContactMade(
        loan_id=loan_id,
        borrower_id=record.borrower_id,
        channel=CALL_CHANNEL,
        target=target,
        at=now,
        outcome=CONTACT_OUTCOME[call.outcome],
        message_type=CALL_MESSAGE_TYPE,
        outbox_id=tasks[0]["outbox_id"] if tasks else None,  # type: ignore[arg-type]
        provider_id=None,
    )
    uow.outbox.add_contacts([contact])
    audit_dispatch(
        uow,
        [
            {
                "loan_id": loan_id,
                "outbox_id": contact.outbox_id,
                "channel": CALL_CHANNEL,
                "outcome": contact.outcome,
                "target": target,
                "message_type": CALL_MESSAGE_TYPE,
                "at": now,
            }
        ],
        [],
        who.actor,
    )
    case = uow.cases.of_borrower(record.borrower_id)
    if case is not None:
        cases.add_note(
            uow,
            case.id,
            who.name,
            call.note or call.outcome,
            outcome=call.outcome,
            channel=CALL_CHANNEL,
            next_action_on=next_action_on(call.outcome, today, call.promise_due),
        )
    closed = uow.agent_tasks.close_for_loan(loan_id)
    return {"contact_outcome": contact.outcome, "closed_tasks": closed, **produced}


def account_page(
    uow: UnitOfWork, loan_id: str, as_of: date, who: Principal, now: datetime, profile: ComplianceProfile
) -> dict[str, Any]:
    """Everything the account page shows, "may I call now?" included; NotFound outside the user's scope
    (an agency: not placed)."""
    if not in_scope(uow, who, loan_id, as_of):
        raise NotFound(f"unknown loan {loan_id!r}")
    view: AccountView = show_account(uow, loan_id, as_of)
    borrower_id = view.record.borrower_id
    since = now - timedelta(days=HISTORY_DAYS)
    contacts = uow.activity.contact_history([borrower_id], since, now + timedelta(seconds=1))
    case = uow.cases.of_borrower(borrower_id)
    cur = view.record.loan.currency
    return {
        "view": view,
        "position": view.position.to_dict(),
        "borrower": view.borrower_view(),
        "currency": cur,
        "contacts": list(reversed(contacts.get(borrower_id, []))),
        "promises": promises.promises_of(uow, [loan_id]),
        "plans": plans_of(uow, [loan_id]),
        "disputes": disputes.list_disputes(uow, loan_ids=[loan_id], today=as_of),
        "case": case,
        "notes": cases.notes(uow, case.id) if case is not None else [],
        "tasks": uow.agent_tasks.open_for([loan_id]),
        "placed_with": placement_of(uow, loan_id, as_of),
        "decision": call_check(uow, profile, loan_id, now, known=(view.record, view.borrower)),
    }


def reveal(uow: UnitOfWork, loan_id: str, as_of: date, who: Principal) -> dict[str, str | None]:
    """The borrower's name, phone and e-mail unmasked, recorded in the audit log as pii.view (committed)."""
    if who.role == "agency":
        raise NotFound(f"unknown loan {loan_id!r}")
    view = show_account(uow, loan_id, as_of, unmasked=True, actor=who.actor)
    return view.borrower_view() or {}


__all__ = ["CallNotAllowed", "CallOutcome", "account_page", "call_check", "my_queue", "record_call", "reveal"]
