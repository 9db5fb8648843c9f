"""What the store tells an import about itself and about what it already holds: plain values.

An import run is booked in the store (`ImportRecord`); a loan already stored is compared with the file's
rows for it (`ImportedLoan.difference`: the same contents are a duplicate, other contents a bad row); a payment
a reversal must match the payment it undoes, stored or higher up in the same file (`OriginalPayment`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from arrears.domain.money import format_minor

# What an error message may quote of a file's values (shown): short code-like text without a long number.
_QUOTABLE = re.compile(r"[A-Za-z0-9_.:/+-]{1,32}")
_LONG_NUMBER = re.compile(r"[0-9]{7,}")

# seq → (due_date, principal, interest, fees), amounts in minor units
Schedule = dict[int, tuple[date | None, int, int, int]]


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One import in the store's book of imports: its id (rows it writes carry it) and when it started."""

    id: int
    started_at: datetime


@dataclass(frozen=True, slots=True)
class ImportedLoan:
    """A loan as an import file states it (and as the store holds one imported before): who, which product
    and currency, opened when, its instalments."""

    borrower_id: str | None
    product_code: str | None
    currency: str | None
    opened_on: date | None
    schedule: Schedule = field(default_factory=dict)

    def difference(self, other: ImportedLoan) -> str | None:
        """The first thing `other` (the file's version) says differently, or None when it says the same."""
        for label, a, b in (
            ("borrower_id", self.borrower_id, other.borrower_id),
            ("product", self.product_code, other.product_code),
            ("currency", self.currency, other.currency),
            ("opened_on", self.opened_on, other.opened_on),
        ):
            if a != b:
                return f"{label}: stored {shown(a, quoted=False)}, file {shown(b, quoted=False)}"
        if set(self.schedule) != set(other.schedule):
            return f"instalments: stored seq {sorted(self.schedule)}, file seq {sorted(other.schedule)}"
        currency = other.currency or "CNY"
        for seq in sorted(self.schedule):
            if self.schedule[seq] == other.schedule[seq]:
                continue
            names = ("due_date", "principal", "interest", "fees")
            for name, mine, theirs in zip(names, self.schedule[seq], other.schedule[seq], strict=True):
                if mine != theirs:
                    return (
                        f"seq {seq} {name}: stored {_shown(mine, currency)}, file {_shown(theirs, currency)}"
                    )
        return None


def _shown(value: date | int | None, currency: str) -> object:
    return format_minor(value, currency) if isinstance(value, int) else shown(value, quoted=False)


@dataclass(frozen=True, slots=True)
class OriginalPayment:
    """A payment as a reversal of it sees it: its loan, day, amount and the reversal already on it (if any)."""

    loan_id: str
    paid_on: date
    amount: int
    reversal_id: str | None


def shown(value: object, *, quoted: bool = True) -> str:
    """A file's value as a message may quote it: only a short code-like value (ids, codes, dates, amounts of
    up to six digits in a run). Anything else — a name, a phone, an ID number, an e-mail address, which a
    shifted column or a comma in an amount can put in any column — is described, not quoted."""
    text = str(value)
    if _QUOTABLE.fullmatch(text) and not _LONG_NUMBER.search(text):
        return repr(text) if quoted else text
    return f"({len(text)} characters, not shown)"
