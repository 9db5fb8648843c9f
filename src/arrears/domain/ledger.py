"""The as-of computation: what a loan owes, how late it is, and where every payment went.

The rules (DOMAIN.md, "Ledger rules"):
- an instalment is overdue from the day after its due date while anything on it is unpaid;
- DPD = as-of − due date of the oldest not-fully-paid instalment (0 when that date is not past);
- late fee: for each overdue day, daily rate × the base overdue at the start of that day, each day's
  charge rounded to the minor unit, per instalment; a payment on day D lowers the base from D + 1;
- grace: an instalment whose scheduled amounts are paid in full within the grace days bears no late fee;
  once grace passes unpaid, the late fee counts from the first overdue day;
- paused days (dispute, hardship) accrue no late fee and are not delinquent days: delinquent days are the
  days after the grace period, up to the as-of date, that no pause covers (a paused day inside the grace
  period is not subtracted twice); with no pause, max(0, DPD − grace), as in Apache Fineract;
- a waiver forgives late fee that is charged and unpaid on its date (of its instalment, or oldest first);
  a waiver for more than that (e.g. dated inside the grace period, before any fee is charged) is bad
  input (InputError naming `waivers[i]`), never silently cut down;
- payments settle the oldest instalment first, components in the product's waterfall order; what is
  left over is held as credit; a reversed payment is treated as never made, from its date on.

The computation walks the loan's critical days (due dates, grace ends, pause edges, payments, waivers)
in order; between two of them every instalment's base is constant, so a stretch of n days accrues
n × the daily charge (bounded by the cap), which is exactly the day-by-day result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from arrears.domain.errors import InputError
from arrears.domain.loans import Loan, Pause, Payment, Waiver
from arrears.domain.money import format_minor
from arrears.domain.products import SCHEDULED, Component

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Amounts:
    """Amounts per component, in minor units."""

    principal: int = 0
    interest: int = 0
    fees: int = 0
    late_fee: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees + self.late_fee

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(
            self.principal + other.principal,
            self.interest + other.interest,
            self.fees + other.fees,
            self.late_fee + other.late_fee,
        )

    def get(self, component: Component) -> int:
        value: int = getattr(self, component.value)
        return value

    def to_dict(self, currency: str, *, with_total: bool = False) -> dict[str, str]:
        out = {c.value: format_minor(self.get(c), currency) for c in _KEY_ORDER}
        if with_total:
            out["total"] = format_minor(self.total, currency)
        return out


_KEY_ORDER = (Component.PRINCIPAL, Component.INTEREST, Component.FEES, Component.LATE_FEE)


@dataclass(frozen=True, slots=True)
class InstalmentPosition:
    seq: int
    due: date
    status: str  # not_due | due | grace | overdue | paid | paid_late
    dpd: int
    scheduled: Amounts
    paid: Amounts
    outstanding: Amounts
    late_fee_accrued: int
    late_fee_waived: int
    paid_on: date | None


@dataclass(frozen=True, slots=True)
class Allocation:
    payment_id: str
    on: date
    amount: int
    to_instalments: tuple[tuple[int, Amounts], ...]  # (seq, amounts)
    to_credit: int

    @property
    def allocated(self) -> int:
        return sum(a.total for _, a in self.to_instalments) + self.to_credit


@dataclass(frozen=True, slots=True)
class LedgerPosition:
    loan_id: str
    currency: str
    as_of: date
    dpd: int
    delinquent_days: int
    paused_days: int
    bucket: str
    oldest_unpaid_due: date | None
    overdue: Amounts
    outstanding: Amounts
    paid: Amounts
    credit: int
    late_fee_accrued: int
    late_fee_waived: int
    last_payment_on: date | None
    instalments: tuple[InstalmentPosition, ...]
    allocations: tuple[Allocation, ...]
    reversed_payments: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The shape of `arrears loan explain --json` (DESIGN.md contract); amounts as decimal strings."""
        cur = self.currency
        return {
            "loan_id": self.loan_id,
            "currency": cur,
            "as_of": self.as_of.isoformat(),
            "dpd": self.dpd,
            "delinquent_days": self.delinquent_days,
            "paused_days": self.paused_days,
            "bucket": self.bucket,
            "oldest_unpaid_due": self.oldest_unpaid_due.isoformat() if self.oldest_unpaid_due else None,
            "overdue": self.overdue.to_dict(cur, with_total=True),
            "outstanding": self.outstanding.to_dict(cur, with_total=True),
            "paid": self.paid.to_dict(cur, with_total=True),
            "credit": format_minor(self.credit, cur),
            "late_fee_accrued": format_minor(self.late_fee_accrued, cur),
            "late_fee_waived": format_minor(self.late_fee_waived, cur),
            "last_payment_on": self.last_payment_on.isoformat() if self.last_payment_on else None,
            "instalments": [
                {
                    "seq": i.seq,
                    "due": i.due.isoformat(),
                    "status": i.status,
                    "dpd": i.dpd,
                    "scheduled": i.scheduled.to_dict(cur, with_total=True),
                    "paid": i.paid.to_dict(cur, with_total=True),
                    "outstanding": i.outstanding.to_dict(cur, with_total=True),
                    "late_fee_accrued": format_minor(i.late_fee_accrued, cur),
                    "late_fee_waived": format_minor(i.late_fee_waived, cur),
                    "paid_on": i.paid_on.isoformat() if i.paid_on else None,
                }
                for i in self.instalments
            ],
            "payments": [
                {
                    "id": a.payment_id,
                    "date": a.on.isoformat(),
                    "amount": format_minor(a.amount, cur),
                    "allocated": [
                        {"seq": seq, **amounts.to_dict(cur, with_total=True)}
                        for seq, amounts in a.to_instalments
                    ],
                    "to_credit": format_minor(a.to_credit, cur),
                }
                for a in self.allocations
            ],
            "reversed_payments": list(self.reversed_payments),
        }


class _Working:
    """Mutable state of one instalment while the computation walks the days."""

    __slots__ = (
        "accrued",
        "cap",
        "due",
        "grace_end",
        "late_fee",
        "owed",
        "paid",
        "paid_on",
        "pending",
        "resolved",
        "scheduled",
        "seq",
        "waived",
    )

    def __init__(self, seq: int, due: date, scheduled: Amounts, grace_days: int, cap: int | None) -> None:
        self.seq = seq
        self.due = due
        self.scheduled = scheduled
        self.grace_end = due + timedelta(days=grace_days)
        self.owed = {
            Component.PRINCIPAL: scheduled.principal,
            Component.INTEREST: scheduled.interest,
            Component.FEES: scheduled.fees,
        }
        self.late_fee = 0  # confirmed and unpaid
        self.pending = 0  # accrued inside grace, confirmed only if grace passes unpaid
        self.accrued = 0  # confirmed total
        self.waived = 0
        self.paid = dict.fromkeys(_KEY_ORDER, 0)
        self.paid_on: date | None = None
        self.resolved = grace_days == 0
        self.cap = cap

    def scheduled_owed(self) -> int:
        return sum(self.owed.values())

    def settled(self) -> bool:
        return self.scheduled_owed() == 0 and self.late_fee == 0


def compute_position(loan: Loan, as_of: date) -> LedgerPosition:
    """Everything the ledger knows about `loan` at the end of `as_of`."""
    settings = loan.settings
    rule = settings.late_fee
    grace = settings.grace_days
    order = sorted(loan.instalments, key=lambda i: (i.due, i.seq))
    work = []
    for inst in order:
        sched = Amounts(inst.principal, inst.interest, inst.fees)
        base_sched = sum(sched.get(c) for c in rule.base)
        cap = rule.cap.limit(base_sched) if rule.cap else None
        work.append(_Working(inst.seq, inst.due, sched, grace, cap))

    counted = [p for p in loan.payments if p.counts_as_of(as_of)]
    reversed_ids = tuple(p.id for p in loan.payments if p.on <= as_of and not p.counts_as_of(as_of))
    payments_by_day: dict[date, list[Payment]] = {}
    for p in counted:  # within a day, in the order given
        payments_by_day.setdefault(p.on, []).append(p)
    waivers_by_day: dict[date, list[tuple[int, Waiver]]] = {}
    for k, wv in enumerate(loan.waivers):  # within a day, in the order given
        if wv.on <= as_of:
            waivers_by_day.setdefault(wv.on, []).append((k, wv))

    critical: set[date] = {as_of, *payments_by_day, *waivers_by_day}
    for w in work:
        critical.add(w.due)
        critical.add(w.grace_end)
    for pause in loan.pauses:
        critical.add(pause.start - ONE_DAY)
        if pause.end is not None:
            critical.add(pause.end)
    days = sorted(d for d in critical if d <= as_of)

    allocations: list[Allocation] = []
    credit = 0
    last = days[0] - ONE_DAY
    for day in days:
        n = (day - last).days
        if n > 0 and not any(p.covers(day) for p in loan.pauses):
            for w in work:
                if day <= w.due or w.scheduled_owed() == 0:
                    continue
                base = sum(w.owed[c] for c in rule.base if c is not Component.LATE_FEE)
                charge = n * rule.daily_charge(base)
                if w.cap is not None:
                    charge = min(charge, max(0, w.cap - w.accrued - w.pending))
                if charge <= 0:
                    continue
                if w.resolved:
                    w.accrued += charge
                    w.late_fee += charge
                else:
                    w.pending += charge
        for k, wv in waivers_by_day.get(day, ()):
            _apply_waiver(work, wv, k, settings.currency)
        for p in payments_by_day.get(day, ()):
            alloc = _allocate(work, p, settings.waterfall)
            credit += alloc.to_credit
            allocations.append(alloc)
        for w in work:
            if not w.resolved and day >= w.grace_end:
                w.resolved = True
                if (
                    w.scheduled_owed() > 0
                ):  # grace passed unpaid: the late fee counts from the first overdue day
                    w.accrued += w.pending
                    w.late_fee += w.pending
                w.pending = 0
            if w.paid_on is None and w.settled():
                w.paid_on = day
        last = day

    oldest = next((w for w in work if not w.settled()), None)
    oldest_due = oldest.due if oldest else None
    dpd = max(0, (as_of - oldest_due).days) if oldest_due else 0
    paused_days = delinquent = 0
    if dpd > 0 and oldest_due is not None:
        # days oldest_due + 1 .. as_of are overdue; the first `grace` of them are the grace period
        paused_days = _paused(loan.pauses, oldest_due + ONE_DAY, as_of)
        after_grace = oldest_due + timedelta(days=grace + 1)
        delinquent = max(0, dpd - grace) - _paused(loan.pauses, after_grace, as_of)

    positions = []
    overdue = outstanding = paid = Amounts()
    for w in work:
        owed = Amounts(
            w.owed[Component.PRINCIPAL], w.owed[Component.INTEREST], w.owed[Component.FEES], w.late_fee
        )
        paid_w = Amounts(*(w.paid[c] for c in _KEY_ORDER))
        positions.append(
            InstalmentPosition(
                seq=w.seq,
                due=w.due,
                status=_status(w, as_of),
                dpd=0 if w.settled() else max(0, (as_of - w.due).days),
                scheduled=w.scheduled,
                paid=paid_w,
                outstanding=owed,
                late_fee_accrued=w.accrued,
                late_fee_waived=w.waived,
                paid_on=w.paid_on,
            )
        )
        outstanding = outstanding + owed
        paid = paid + paid_w
        if w.due < as_of:
            overdue = overdue + owed
    return LedgerPosition(
        loan_id=loan.id,
        currency=settings.currency,
        as_of=as_of,
        dpd=dpd,
        delinquent_days=delinquent,
        paused_days=paused_days,
        bucket=settings.buckets.classify(dpd, delinquent),
        oldest_unpaid_due=oldest_due,
        overdue=overdue,
        outstanding=outstanding,
        paid=paid,
        credit=credit,
        late_fee_accrued=sum(w.accrued for w in work),
        late_fee_waived=sum(w.waived for w in work),
        last_payment_on=max((p.on for p in counted), default=None),
        instalments=tuple(sorted(positions, key=lambda i: i.seq)),
        allocations=tuple(allocations),
        reversed_payments=reversed_ids,
    )


def waivable_late_fee(loan: Loan, on: date, seq: int | None = None, *, as_of: date | None = None) -> int:
    """The most a new waiver dated `on` (on instalment `seq`, or oldest first) may forgive: the late fee
    charged and still unpaid when that day's waivers apply, after the waivers already given.

    Counted as of `as_of` (default: `on`); a payment reversed later can bring back late fee it had paid.
    """
    as_of = as_of or on
    if as_of < on:
        raise ValueError("as_of must not be before the waiver's date")
    probe = Waiver(on, _PROBE_AMOUNT, "probe", "probe approver", "probe", seq)
    try:
        compute_position(replace(loan, waivers=(*loan.waivers, probe)), as_of)
    except WaiverTooLarge as err:
        if err.index == len(loan.waivers):
            return err.available
        raise
    raise AssertionError("a probe waiver larger than any late fee was accepted")  # pragma: no cover


_PROBE_AMOUNT = 10**18


def _status(w: _Working, as_of: date) -> str:
    if w.settled() and w.paid_on is not None:
        return "paid" if w.paid_on <= w.grace_end else "paid_late"
    if as_of < w.due:
        return "not_due"
    if as_of == w.due:
        return "due"
    if as_of < w.grace_end:  # at the end of the last grace day, grace has passed
        return "grace"
    return "overdue"


def _paused(pauses: tuple[Pause, ...], first: date, last: date) -> int:
    """How many days of first .. last (inclusive) at least one pause covers."""
    spans = sorted(
        (max(p.start, first), last if p.end is None else min(p.end, last))
        for p in pauses
        if p.start <= last and (p.end is None or p.end >= first)
    )
    count = 0
    covered_to = first - ONE_DAY
    for start, end in spans:
        if end > covered_to:
            count += (end - max(start, covered_to + ONE_DAY)).days + 1
            covered_to = end
    return count


class WaiverTooLarge(InputError):
    """A waiver for more late fee than is charged and unpaid on its date (`available`)."""

    def __init__(self, message: str, *, field: str, index: int, available: int) -> None:
        super().__init__(message, field=field)
        self.index = index
        self.available = available


def _apply_waiver(work: list[_Working], waiver: Waiver, index: int, currency: str) -> None:
    """Forgive unpaid late fee (of the waiver's instalment, or oldest first); all of the amount or none."""
    seq = waiver.instalment_seq
    targets = [w for w in work if seq is None or w.seq == seq]
    at = f"waivers[{index}]"
    if not targets:
        raise WaiverTooLarge(
            f"there is no instalment {seq} to waive late fee on", field=f"{at}.seq", index=index, available=0
        )
    available = sum(w.late_fee for w in targets)
    if waiver.amount > available:
        on = waiver.on.isoformat()
        of = f"instalment {seq}'s unpaid late fee" if seq is not None else "the unpaid late fee"
        why = ""
        in_grace = [w.seq for w in targets if w.due < waiver.on <= w.grace_end and w.scheduled_owed() > 0]
        if available == 0 and in_grace:
            why = (
                f" (the waiver is dated inside the grace period of instalment {in_grace[0]}, when no late fee"
                " is charged yet)"
            )
        raise WaiverTooLarge(
            f"a waiver of {format_minor(waiver.amount, currency)} on {on} is more than {of} on that day"
            f" ({format_minor(available, currency)}){why}",
            field=f"{at}.amount",
            index=index,
            available=available,
        )
    left = waiver.amount
    for w in targets:
        take = min(left, w.late_fee)
        w.late_fee -= take
        w.waived += take
        left -= take
        if left == 0:
            break


def _allocate(work: list[_Working], payment: Payment, waterfall: tuple[Component, ...]) -> Allocation:
    left = payment.amount
    parts: list[tuple[int, Amounts]] = []
    for w in work:
        if left == 0:
            break
        if w.settled():
            continue
        taken = dict.fromkeys(_KEY_ORDER, 0)
        for comp in waterfall:
            owed = w.late_fee if comp is Component.LATE_FEE else w.owed[comp]
            take = min(left, owed)
            if take == 0:
                continue
            if comp is Component.LATE_FEE:
                w.late_fee -= take
            else:
                w.owed[comp] -= take
            w.paid[comp] += take
            taken[comp] += take
            left -= take
        if any(taken.values()):
            parts.append((w.seq, Amounts(*(taken[c] for c in _KEY_ORDER))))
    return Allocation(payment.id, payment.on, payment.amount, tuple(parts), left)


__all__ = [
    "SCHEDULED",
    "Allocation",
    "Amounts",
    "InstalmentPosition",
    "LedgerPosition",
    "WaiverTooLarge",
    "compute_position",
    "waivable_late_fee",
]
