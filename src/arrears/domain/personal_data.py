"""Personal data (PIPL): which fields are personal, how they are compared, and how long they are kept.

- Encrypted at rest (adapters/crypto.py): the borrower's name, phone, ID number, e-mail and postal address.
- Looked up by equality through keyed hashes of their normal forms: a phone (an inbound reply "退订" / STOP
  names its sender by number), an ID number and an e-mail (duplicates).
- Kept, after the borrower's last loan closed, for a period per data kind (`RetentionPeriods`); then
  erased (pseudonymised): the ledger, the payments and the audit chain stay, the person does not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from arrears.domain.errors import InputError

ENCRYPTED_FIELDS = ("name", "phone", "id_number", "email", "address")
LOOKUP_FIELDS = ("phone", "id_number", "email")

# The data kinds retention and erasure speak of, and what each covers.
DATA_KINDS: dict[str, str] = {
    "identity": "name, ID number and region of the borrower",
    "contact": "phone, e-mail and postal address of the borrower",
    "contact_history": "the addresses contacts went to (masked) and the facts' values (work numbers)",
    "case_notes": "free text staff and borrowers wrote: dispute and complaint descriptions, case notes",
}
IDENTITY_FIELDS = ("name", "id_number")
CONTACT_FIELDS = ("phone", "email", "address")
ERASED_TEXT = "[erased]"

# Defaults (days after the last loan closed). Identity: 5 years, as 征信业管理条例 §16 keeps negative
# credit records and the anti-money-laundering law keeps customer identity after the relationship ends.
# Contact data, contact history and notes: 3 years, the limitation period for a claim (民法典 §188).
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "identity": 5 * 365 + 1,
    "contact": 3 * 365 + 1,
    "contact_history": 3 * 365 + 1,
    "case_notes": 3 * 365 + 1,
}

_PERIOD = re.compile(r"^\s*(\d{1,5})\s*([dmy]?)\s*$")
_UNIT_DAYS = {"": 1, "d": 1, "m": 30, "y": 365}


def period_days(text: object, where: str) -> int:
    """A retention period as days: 400, "400d", "36m" (30 days a month), "5y" (365 days a year)."""
    if isinstance(text, bool):
        raise InputError(f"not a period: {text!r} (days, or e.g. 90d, 36m, 5y)", field=where)
    if isinstance(text, int):
        days = text
    else:
        found = _PERIOD.match(str(text).lower())
        if not found:
            raise InputError(f"not a period: {text!r} (days, or e.g. 90d, 36m, 5y)", field=where)
        days = int(found.group(1)) * _UNIT_DAYS[found.group(2)]
    if days < 0:
        raise InputError("a retention period cannot be negative", field=where)
    return days


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """How long each data kind is kept after the borrower's last loan closed (days)."""

    days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))

    @classmethod
    def parse(cls, values: dict[str, object], where: str = "retention") -> RetentionPeriods:
        days = dict(DEFAULT_RETENTION_DAYS)
        for kind, value in values.items():
            if kind not in DATA_KINDS:
                known = ", ".join(DATA_KINDS)
                raise InputError(f"unknown data kind {kind!r} (known: {known})", field=f"{where}.{kind}")
            days[kind] = period_days(value, f"{where}.{kind}")
        return cls(days)

    def ends(self, kind: str, closed_on: date) -> date:
        """The first day `kind` may be erased, for a borrower whose last loan closed on `closed_on`."""
        return closed_on + timedelta(days=self.days[kind])

    def due(self, closed_on: date | None, as_of: date) -> tuple[str, ...]:
        """The data kinds past their retention on `as_of` (none while a loan is open: closed_on None)."""
        if closed_on is None:
            return ()
        return tuple(kind for kind in DATA_KINDS if self.ends(kind, closed_on) <= as_of)


def closed_on(outstanding_total: int, settled_days: list[date], opened_on: date | None) -> date | None:
    """When a loan closed: None while anything is owed; else the last day money moved on it (a payment or
    a waiver), or its opening day if none did."""
    if outstanding_total > 0:
        return None
    if settled_days:
        return max(settled_days)
    return opened_on or date.min


def last_closed(loans_closed_on: list[date | None]) -> date | None:
    """The day a borrower's relationship ended: the last loan's closing day; None while one is open."""
    if not loans_closed_on or any(day is None for day in loans_closed_on):
        return None
    return max(day for day in loans_closed_on if day is not None)


def normal_phone(phone: str) -> str:
    """A phone number as the look-up compares it: digits only, China's +86 / 0086 prefix dropped."""
    if phone.isascii() and phone.isdigit():  # the usual case, without the Unicode work
        digits = phone
    else:
        digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix) :]
    return digits


def normal_id_number(id_number: str) -> str:
    return unicodedata.normalize("NFKC", id_number).strip().upper()


def normal_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


NORMAL_FORMS = {"phone": normal_phone, "id_number": normal_id_number, "email": normal_email}


def lookup_text(kind: str, value: str | None) -> str | None:
    """What the keyed hash of a look-up field is computed over (None for no value)."""
    if value is None:
        return None
    normal = NORMAL_FORMS[kind](value)
    return f"{kind}:{normal}" if normal else None
