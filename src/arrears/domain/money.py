"""Money as an integer count of the currency's minor unit. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from arrears.domain.errors import InputError

if TYPE_CHECKING:
    import numpy as np

# Minor-unit exponent per ISO 4217 code; the product's portfolios are CNY by default.
MINOR_DIGITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "HKD": 2,
    "TWD": 2,
    "INR": 2,
    "JPY": 0,
    "KRW": 0,
}


# Bounds on what a loan can hold, so that no amount the ledger derives from it (outstanding, late fees over
# three centuries of days at any daily rate up to 100 %, credit) can overflow a 64-bit integer; a portfolio's
# totals are summed exactly (exact_total). In minor units, whatever the currency: 10^12 is CNY 10 billion.
MAX_AMOUNT_MINOR = 10**12  # one amount: an instalment's principal, interest or fees; a payment
MAX_LOAN_TOTAL_MINOR = 10**13  # a loan's schedule (principal + interest + fees); all its payments
MAX_INSTALMENTS = 1200  # instalments of one loan (seq 1..1200: 100 years of monthly instalments)


def exact_total(values: np.ndarray) -> int:
    """The sum of int64 amounts as a Python int, exact however large (a numpy int64 sum wraps around).

    Each value is split into its high and low 32 bits; either half sums without overflow for fewer than
    2^31 values, and the halves are joined in Python's unbounded integers.
    """
    import numpy as np  # here: money is used by commands that never load numpy (CLI start-up)

    flat = np.asarray(values, dtype=np.int64).ravel()
    high = (flat >> 32).sum(dtype=np.int64)
    low = (flat & 0xFFFFFFFF).sum(dtype=np.int64)
    return (int(high) << 32) + int(low)


def minor_digits(currency: str) -> int:
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        raise InputError(f"unknown currency {currency!r}", field="currency") from None


def parse_minor(text: str | int | float | Decimal, currency: str = "CNY", *, field: str = "amount") -> int:
    """Parse a decimal string ("1234.56") into minor units; rejects floats and sub-minor precision."""
    if isinstance(text, bool):
        raise InputError(f"amount must be a decimal string, not {text!r}", field=field)
    if isinstance(text, int):
        return int(text) * int(10 ** minor_digits(currency))
    if isinstance(text, float):  # an unquoted YAML number: its shortest repr is the literal that was written
        text = repr(text)
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InputError(f"not a decimal amount: {text!r}", field=field) from None
    if not value.is_finite():
        raise InputError(f"not a finite amount: {text!r}", field=field)
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise InputError(
            f"{text!r} has more decimals than {currency} allows ({minor_digits(currency)})", field=field
        )
    return int(scaled)


def parse_amount(text: str | int | float | Decimal, currency: str = "CNY", *, field: str = "amount") -> int:
    """One amount a person enters (a payment, a promise, a waiver): parse_minor, and no more than
    MAX_AMOUNT_MINOR either way, the bound every stored amount keeps (so no sum of them overflows)."""
    minor = parse_minor(text, currency, field=field)
    if abs(minor) > MAX_AMOUNT_MINOR:
        largest = format_minor(MAX_AMOUNT_MINOR, currency)
        raise InputError(f"amount too large: {str(text).strip()[:40]} (at most {largest})", field=field)
    return minor


def format_minor(minor: int, currency: str = "CNY") -> str:
    """Minor units as a decimal string: 123456 -> "1234.56"."""
    digits = minor_digits(currency)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


def round_half_up(value: Decimal) -> int:
    """Round a Decimal count of minor units half-up (away from zero on .5) to an int."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in minor units with its currency."""

    minor: int
    currency: str = "CNY"

    @classmethod
    def parse(cls, text: str | int | Decimal, currency: str = "CNY") -> Money:
        return cls(parse_minor(text, currency), currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    def times(self, factor: Decimal) -> Money:
        """Multiply by a Decimal factor, rounding half-up to the minor unit."""
        return Money(round_half_up(Decimal(self.minor) * factor), self.currency)

    def __str__(self) -> str:
        return format_minor(self.minor, self.currency)
