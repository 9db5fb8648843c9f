"""Accounts: one loan's position as of a date with its borrower (PII masked), and the ledger check.

The check ("balances checked against postings"), per loan:
- schedule postings per component = the instalments' principal / interest / fees;
- payment postings = −(sum of all payments); reversal postings = sum of reversed payments;
  waiver postings = −(sum of waivers);
- money is conserved: the payments that count = paid total + credit (ledger.compute_position);
- the balance: sum of all postings + waivers = outstanding − late fee accrued + late fee waived − credit,
  computed on the loan's last date (every due date, payment, reversal and waiver in effect).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.domain.loans import Loan
from arrears.domain.money import format_minor
from arrears.domain.records import PII_FIELDS, Borrower, LoanRecord
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

Totals = dict[tuple[str, str], int]


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    loan_id: str
    check: str
    expected: int
    found: int
    currency: str = "CNY"

    def __str__(self) -> str:
        cur = self.currency
        return (
            f"loan {self.loan_id}: {self.check}: expected {format_minor(self.expected, cur)}, "
            f"found {format_minor(self.found, cur)}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "loan_id": self.loan_id,
            "check": self.check,
            "expected": format_minor(self.expected, self.currency),
            "found": format_minor(self.found, self.currency),
        }


@dataclass(frozen=True, slots=True)
class AccountView:
    record: LoanRecord
    borrower: Borrower | None
    position: LedgerPosition
    unmasked: bool = False
    problems: tuple[LedgerProblem, ...] = ()

    def borrower_view(self) -> dict[str, str | None] | None:
        return self.borrower.view(unmasked=self.unmasked) if self.borrower else None

    def to_dict(self) -> dict[str, object]:
        """`loan explain --json`'s object, plus product, borrower (masked) and the postings check."""
        return {
            **self.position.to_dict(),
            "product": self.record.product_code,
            "opened_on": self.record.opened_on.isoformat() if self.record.opened_on else None,
            "borrower_id": self.record.borrower_id,
            "borrower": self.borrower_view(),
            "pii": "unmasked" if self.unmasked else "masked",
            "postings_check": {"ok": not self.problems, "problems": [p.to_dict() for p in self.problems]},
        }


@dataclass(slots=True)
class CheckReport:
    loans: int = 0
    problems: list[LedgerProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "loans": self.loans, "problems": [p.to_dict() for p in self.problems]}


def show_account(
    uow: UnitOfWork, loan_id: str, as_of: date, *, unmasked: bool = False, actor: str | None = None
) -> AccountView:
    """A stored loan's position as of `as_of`; NotFound for an unknown loan.

    Seeing the borrower's personal data unmasked is recorded in the audit log (and committed).
    """
    record = uow.loans.record(loan_id)
    borrower = uow.borrowers.get(record.borrower_id)
    position = compute_position(record.loan, as_of)
    problems = check_loan(record.loan, uow.postings.totals([loan_id]).get(loan_id, {}))
    if unmasked:
        audit.append(
            uow,
            actor or audit.default_actor(),
            "pii.view",
            f"borrower:{record.borrower_id}",
            {"loan_id": loan_id, "fields": list(PII_FIELDS), "view": "account show"},
        )
        uow.commit()
    return AccountView(record, borrower, position, unmasked, tuple(problems))


def last_day(loan: Loan) -> date:
    """The loan's last date: every due date, payment, reversal and waiver is in effect by then."""
    days = [i.due for i in loan.instalments]
    days += [p.on for p in loan.payments] + [p.reversed_on for p in loan.payments if p.reversed_on]
    days += [w.on for w in loan.waivers] + [p.end for p in loan.pauses if p.end]
    return max(days)


def check_loan(loan: Loan, totals: Totals) -> list[LedgerProblem]:
    """Compare a loan's postings with its rows and with the ledger computation (see the module doc)."""
    cur = loan.currency
    problems: list[LedgerProblem] = []

    def expect(check: str, expected: int, found: int) -> None:
        if expected != found:
            problems.append(LedgerProblem(loan.id, check, expected, found, cur))

    for component in ("principal", "interest", "fees"):
        scheduled = sum(getattr(i, component) for i in loan.instalments)
        expect(f"schedule postings ({component})", scheduled, totals.get(("schedule", component), 0))
    expect("payment postings", -sum(p.amount for p in loan.payments), totals.get(("payment", "payment"), 0))
    reversed_total = sum(p.amount for p in loan.payments if p.reversed_on is not None)
    expect("reversal postings", reversed_total, totals.get(("reversal", "payment"), 0))
    waived = sum(w.amount for w in loan.waivers)
    expect("waiver postings", -waived, totals.get(("waiver", "late_fee"), 0))

    day = last_day(loan)
    position = compute_position(loan, day)
    counted = sum(p.amount for p in loan.payments if p.counts_as_of(day))
    expect("money conserved (payments = paid + credit)", counted, position.paid.total + position.credit)
    balance = (
        position.outstanding.total - position.late_fee_accrued + position.late_fee_waived - position.credit
    )
    expect("balance (postings + waivers)", balance, sum(totals.values()) + waived)
    return problems


def check_ledger(
    uow: UnitOfWork,
    loan_ids: Iterable[str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2_000,
) -> CheckReport:
    """Check every loan (or the given ones) against its postings; see check_loan."""
    report = CheckReport()
    batch: list[Loan] = []

    def flush() -> None:
        totals = uow.postings.totals([loan.id for loan in batch])
        for loan in batch:
            report.problems.extend(check_loan(loan, totals.get(loan.id, {})))
        report.loans += len(batch)
        if progress:
            progress(len(batch))
        batch.clear()

    for loan in uow.loans.stream(loan_ids, batch_size=batch_size):
        batch.append(loan)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return report
