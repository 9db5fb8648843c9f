"""Charge-off, write-off and recovery: the lender's books of a loan it no longer expects to collect in full.

The rules (issue 19 part 3), pure functions over the ledger (domain/ledger.py):
- a loan is charged off at the end of the first day its DPD passes the product's threshold (default: more
  than 180 days, the M7+ bucket); what it owed then, per component, moves from the receivable to the
  written-off balances (one transaction, debits = credits);
- collection goes on (the ledger still says what the borrower owes), on recovery terms: every payment
  dated after the charge-off day is a *recovery*, booked against the written-off balance it reduces (what
  exceeds that balance, e.g. late fee that accrued after the charge-off, is recovery income);
- a late-fee waiver after the charge-off forgives written-off late fee; a settlement (a plan that forgives
  part of the claim) forgives the written-off balance the ledger no longer asks for, late fee first, then
  fees, interest, principal (the concession order of domain/plans.py);
- paid in full with nothing forgiven, the charge-off is *reversed*: its postings are undone and the
  recoveries become ordinary repayments; paid in full after a concession, it is *settled* (the loss stands).

Every transaction balances (the sum of its entries is zero): money is moved between accounts, never made.
Accounts: `receivable.<c>`, `written_off.<c>`, `recovered.<c>`, `recovery_income.<c>`, `waived.<c>`,
`forgiven.<c>` and `cash`, with c one of principal, interest, fees, late_fee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from arrears.domain.errors import InputError
from arrears.domain.ledger import Allocation, Amounts, LedgerPosition
from arrears.domain.loans import Loan, Waiver

COMPONENTS = ("principal", "interest", "fees", "late_fee")
# A concession comes off the late fee first, then fees, interest and principal (domain/plans.py).
FORGIVE_ORDER = ("late_fee", "fees", "interest", "principal")
DEFAULT_CHARGE_OFF_DPD = 180  # charged off when DPD is more than this: M7+
STATUSES = ("charged_off", "reversed", "settled")


@dataclass(frozen=True, slots=True)
class ChargeOffRule:
    """When a product's loans are charged off: the day DPD first exceeds `after_dpd`."""

    after_dpd: int = DEFAULT_CHARGE_OFF_DPD

    def __post_init__(self) -> None:
        if self.after_dpd < 1:
            raise InputError("a charge-off threshold must be at least 1 day past due", field="after_dpd")

    def due(self, dpd: int) -> bool:
        return dpd > self.after_dpd


@dataclass(frozen=True, slots=True)
class ChargeOffRules:
    """The rule per product code; products not listed follow `default`."""

    default: ChargeOffRule = field(default_factory=ChargeOffRule)
    by_product: Mapping[str, ChargeOffRule] = field(default_factory=dict)

    def for_product(self, code: str) -> ChargeOffRule:
        return self.by_product.get(code, self.default)


@dataclass(frozen=True, slots=True)
class Entry:
    account: str
    amount: int  # minor units; + debit, − credit


@dataclass(frozen=True, slots=True)
class Transaction:
    """One balanced movement on the books of a loan; `ref` makes it unique within the loan."""

    loan_id: str
    kind: str  # charge_off | recovery | waiver | forgiveness | reversal
    on: date
    ref: str
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if sum(e.amount for e in self.entries) != 0:
            raise ValueError(f"unbalanced {self.kind} transaction {self.ref}: {self.entries}")


@dataclass(frozen=True, slots=True)
class ChargeOff:
    """A loan's charge-off: the day and what was written off then, per component."""

    loan_id: str
    on: date
    dpd: int
    amounts: Amounts


def charge_off(position: LedgerPosition, rule: ChargeOffRule) -> ChargeOff | None:
    """The charge-off of a loan whose position (at the end of its as-of day) passes the rule, else None."""
    if not rule.due(position.dpd) or position.outstanding.total == 0:
        return None
    return ChargeOff(position.loan_id, position.as_of, position.dpd, position.outstanding)


def _amounts(values: Mapping[str, int]) -> Amounts:
    return Amounts(*(values.get(c, 0) for c in COMPONENTS))


@dataclass(frozen=True, slots=True)
class Books:
    """A charged-off loan's books as of a day: every transaction, what is still written off, the status."""

    charge_off: ChargeOff
    transactions: tuple[Transaction, ...]
    open: Amounts  # written-off balance still to collect
    recovered: int  # payments after the charge-off (cash)
    waived: int
    forgiven: int
    status: str  # charged_off | reversed | settled
    closed_on: date | None

    def balances(self) -> dict[str, int]:
        """Each account's balance over all transactions (zero in total)."""
        out: dict[str, int] = {}
        for t in self.transactions:
            for e in t.entries:
                out[e.account] = out.get(e.account, 0) + e.amount
        return out


def books(
    co: ChargeOff, loan: Loan, position: LedgerPosition, forgiven_before: Sequence[Transaction] = ()
) -> Books:
    """The books of a charged-off loan as of `position.as_of`, from the ledger.

    Payments dated after the charge-off day are recoveries (as the ledger allocated them); late-fee waivers
    after it forgive written-off late fee; what the ledger no longer asks for beyond that (a settlement's
    concession) is forgiven, in a transaction dated the day it is first seen (`forgiven_before`: those
    already booked, kept as they are; one more is added for a new difference)."""
    as_of = position.as_of
    written = _by_name(co.amounts)
    open_ = dict(written)
    txns = [
        Transaction(
            co.loan_id,
            "charge_off",
            co.on,
            "charge_off",
            tuple(
                e
                for c in COMPONENTS
                if written[c]
                for e in (Entry(f"written_off.{c}", written[c]), Entry(f"receivable.{c}", -written[c]))
            ),
        )
    ]
    # Payments and waivers after the charge-off day, day by day (a day's waivers before its payments, as
    # the ledger applies them).
    later: list[tuple[date, int, Allocation | None, Waiver | None, str]] = [
        (a.on, 1, a, None, f"payment:{a.payment_id}") for a in position.allocations if a.on > co.on
    ]
    later += [(w.on, 0, None, w, f"waiver:{k}") for k, w in enumerate(loan.waivers) if co.on < w.on <= as_of]
    recovered = waived = 0
    for on, _, alloc, waiver, ref in sorted(later, key=lambda e: (e[0], e[1])):
        if alloc is not None:
            parts = dict.fromkeys(COMPONENTS, 0)
            for _, amounts in alloc.to_instalments:
                for c, v in _by_name(amounts).items():
                    parts[c] += v
            entries: list[Entry] = [Entry("cash", alloc.amount)]
            for c in COMPONENTS:
                from_open = min(parts[c], open_[c])
                open_[c] -= from_open
                if from_open:
                    entries.append(Entry(f"recovered.{c}", -from_open))
                if parts[c] > from_open:
                    entries.append(Entry(f"recovery_income.{c}", from_open - parts[c]))
            if alloc.to_credit:
                entries.append(Entry("credit_held", -alloc.to_credit))
            recovered += alloc.amount
            txns.append(Transaction(co.loan_id, "recovery", on, ref, tuple(entries)))
        elif waiver is not None:
            take = min(waiver.amount, open_["late_fee"])
            if take:
                open_["late_fee"] -= take
                waived += take
                pair = (Entry("waived.late_fee", take), Entry("written_off.late_fee", -take))
                txns.append(Transaction(co.loan_id, "waiver", on, ref, pair))
    forgiven = 0
    for t in forgiven_before:
        for e in t.entries:
            if e.account.startswith("written_off."):
                open_[e.account.split(".", 1)[1]] += e.amount
                forgiven -= e.amount
        txns.append(t)
    # What the ledger still asks for bounds what can be collected; the rest of the claim was forgiven.
    excess = sum(open_.values()) - position.outstanding.total
    if excess > 0:
        entries = []
        for c in FORGIVE_ORDER:
            take = min(excess, open_[c])
            if take:
                open_[c] -= take
                excess -= take
                forgiven += take
                entries.extend((Entry(f"forgiven.{c}", take), Entry(f"written_off.{c}", -take)))
        ref = f"forgiven:{as_of.isoformat()}"
        txns.append(Transaction(co.loan_id, "forgiveness", as_of, ref, tuple(entries)))
    status, closed_on = "charged_off", None
    if position.outstanding.total == 0:
        closed_on = max(t.on for t in txns)
        if waived or forgiven:
            status = "settled"
        else:
            status = "reversed"
            txns.append(reversal(co, txns, closed_on))
    return Books(co, tuple(txns), _amounts(open_), recovered, waived, forgiven, status, closed_on)


def reversal(co: ChargeOff, txns: Sequence[Transaction], on: date) -> Transaction:
    """Undo a charge-off paid in full: what is left written off goes back to the receivable, and the
    recoveries become ordinary repayments (of the receivable)."""
    balance: dict[str, int] = {}
    for t in txns:
        for e in t.entries:
            balance[e.account] = balance.get(e.account, 0) + e.amount
    entries: list[Entry] = []
    for c in COMPONENTS:
        left = balance.get(f"written_off.{c}", 0)
        got = balance.get(f"recovered.{c}", 0)  # a credit balance (negative)
        if left:
            entries.extend((Entry(f"written_off.{c}", -left), Entry(f"receivable.{c}", left)))
        if got:
            entries.extend((Entry(f"recovered.{c}", -got), Entry(f"receivable.{c}", got)))
    return Transaction(co.loan_id, "reversal", on, "reversal", tuple(entries))


def _by_name(a: Amounts) -> dict[str, int]:
    return {"principal": a.principal, "interest": a.interest, "fees": a.fees, "late_fee": a.late_fee}


__all__ = [
    "COMPONENTS",
    "DEFAULT_CHARGE_OFF_DPD",
    "STATUSES",
    "Books",
    "ChargeOff",
    "ChargeOffRule",
    "ChargeOffRules",
    "Entry",
    "Transaction",
    "books",
    "charge_off",
    "reversal",
]
