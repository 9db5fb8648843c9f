"""What the store hands out besides Loans: borrowers, loan records (a loan with its owner), account events,
ledger postings. Plain values: repositories return them, services and views read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from arrears.domain.account_features import EVENT_KINDS  # noqa: F401 - re-exported for the store
from arrears.domain.loans import Loan
from arrears.domain.masking import mask_address, mask_email, mask_id_number, mask_name, mask_phone

# Synthetic ground truth carried by generated portfolios (NULL for real data).
PERSONAS = ("forgetful", "hardship", "strategic", "fraud", "deceased")


PII_FIELDS = ("name", "phone", "id_number", "email", "address")


@dataclass(frozen=True, slots=True)
class Borrower:
    id: str
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    email: str | None = None
    timezone: str | None = None  # IANA; None = unknown
    region: str | None = None
    language: str | None = None
    persona: str | None = None
    address: str | None = None  # postal address

    def view(self, *, unmasked: bool = False) -> dict[str, str | None]:
        """The borrower for display: personal data masked unless `unmasked` (which callers must audit)."""
        if unmasked:
            name, phone, id_number, email = self.name, self.phone, self.id_number, self.email
            address = self.address
        else:
            name, phone = mask_name(self.name), mask_phone(self.phone)
            id_number, email = mask_id_number(self.id_number), mask_email(self.email)
            address = mask_address(self.address)
        return {
            "id": self.id,
            "name": name,
            "phone": phone,
            "id_number": id_number,
            "email": email,
            "address": address,
            "timezone": self.timezone,
            "region": self.region,
            "language": self.language,
        }


@dataclass(frozen=True, slots=True)
class LoanRecord:
    """A stored loan: the domain Loan plus who owes it and under which product."""

    loan: Loan
    borrower_id: str
    product_code: str
    opened_on: date | None

    @property
    def id(self) -> str:
        return self.loan.id


@dataclass(frozen=True, slots=True)
class AccountEvent:
    id: str
    loan_id: str
    kind: str
    on: date
    at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Posting:
    loan_id: str
    effective_on: date
    kind: str  # schedule | payment | reversal | waiver
    component: str  # principal | interest | fees | late_fee | payment
    amount: int  # signed: + raises what the borrower owes, − lowers it
    ref: str
    posted_at: datetime | None = None
