"""The shape of a loan document (YAML / JSON), checked with pydantic: `arrears loan explain FILE`, the scenarios.

Keys, types, dates and instalment numbers are checked here; amounts are read in the loan's currency once
its ledger settings are known. What the values mean (a loan has instalments, a payment is positive, a
waiver names an instalment the loan has ...) is arrears.domain.loan_document's. Every error names the
field path (`payments[1].amount`) for the document's line map to add the line.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field, model_validator

from arrears.adapters.ledger_shapes import KEYS as LEDGER_SHAPE_KEYS
from arrears.adapters.ledger_shapes import LEDGER_KEYS, LedgerShape
from arrears.adapters.shapes import LenientShape, Shape, checked_by, keys_of, read_shape, text
from arrears.domain.dates import parse_date
from arrears.domain.errors import InputError
from arrears.domain.loan_document import build_loan
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.money import parse_minor
from arrears.domain.products import LedgerSettings


def _seq(value: object, field: str) -> int:
    """An instalment number: a whole number ≥ 1 (1.5, "abc" or true are bad input, never truncated)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise InputError(f"an instalment number must be a whole number, got {value!r}", field=field)
    if number < 1:
        raise InputError(f"an instalment number must be at least 1, got {number}", field=field)
    return number


Day = Annotated[date, checked_by(parse_date)]
Seq = Annotated[int, checked_by(_seq)]
Text = Annotated[str, checked_by(text)]
Amount = Any  # a decimal amount ("302.50", 300): read in the loan's currency by parse_minor


class InstalmentShape(Shape):
    """One instalment; `seq` left out is its position (1, 2, ...), but `seq: null` is bad input."""

    seq: Seq = 0
    due: Day
    principal: Amount
    interest: Amount = "0"
    fees: Amount = "0"

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k == "seq"}
        return data

    def instalment(self, position: int, currency: str, at: str) -> Instalment:
        return Instalment(
            seq=self.seq or position,
            due=self.due,
            principal=parse_minor(self.principal, currency, field=f"{at}.principal"),
            interest=parse_minor(self.interest, currency, field=f"{at}.interest"),
            fees=parse_minor(self.fees, currency, field=f"{at}.fees"),
        )


class PaymentShape(LenientShape):
    id: Text | None = None
    date: Day
    amount: Amount
    reversed: Day | None = None

    def payment(self, position: int, currency: str, at: str) -> Payment:
        amount = parse_minor(self.amount, currency, field=f"{at}.amount")
        return Payment(self.id or f"p{position}", self.date, amount, self.reversed)


class PauseShape(LenientShape):
    start: Day
    end: Day | None = None
    reason: Text = "dispute"


class WaiverShape(LenientShape):
    date: Day
    amount: Amount
    user: Text
    approver: Text
    reason: Text
    seq: Seq | None = None

    def waiver(self, currency: str, at: str) -> Waiver:
        amount = parse_minor(self.amount, currency, field=f"{at}.amount")
        return Waiver(self.date, amount, self.user, self.approver, self.reason, self.seq)


class LoanDocumentShape(LedgerShape):
    """The loan: its own keys, the ledger settings it overrides, and a scenario's name / note / expect."""

    id: Text = "loan"
    product: Any = None
    as_of: Any = None
    instalments: list[InstalmentShape] = Field(default_factory=list)
    payments: list[PaymentShape] = Field(default_factory=list)
    pauses: list[PauseShape] = Field(default_factory=list)
    waivers: list[WaiverShape] = Field(default_factory=list)
    expect: Any = None
    name: Any = None
    note: Any = None

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        # the document's own keys: null is "left out" (the ledger keys refuse null)
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k in LEDGER_KEYS}
        return data


_KEYS = keys_of(LoanDocumentShape, InstalmentShape, PaymentShape, PauseShape, WaiverShape)
_KEYS = sorted({*_KEYS, *LEDGER_SHAPE_KEYS})


def parse_loan_document(raw: object, base: LedgerSettings | None = None) -> Loan:
    """Build a Loan from a parsed document; every error names the field path (e.g. `payments[1].amount`)."""
    shape = read_shape(LoanDocumentShape, raw, _KEYS, "a loan document must be a mapping")
    settings = shape.settings(base)
    cur = settings.currency
    return build_loan(
        shape.id,
        [row.instalment(i + 1, cur, f"instalments[{i}]") for i, row in enumerate(shape.instalments)],
        [row.payment(i + 1, cur, f"payments[{i}]") for i, row in enumerate(shape.payments)],
        [Pause(row.start, row.end, row.reason) for row in shape.pauses],
        [row.waiver(cur, f"waivers[{i}]") for i, row in enumerate(shape.waivers)],
        settings,
    )
