"""Collections KPIs over a window of days, computed from the store only (definitions: docs/kpi.md).

The window is [start, end], both days included. "Opening" is the ledger at the end of the day before
`start`, "closing" the ledger at the end of `end`, both from the store's snapshot through the vector
ledger (the engine's arithmetic, identical to the domain ledger). Contacts are contact_attempts whose
instant falls on a window day in Beijing time; sends and costs are deliveries; actions and compliance
outcomes are outbox rows planned in the window; promises, disputes and complaints are the case-work tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from arrears.domain.activity import PlannedSegment
from arrears.domain.compliance.channels import VOICE
from arrears.domain.errors import InputError
from arrears.domain.ledger import compute_position
from arrears.domain.money import exact_total, format_minor, parse_minor
from arrears.domain.products import LedgerSettings
from arrears.domain.roll_rates import bucket_rank, months, roll_matrix
from arrears.domain.roll_rates import roll_rates as window_roll_rates
from arrears.engine.evaluation import ACCIDENTAL
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_ledger import LedgerColumns, compute_ledger
from arrears.services.unit_of_work import UnitOfWork

BEIJING = ZoneInfo("Asia/Shanghai")
EPOCH = date(1970, 1, 1)
RIGHT_PARTY = frozenset({"connected", "conversation"})
COMPLIANCE_STATUSES = ("pending", "awaiting_approval", "deferred", "blocked", "cancelled", "sent", "dead")

# Unit cost of one send per channel, in fen (CNY minor units). Rough market prices in China: an SMS about
# ¥0.05; push and e-mail nearly free; an automated call ¥0.30; a human agent's call about ¥3 of salary;
# a posted letter ¥3; a lawyer's letter ¥50 (a fixed fee per letter from the engaged firm); a bureau
# notice is a letter; agency and litigation are paid by commission on what they recover, not per send.
DEFAULT_UNIT_COSTS = {
    "sms": 5,
    "freeze_line": 5,  # the SMS that tells the borrower their line is frozen
    "push": 1,
    "in_app": 0,
    "email": 1,
    "robocall": 30,
    "agent_call": 300,
    "letter": 300,
    "lawyer_letter": 5000,
    "credit_bureau_notice": 300,
    "agency": 0,
    "litigation": 0,
}


@dataclass(frozen=True)
class CostTable:
    """Unit cost per channel in minor units; channels not listed cost nothing."""

    unit: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_UNIT_COSTS))

    def of(self, channel: str) -> int:
        return self.unit.get(channel, 0)


def cost_table(entries: Mapping[Any, Any]) -> CostTable:
    """Channel → cost per send as a decimal string ("0.05"), over the defaults. The file is read on the
    caller's side (arrears.adapters.kpi_costs.load_costs); a bad amount raises InputError naming the
    channel as its field."""
    unit = dict(DEFAULT_UNIT_COSTS)
    for channel, value in entries.items():
        try:
            unit[str(channel)] = parse_minor(str(value))
        except InputError as err:
            raise InputError(err.message, field=str(channel)) from None
    return CostTable(unit)


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def _instant(day: date) -> datetime:
    """The start of `day` in Beijing time, as a UTC instant."""
    return datetime.combine(day, time(0), BEIJING).astimezone(UTC)


def compute_kpis(
    uow: UnitOfWork,
    start: date,
    end: date,
    costs: CostTable | None = None,
    *,
    products: dict[str, LedgerSettings] | None = None,
) -> dict[str, Any]:
    """Every KPI of docs/kpi.md for the window [start, end]; amounts as decimal strings, rates as floats."""
    if end < start:
        raise InputError(f"--to {end} is before --from {start}", field="--to")
    costs = costs or CostTable()
    opening_day = start - timedelta(days=1)
    tables = uow.snapshot(end)
    portfolio = Portfolio(dict(tables), dict(products or {}))
    opening = compute_ledger(portfolio, opening_day)
    closing = compute_ledger(portfolio, end)
    loan_ids = opening.loan_id.to_pylist()
    borrower_of = dict(zip(loan_ids, tables["loans"]["borrower_id"].to_pylist(), strict=True))
    persona = dict(
        zip(
            tables["borrowers"]["borrower_id"].to_pylist(),
            tables["borrowers"]["persona"].to_pylist(),
            strict=True,
        )
    )
    lo, hi = _instant(start), _instant(end + timedelta(days=1))

    # --- contacts, sends, actions --------------------------------------------------------------------
    attempts = uow.activity.contact_counts(lo, hi)
    contacted_loans = uow.activity.contacted_loans(lo, hi)
    contacts = sum(a.count for a in attempts)
    contacts_by_channel: Counter[str] = Counter()
    for a in attempts:
        contacts_by_channel[a.channel] += a.count
    voice = sum(a.count for a in attempts if a.channel in VOICE)
    rpc = sum(a.count for a in attempts if a.channel in VOICE and a.outcome in RIGHT_PARTY)
    sends = uow.activity.sends(lo, hi)
    sent_by_channel = Counter(s.channel for s in sends)
    cost = sum(costs.of(ch) * n for ch, n in sent_by_channel.items())
    statuses: Counter[str] = Counter()
    for decided in uow.activity.decisions(start, end):
        statuses[decided.status] += decided.count

    # --- balances ------------------------------------------------------------------------------------
    open_overdue = opening.overdue.sum(axis=1)
    close_overdue = closing.overdue.sum(axis=1)
    delinquent = np.flatnonzero(opening.dpd > 0)
    cured = [i for i in delinquent if closing.dpd[i] == 0]
    self_cured = [i for i in cured if loan_ids[i] not in contacted_loans]
    # What borrowers did themselves in the portal (contact attempts on the channel `portal`, docs/portal.md).
    portal_loans = uow.activity.loans_on_channel("portal", lo, hi)
    self_served = [i for i in delinquent if loan_ids[i] in portal_loans]
    portal_cured = [i for i in cured if loan_ids[i] in portal_loans]

    payments = _payments_in_window(tables, start, end)
    paid_by_loan: dict[str, int] = defaultdict(int)
    for loan_id, _, amount in payments:
        paid_by_loan[loan_id] += amount
    recovered_from_opening = sum(
        min(paid_by_loan.get(loan_ids[i], 0), int(open_overdue[i])) for i in delinquent
    )
    recovered_by_loan = _by_loan(uow, payments, portfolio)
    recovered_by_day: dict[date, int] = defaultdict(int)
    for per_day in recovered_by_loan.values():
        for day, amount in per_day.items():
            recovered_by_day[day] += amount
    recovered = sum(recovered_by_day.values())

    due_open = _due_outstanding(opening, opening_day, upto=opening_day)
    due_close = _due_outstanding(closing, end, upto=end)
    newly_due = _due_outstanding(opening, opening_day, since=start, upto=end) + (
        exact_total(closing.late_fee_accrued) - exact_total(opening.late_fee_accrued)
    )
    collectible = due_open + newly_due

    # --- roll rates: the window's first and last day, and month by month ---------------------------
    live = opening.outstanding.sum(axis=1) > 0
    moves = [(str(opening.bucket[i]), str(closing.bucket[i])) for i in np.flatnonzero(live)]
    matrix = roll_matrix(moves)
    roll_rates = {b: rate.to_dict() for b, rate in window_roll_rates(moves).items()}
    monthly = _monthly_roll_rates(portfolio, start, end, opening, closing)

    # --- promises, complaints, disputes --------------------------------------------------------------
    settled = Counter(uow.activity.promises_settled(start, end))
    kinds = Counter(uow.activity.cases_opened(start, end))

    # --- accidental late payers and legal threats ----------------------------------------------------
    late_accidental = _late_borrowers(opening, closing, start, end, loan_ids, borrower_of, persona)
    lawyer = {s.borrower_id for s in sends if s.channel == "lawyer_letter"}
    legal = {s.borrower_id for s in sends if s.tone == "legal" or s.channel == "lawyer_letter"}
    threatened = late_accidental & legal

    planned = uow.activity.segments(start, end)
    recovered_yuan = recovered / 100
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "accounts": int(live.sum()),
        "delinquent_at_start": len(delinquent),
        "roll_rates": roll_rates,
        "roll_matrix": {b: dict(sorted(matrix[b].items())) for b in sorted(matrix, key=bucket_rank)},
        "monthly_roll_rates": monthly,
        "cured": len(cured),
        "cure_rate": _ratio(len(cured), len(delinquent)),
        "self_cured": len(self_cured),
        "self_cure_rate": _ratio(len(self_cured), len(delinquent)),
        "self_served": len(self_served),
        "self_serve_rate": _ratio(len(self_served), len(delinquent)),
        "cured_through_portal": len(portal_cured),
        "portal_cure_rate": _ratio(len(portal_cured), len(delinquent)),
        "overdue_at_start": format_minor(exact_total(open_overdue)),
        "overdue_at_end": format_minor(exact_total(close_overdue)),
        "recovered_from_start_arrears": format_minor(recovered_from_opening),
        "recovery_rate": _ratio(recovered_from_opening, exact_total(open_overdue[delinquent])),
        "recovered": format_minor(recovered),
        "recovered_by_day": {d.isoformat(): format_minor(v) for d, v in sorted(recovered_by_day.items())},
        "payments": len(payments),
        "contacts": contacts,
        "contacts_by_channel": dict(sorted(contacts_by_channel.items())),
        "voice_attempts": voice,
        "right_party_contacts": rpc,
        "right_party_contact_rate": _ratio(rpc, voice),
        "promises_kept": settled["kept"],
        "promises_broken": settled["broken"],
        "promise_kept_rate": _ratio(settled["kept"], settled["kept"] + settled["broken"]),
        "contacts_per_yuan_recovered": _ratio(contacts, recovered_yuan, 6),
        "sent_by_channel": dict(sorted(sent_by_channel.items())),
        "cost": format_minor(cost),
        "cost_to_collect": _ratio(cost, recovered),
        "complaints": kinds["complaint"],
        "disputes": kinds["dispute"],
        "complaints_per_10k_contacts": _ratio(kinds["complaint"] * 10_000, contacts, 2),
        "cei": _ratio((collectible - due_close) * 100, collectible, 2),
        "accidental_late_payers": len(late_accidental),
        "accidental_with_lawyer_letter": len(late_accidental & lawyer),
        "accidental_with_legal_threat": len(threatened),
        "accidental_legal_threat_share": _ratio(len(threatened), len(late_accidental)),
        "outbox_statuses": {s: statuses.get(s, 0) for s in COMPLIANCE_STATUSES},
        "compliance_blocked": statuses.get("blocked", 0),
        "compliance_deferred": statuses.get("deferred", 0),
        "segments": _segments(planned, recovered_by_loan),
        "arms": _segments(planned, recovered_by_loan, by_arm=True),
    }


def _monthly_roll_rates(
    portfolio: Portfolio, start: date, end: date, opening: LedgerColumns, closing: LedgerColumns
) -> list[dict[str, Any]]:
    """Roll rates of each whole 30-day month of the window: the live accounts at the start of the month,
    by their bucket then and at the month's end."""
    known = {start - timedelta(days=1): opening, end: closing}
    out = []
    for month in months(start, end):
        for day in (month.opening, month.last):
            if day not in known:
                known[day] = compute_ledger(portfolio, day)
        before, after = known[month.opening], known[month.last]
        live = before.outstanding.sum(axis=1) > 0
        moves = [(str(before.bucket[i]), str(after.bucket[i])) for i in np.flatnonzero(live)]
        out.append(
            {
                "month": month.number,
                "from": month.first.isoformat(),
                "to": month.last.isoformat(),
                "roll_rates": {b: rate.to_dict() for b, rate in window_roll_rates(moves).items()},
            }
        )
    return out


def _payments_in_window(tables: dict[str, Any], start: date, end: date) -> list[tuple[str, date, int]]:
    """(loan, day, amount) of payments in the window that were not reversed by the end of it."""
    pays = tables["payments"]
    out = []
    for loan_id, paid_on, amount, reversed_on in zip(
        pays["loan_id"].to_pylist(),
        pays["paid_on"].to_pylist(),
        pays["amount"].to_pylist(),
        pays["reversed_on"].to_pylist(),
        strict=True,
    ):
        if start <= paid_on <= end and (reversed_on is None or reversed_on > end):
            out.append((loan_id, paid_on, int(amount)))
    return out


def _by_loan(
    uow: UnitOfWork, payments: list[tuple[str, date, int]], portfolio: Portfolio
) -> dict[str, dict[date, int]]:
    """Recovered amounts per loan and day: the part of a day's payments that met what was overdue at the end
    of that day had they not been made (late fee of the day included)."""
    out: dict[str, dict[date, int]] = {}
    by_loan: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for loan_id, day, amount in payments:
        by_loan[loan_id][day] += amount
    for loan in uow.loans.stream(sorted(by_loan)):
        for day, amount in sorted(by_loan[loan.id].items()):
            before = compute_position(
                replace(loan, payments=tuple(p for p in loan.payments if p.on < day)), day
            )
            if before.dpd > 0:
                out.setdefault(loan.id, {})[day] = min(amount, before.overdue.total)
    return out


def _due_outstanding(ledger: LedgerColumns, as_of: date, *, upto: date, since: date | None = None) -> int:
    """What is still owed on instalments due in [since, upto] (all due by `upto` without `since`), late fees
    included, in `ledger` (computed as of `as_of`)."""
    hi = (upto - EPOCH).days
    rows = ledger.inst_due <= hi
    if since is not None:
        rows &= ledger.inst_due >= (since - EPOCH).days
    return exact_total(ledger.inst_outstanding[rows])


def _late_borrowers(
    opening: LedgerColumns,
    closing: LedgerColumns,
    start: date,
    end: date,
    loan_ids: list[str],
    borrower_of: dict[str, str],
    persona: dict[str, str | None],
) -> set[str]:
    """Accidental late payers (persona forgetful) who were late at some point in the window: late at the
    start, late at the end, or an instalment due in the window paid after its due date."""
    lo, hi = (start - EPOCH).days, (end - EPOCH).days
    late_loans = set(np.flatnonzero((opening.dpd > 0) | (closing.dpd > 0)).tolist())
    due_in = (closing.inst_due >= lo) & (closing.inst_due < hi)
    paid_late = due_in & (closing.inst_paid_on > closing.inst_due) & (closing.inst_paid_on <= hi)
    late_loans.update(closing.inst_account[paid_late].tolist())
    out = set()
    for i in late_loans:
        borrower = borrower_of[loan_ids[i]]
        if persona.get(borrower) == ACCIDENTAL:
            out.add(borrower)
    return out


def _segments(
    planned: list[PlannedSegment], recovered_by_loan: dict[str, dict[date, int]], *, by_arm: bool = False
) -> dict[str, Any]:
    """Per segment (the one of each loan's latest outbox row in the window, `planned` in planning order), or
    per experiment arm ("experiment/arm"): loans and recovered per day."""
    if by_arm:
        segment_of = {p.loan_id: f"{p.experiment}/{p.arm}" for p in planned if p.arm}
    else:
        segment_of = {p.loan_id: p.segment for p in planned}
    out: dict[str, Any] = {}
    for loan, segment in sorted(segment_of.items()):
        entry = out.setdefault(segment, {"loans": 0, "recovered_by_day": defaultdict(int)})
        entry["loans"] += 1
        for day, amount in recovered_by_loan.get(loan, {}).items():
            entry["recovered_by_day"][day] += amount
    return {
        name: {
            "loans": e["loans"],
            "recovered_by_day": {
                d.isoformat(): format_minor(v) for d, v in sorted(e["recovered_by_day"].items())
            },
        }
        for name, e in sorted(out.items())
    }
