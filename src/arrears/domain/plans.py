"""Repayment plans: due-date extension, re-instalment into N payments, settlement at a discount, late-fee waiver.

A plan rewrites the schedule as of its start date D (the old schedule is kept as a version of its own):
- a *settled* instalment due on D holds exactly what was paid by D (late fee paid included, as fees), so
  nothing paid is re-allocated and no late fee accrues on it;
- what was outstanding on D (principal, interest, fees, and unpaid late fee, capitalised as fees) moves to
  the plan's new instalments; a concession (settlement discount) comes off the late fee first, then fees,
  interest and principal.
A late-fee waiver does not rewrite the schedule: it is a waiver (four eyes) on the ledger.
Who may grant what is a table of limits per role; above the caller's limit a plan waits for approval.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from arrears.domain.errors import InputError
from arrears.domain.ledger import Amounts, LedgerPosition
from arrears.domain.loans import Instalment

PLAN_KINDS = ("extension", "reinstalment", "settlement", "fee_waiver")
PLAN_STATUSES = ("awaiting_approval", "active", "completed", "broken", "rejected")
REVERT_POLICIES = ("revert", "keep")  # on a broken plan: restore the old schedule, or keep the new one


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What was asked for. Only the fields of the plan's kind are used."""

    kind: str
    start_on: date
    days: int = 0  # extension
    count: int = 0  # reinstalment
    first_due: date | None = None  # reinstalment (default: start + 30 days), settlement's pay-by date
    discount_pct: Decimal = Decimal(0)  # settlement
    waive_amount: int = 0  # fee_waiver (0: all the unpaid late fee)

    def __post_init__(self) -> None:
        if self.kind not in PLAN_KINDS:
            raise InputError(
                f"unknown plan kind {self.kind!r} (one of {', '.join(PLAN_KINDS)})", field="kind"
            )
        if self.kind == "extension" and not 1 <= self.days <= 366:
            raise InputError("an extension needs days between 1 and 366", field="days")
        if self.kind == "reinstalment" and not 2 <= self.count <= 60:
            raise InputError("a re-instalment needs a count between 2 and 60", field="count")
        if self.kind == "settlement" and not Decimal(0) <= self.discount_pct < Decimal(100):
            raise InputError("a settlement discount must be between 0 and 100 percent", field="discount_pct")
        if self.waive_amount < 0:
            raise InputError("a waiver amount cannot be negative", field="waive_amount")
        if self.first_due is not None and self.first_due <= self.start_on:
            raise InputError("the first due date must be after the plan's start", field="first_due")


@dataclass(frozen=True, slots=True)
class RoleLimit:
    max_concession: int | None  # minor units of discount or waiver; None = unlimited
    max_count: int | None = None
    max_days: int | None = None


DEFAULT_LIMITS: dict[str, RoleLimit] = {
    "agent": RoleLimit(20_000, 6, 30),
    "supervisor": RoleLimit(500_000, 24, 90),
    "admin": RoleLimit(None),
}


@dataclass(frozen=True, slots=True)
class PlanRules:
    """Eligibility and approval limits (configurable)."""

    limits: Mapping[str, RoleLimit] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    settlement_min_dpd: int = 60
    max_active_plans: int = 1
    break_tolerance_days: int = 3
    on_break: str = "revert"

    def check_eligible(self, terms: PlanTerms, position: LedgerPosition, active_plans: int) -> None:
        """InputError naming the field when the account cannot have this plan."""
        if active_plans >= self.max_active_plans:
            raise InputError("the loan already has an active plan", field="loan_id")
        if terms.kind != "fee_waiver" and position.outstanding.total == 0:
            raise InputError("nothing is outstanding on this loan", field="loan_id")
        if terms.kind == "settlement" and position.dpd < self.settlement_min_dpd:
            raise InputError(
                f"a settlement needs at least {self.settlement_min_dpd} days past due "
                f"(the loan is {position.dpd})",
                field="kind",
            )
        if terms.kind == "fee_waiver" and position.outstanding.late_fee == 0:
            raise InputError("there is no unpaid late fee to waive", field="kind")

    def within_limit(self, role: str, terms: PlanTerms, concession: int) -> bool:
        """Whether a user of this role may approve the plan on their own."""
        limit = self.limits.get(role)
        if limit is None:
            return False
        checks = (
            (limit.max_concession, concession),
            (limit.max_count, terms.count),
            (limit.max_days, terms.days),
        )
        return all(cap is None or value <= cap for cap, value in checks)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A plan's effect: the new schedule (None for a waiver), the concession, the late fee capitalised."""

    instalments: tuple[Instalment, ...] | None
    concession: int
    capitalised_late_fee: int
    plan_seqs: tuple[int, ...]  # the instalments the borrower must pay under the plan
    ends_on: date


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _split(total: int, n: int) -> list[int]:
    """Equal parts; the last one takes what rounding leaves."""
    part = total // n
    return [part] * (n - 1) + [total - part * (n - 1)]


def _less(owed: Amounts, concession: int) -> Amounts:
    """Take a concession off the late fee first, then fees, interest, principal."""
    left = concession
    values = {}
    for name in ("late_fee", "fees", "interest", "principal"):
        value = getattr(owed, name)
        take = min(left, value)
        values[name] = value - take
        left -= take
    return Amounts(values["principal"], values["interest"], values["fees"], values["late_fee"])


def settlement_discount(position: LedgerPosition, pct: Decimal) -> int:
    """The discount on the outstanding total, rounded half up to the minor unit."""
    exact = Decimal(position.outstanding.total) * pct / Decimal(100)
    return int(exact.to_integral_value(ROUND_HALF_UP))


def concession_of(terms: PlanTerms, position: LedgerPosition) -> int:
    """What the creditor gives up: the settlement discount or the waived late fee."""
    if terms.kind == "settlement":
        return settlement_discount(position, terms.discount_pct)
    if terms.kind == "fee_waiver":
        unpaid = position.outstanding.late_fee
        return unpaid if terms.waive_amount == 0 else min(terms.waive_amount, unpaid)
    return 0


def rewrite(terms: PlanTerms, position: LedgerPosition) -> Rewrite:
    """The plan's new schedule, computed from the loan's position on the plan's start date."""
    if position.as_of != terms.start_on:
        raise ValueError("the position must be computed as of the plan's start date")
    concession = concession_of(terms, position)
    if terms.kind == "fee_waiver":
        return Rewrite(None, concession, 0, (), terms.start_on)
    d = terms.start_on
    paid = position.paid
    settled: list[Instalment] = []
    if paid.total > 0:
        settled.append(Instalment(1, d, paid.principal, paid.interest, paid.fees + paid.late_fee))
    seq = len(settled) + 1
    owed = _less(position.outstanding, concession)
    new: list[Instalment] = []
    if terms.kind == "extension":
        unpaid = [i for i in position.instalments if i.outstanding.total - i.outstanding.late_fee > 0]
        late_fee = owed.late_fee
        for i in unpaid:
            o = i.outstanding
            due = max(i.due, d) + timedelta(days=terms.days)
            new.append(Instalment(seq, due, o.principal, o.interest, o.fees + late_fee))
            late_fee = 0  # the whole unpaid late fee rides on the first instalment
            seq += 1
    elif terms.kind == "reinstalment":
        first = terms.first_due or d + timedelta(days=30)
        parts = zip(
            _split(owed.principal, terms.count),
            _split(owed.interest, terms.count),
            _split(owed.fees + owed.late_fee, terms.count),
            strict=True,
        )
        for k, (principal, interest, fees) in enumerate(parts):
            new.append(Instalment(seq + k, add_months(first, k), principal, interest, fees))
    else:  # settlement: one payment by the pay-by date
        by = terms.first_due or d + timedelta(days=14)
        new.append(Instalment(seq, by, owed.principal, owed.interest, owed.fees + owed.late_fee))
    return Rewrite(
        tuple(settled + new),
        concession,
        position.outstanding.late_fee - min(concession, position.outstanding.late_fee),
        tuple(i.seq for i in new),
        max(i.due for i in new),
    )


def first_missed(plan_seqs: tuple[int, ...], position: LedgerPosition, tolerance_days: int) -> int | None:
    """The first plan instalment still unpaid more than `tolerance_days` after its due date (None: on track)."""
    for i in position.instalments:
        if i.seq in plan_seqs and i.outstanding.total > 0 and (position.as_of - i.due).days > tolerance_days:
            return i.seq
    return None


__all__ = [
    "DEFAULT_LIMITS",
    "PLAN_KINDS",
    "PLAN_STATUSES",
    "REVERT_POLICIES",
    "PlanRules",
    "PlanTerms",
    "Rewrite",
    "RoleLimit",
    "add_months",
    "concession_of",
    "first_missed",
    "rewrite",
    "settlement_discount",
]
