"""The books' part of the daily run (issue 19 parts 1-3), in the run's transaction, after the engine:

1. charge-offs: an account past its product's charge-off DPD is charged off (balanced postings);
   charged-off accounts get their recoveries, waivers and concessions booked, and are reversed (paid in
   full) or settled (paid after a concession) — all from the ledger (domain/charge_off.py);
2. the delinquency history: each change of bucket, pause, charge-off or cure since the last recorded state
   (domain/delinquency.py), with the outbound events it raises (domain/outbound_events.py);
3. credit lines: a `freeze_line` step freezes the loan's line and goes out as the SMS that tells the
   borrower; a frozen line whose loans are all cured is unfrozen, and the borrower told.

Everything is keyed (loan, day, kind / ref), so re-running a day records nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from arrears.domain.charge_off import ChargeOff, ChargeOffRules, Transaction, books, charge_off
from arrears.domain.credit_lines import FREEZE_STEP_CHANNEL, UNFROZEN_TEMPLATE
from arrears.domain.delinquency import DelinquencyChange, DelinquencyState, changes
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor
from arrears.domain.outbound_events import OutboundEvent
from arrears.domain.runs import PlannedAction, idempotency_key
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

RUN_ACTOR = "daily-run"  # who the audit log names for the books' own changes
MESSAGE_CHANNEL = "sms"  # how an unfreeze is told to the borrower (a freeze step's row is an SMS already)
UNFREEZE_STEP = "line_unfrozen"


@dataclass
class BooksDay:
    """What the books did on a day (counted into the run record)."""

    changes: int = 0
    charged_off: int = 0
    reversed: int = 0
    settled: int = 0
    recoveries: int = 0
    frozen: int = 0
    unfrozen: int = 0
    events: int = 0
    audited: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (action, subject, detail)
    cancelled: set[str] = field(
        default_factory=set
    )  # idempotency keys of freeze steps with no line to freeze

    def counts(self) -> dict[str, int]:
        return {
            "delinquency_changes": self.changes,
            "charged_off": self.charged_off,
            "charge_offs_reversed": self.reversed,
            "charge_offs_settled": self.settled,
            "recoveries": self.recoveries,
            "lines_frozen": self.frozen,
            "lines_unfrozen": self.unfrozen,
            "events": self.events,
        }


def record_day(
    uow: UnitOfWork,
    as_of: date,
    assignments: Any,  # the engine's assignments (pyarrow Table): loan_id, borrower_id, product, dpd, bucket ...
    rows: Sequence[PlannedAction],
    rules: ChargeOffRules | None = None,
    now: datetime | None = None,
) -> BooksDay:
    """Book day `as_of` inside `uow` (not committed here), after the day's outbox `rows` are written."""
    rules = rules or uow.books.charge_off_rules()
    at = now or datetime.now(UTC)
    day = BooksDay()
    accounts = assignments.select(
        ["loan_id", "borrower_id", "product", "dpd", "bucket", "hardship", "disputed", "identity_dispute"]
    ).to_pylist()
    borrower_of = {a["loan_id"]: a["borrower_id"] for a in accounts}

    closed = _book_charge_offs(uow, as_of, accounts, rules, at, day)
    charged = {co.loan_id for co, status, _ in uow.books.charge_offs() if status == "charged_off"}

    before = uow.books.states_before(as_of)
    recorded: list[tuple[DelinquencyChange, DelinquencyState]] = []
    for a in accounts:
        loan_id = a["loan_id"]
        now_state = DelinquencyState(
            a["bucket"],
            a["dpd"],
            bool(a["hardship"] or a["disputed"] or a["identity_dispute"]),
            loan_id in charged,
        )
        was = before.get(loan_id)
        found = changes(loan_id, as_of, was, now_state)
        if loan_id in closed:
            status = closed[loan_id]
            found.append(
                DelinquencyChange(
                    loan_id,
                    as_of,
                    f"charge_off_{status}",
                    was.bucket if was else None,
                    now_state.bucket,
                    a["dpd"],
                    "paid in full" if status == "reversed" else "paid after a concession",
                )
            )
        recorded.extend((c, now_state) for c in found)
    added = uow.books.add_changes(recorded, at)
    day.changes = len(added)
    events = [
        OutboundEvent(
            kind,
            c.loan_id,
            c.on,
            c.payload(borrower_of.get(c.loan_id, "")),
            key=f"{kind}:{c.loan_id}:{c.on.isoformat()}:{c.kind}",
        )
        for c in added
        for kind in c.event_kinds()
    ]
    day.events = uow.outbound_events.add(events, at)
    _lines(uow, as_of, rows, accounts, at, day)
    audit.append_all(uow, RUN_ACTOR, day.audited)  # charge-offs, their end, freezes: who did what, when
    return day


def _book_charge_offs(
    uow: UnitOfWork,
    as_of: date,
    accounts: Sequence[Mapping[str, Any]],
    rules: ChargeOffRules,
    at: datetime,
    day: BooksDay,
) -> dict[str, str]:
    """Charge off the accounts past their threshold and book the open charge-offs; the loans whose
    charge-off ended today (loan id → reversed | settled)."""
    known = {co.loan_id: (co, status) for co, status, _ in uow.books.charge_offs()}
    due = [
        a["loan_id"]
        for a in accounts
        if a["loan_id"] not in known and rules.for_product(a["product"] or "").due(a["dpd"])
    ]
    product = {a["loan_id"]: a["product"] or "" for a in accounts}
    txns: list[Transaction] = []
    for loan in uow.loans.stream(due) if due else ():
        position = compute_position(loan, as_of)
        co = charge_off(position, rules.for_product(product.get(loan.id, "")))
        if co is not None and uow.books.add_charge_off(co):
            known[loan.id] = (co, "charged_off")
            day.charged_off += 1
            detail = {"on": as_of.isoformat(), "dpd": co.dpd, "written_off": co.amounts.total}
            day.audited.append(("books.charge_off", f"loan:{loan.id}", detail))
    open_ = sorted(loan_id for loan_id, (_, status) in known.items() if status == "charged_off")
    forgiven: dict[str, list[Transaction]] = {}
    for t in uow.books.transactions(open_, kind="forgiveness") if open_ else ():
        if t.on <= as_of:
            forgiven.setdefault(t.loan_id, []).append(t)
    ended: dict[str, str] = {}
    for loan in uow.loans.stream(open_) if open_ else ():
        co = known[loan.id][0]
        if co.on > as_of:
            continue
        result = books(co, loan, compute_position(loan, as_of), forgiven.get(loan.id, ()))
        txns.extend(result.transactions)
        day.recoveries += sum(1 for t in result.transactions if t.kind == "recovery" and t.on == as_of)
        if result.status != "charged_off" and result.closed_on is not None:
            uow.books.close_charge_off(loan.id, result.status, result.closed_on)
            ended[loan.id] = result.status
            detail = {"on": result.closed_on.isoformat(), "recovered": result.recovered}
            day.audited.append((f"books.charge_off_{result.status}", f"loan:{loan.id}", detail))
            if result.status == "reversed":
                day.reversed += 1
            else:
                day.settled += 1
    uow.books.add_transactions(txns, at)
    return ended


def _lines(
    uow: UnitOfWork,
    as_of: date,
    rows: Sequence[PlannedAction],
    accounts: Sequence[Mapping[str, Any]],
    at: datetime,
    day: BooksDay,
) -> None:
    """Freeze the lines of today's freeze steps (the step's row goes out as the SMS that tells the borrower;
    without an active line to freeze it is cancelled), unfreeze cured lines and tell the borrower."""
    freezing = [r for r in rows if r.channel == FREEZE_STEP_CHANNEL]
    line_of = uow.credit_lines.line_of(sorted({r.loan_id for r in freezing})) if freezing else {}
    for r in freezing:
        line_id = line_of.get(r.loan_id)
        line = uow.credit_lines.get(line_id) if line_id else None
        if line is None or line.status != "active":
            why = "no credit line to freeze" if line is None else f"credit line {line.id} is {line.status}"
            uow.credit_lines.cancel_notice(r.idempotency_key, why)
            day.cancelled.add(r.idempotency_key)
            continue
        uow.credit_lines.set_status(line.id, "frozen", as_of, f"{r.loan_id}:{r.step_id}")
        day.frozen += 1
        day.audited.append(("line.frozen", f"line:{line.id}", {"loan": r.loan_id, "step": r.step_id}))
    dpd = {a["loan_id"]: a["dpd"] for a in accounts}
    frozen = [x for x in uow.credit_lines.all(status="frozen") if x.frozen_on and x.frozen_on < as_of]
    loans = uow.credit_lines.loans([x.id for x in frozen]) if frozen else {}
    run_id = rows[0].run_id if rows else ""
    notices = []
    for line in frozen:
        under = loans.get(line.id, [])
        if not under or any(dpd.get(loan_id, 0) > 0 for loan_id in under):
            continue
        uow.credit_lines.set_status(line.id, "active", None, None)
        day.unfrozen += 1
        day.audited.append(("line.unfrozen", f"line:{line.id}", {"cured": under}))
        loan_id = (line.frozen_by or under[0]).split(":", 1)[0]
        notices.append(_unfreeze_notice(loan_id, line.borrower_id, as_of, run_id, at))
    if notices:
        uow.runs.add_planned(notices)


def _unfreeze_notice(loan_id: str, borrower_id: str, as_of: date, run_id: str, at: datetime) -> PlannedAction:
    return PlannedAction(
        idempotency_key=idempotency_key(loan_id, as_of, UNFREEZE_STEP, MESSAGE_CHANNEL),
        run_id=run_id,
        loan_id=loan_id,
        borrower_id=borrower_id,
        as_of=as_of,
        anchor=None,
        kind="step",
        step_id=UNFREEZE_STEP,
        channel=MESSAGE_CHANNEL,
        template=UNFROZEN_TEMPLATE,
        tone="gentle",
        requires="",
        segment="",
        experiment="",
        arm="",
        status="pending",  # judged by the compliance rules when it is sent
        rules="",
        next_allowed_at=None,
        valid_days=3,
        expires_at=datetime.combine(as_of + timedelta(days=4), datetime.min.time(), UTC),
        created_at=at,
    )


def history(uow: UnitOfWork, loan_id: str) -> list[DelinquencyChange]:
    return uow.books.history(loan_id)


def charge_off_books(uow: UnitOfWork, loan_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per charged-off loan: the charge-off, its status and its account balances from the postings."""
    ids = None if loan_ids is None else list(loan_ids)
    txns: dict[str, list[Transaction]] = {}
    for t in uow.books.transactions(ids):
        txns.setdefault(t.loan_id, []).append(t)
    out = []
    for co, status, closed_on in uow.books.charge_offs(loan_ids=ids):
        balances: dict[str, int] = {}
        for t in txns.get(co.loan_id, []):
            for e in t.entries:
                balances[e.account] = balances.get(e.account, 0) + e.amount
        out.append(
            {
                "charge_off": co,
                "status": status,
                "closed_on": closed_on,
                "balances": balances,
                "transactions": txns.get(co.loan_id, []),
            }
        )
    return out


def charge_off_kpis(uow: UnitOfWork, first: date, last: date, currency: str = "CNY") -> dict[str, Any]:
    """Gross and net charge-off of the window, recoveries on charged-off balances (booked apart from
    ordinary repayments), reversals, and the recovery rate on every balance charged off through `last`.

    Amounts as decimal strings of `currency`."""
    cos = uow.books.charge_offs()
    txns = uow.books.transactions([co.loan_id for co, _, _ in cos]) if cos else []
    gross = sum(co.amounts.total for co, _, _ in cos if first <= co.on <= last)
    count = sum(1 for co, _, _ in cos if first <= co.on <= last)

    def cash(t: Transaction) -> int:
        return sum(e.amount for e in t.entries if e.account == "cash")

    recovered = sum(cash(t) for t in txns if t.kind == "recovery" and first <= t.on <= last)
    reversed_ = [t for t in txns if t.kind == "reversal" and first <= t.on <= last]
    to_date = sum(co.amounts.total for co, _, _ in cos if co.on <= last)
    recovered_to_date = sum(cash(t) for t in txns if t.kind == "recovery" and t.on <= last)
    return {
        "charged_off_accounts": count,
        "gross_charge_off": format_minor(gross, currency),
        "recoveries": format_minor(recovered, currency),
        "net_charge_off": format_minor(gross - recovered, currency),
        "charge_offs_reversed": len(reversed_),
        "charged_off_recovery_rate": (recovered_to_date / to_date) if to_date else None,
    }


__all__ = ["BooksDay", "ChargeOff", "charge_off_books", "charge_off_kpis", "history", "record_day"]
