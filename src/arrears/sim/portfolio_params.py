"""The parameters of the synthetic portfolio, read from portfolio_params.yaml (or a file of the same shape).

The YAML file carries the reasoning beside every number; this module only gives it a checked shape.
Errors name the file, the line and the field, like every other input of the product.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.adapters.yamlfile import load_document
from arrears.domain.catalog import PRODUCTS
from arrears.domain.errors import InputError
from arrears.domain.money import parse_minor

PERSONAS = ("good", "forgetful", "hardship", "strategic", "fraud", "deceased")
DEFAULT_PARAMS = "portfolio_params.yaml"

Probability = float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DayRange(_Strict):
    """An inclusive range of whole days, drawn uniformly."""

    min: int = Field(ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.max < self.min:
            raise ValueError("max is below min")
        return self


class ShareRange(_Strict):
    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ShareRange:
        if self.max < self.min:
            raise ValueError("max is below min")
        return self


class LateDays(_Strict):
    mean: float = Field(ge=1)
    max: int = Field(ge=1)


class AgeYears(_Strict):
    mean: float
    sd: float = Field(ge=0)
    min: float = Field(ge=16)
    max: float = Field(le=100)


class BorrowerParams(_Strict):
    loans_per_borrower: dict[int, Probability]
    age_years: AgeYears
    timezone: dict[str | None, Probability]
    language: dict[str, Probability]
    email_share: Probability = Field(ge=0, le=1)

    @field_validator("loans_per_borrower", "timezone", "language")
    @classmethod
    def _sums_to_one(cls, table: dict[object, float]) -> dict[object, float]:
        return _check_shares(table)

    @field_validator("loans_per_borrower")
    @classmethod
    def _positive_counts(cls, table: dict[int, float]) -> dict[int, float]:
        if any(k < 1 for k in table):
            raise ValueError("loan counts must be at least 1")
        return table


class ProductTerms(_Strict):
    share: Probability = Field(ge=0, le=1)
    instalments: int = Field(ge=1, le=60)
    every: Literal["month"] | str  # "month" or "<n>d"

    @field_validator("every")
    @classmethod
    def _period(cls, value: str) -> str:
        if value != "month" and not (value.endswith("d") and value[:-1].isdigit() and int(value[:-1]) > 0):
            raise ValueError("must be 'month' or a number of days like '30d'")
        return value

    @property
    def period_days(self) -> int | None:
        """Days between instalments, or None for calendar months."""
        return None if self.every == "month" else int(self.every[:-1])


class Purchase(_Strict):
    median: int  # fen
    sigma: float = Field(ge=0)
    min: int
    max: int
    scale: dict[str, float]

    @field_validator("median", "min", "max", mode="before")
    @classmethod
    def _amount(cls, value: object) -> int:
        if not isinstance(value, str | int):
            raise ValueError('must be a decimal string like "800.00"')
        try:
            return parse_minor(value)
        except InputError as err:
            raise ValueError(err.message) from None

    @model_validator(mode="after")
    def _ordered(self) -> Purchase:
        if not 0 < self.min <= self.median <= self.max:
            raise ValueError("need 0 < min ≤ median ≤ max")
        return self


class FeeRate(_Strict):
    min: Decimal = Field(ge=0)
    max: Decimal = Field(ge=0)


class LoanParams(_Strict):
    history_days: int = Field(ge=1, le=3650)
    products: dict[str, ProductTerms]
    purchase: Purchase
    monthly_fee_rate: FeeRate

    @model_validator(mode="after")
    def _known_products(self) -> LoanParams:
        unknown = set(self.products) - set(PRODUCTS)
        if unknown:
            raise ValueError(f"unknown products {sorted(unknown)} (known: {', '.join(PRODUCTS)})")
        _check_shares({k: v.share for k, v in self.products.items()})
        missing = set(self.products) - set(self.purchase.scale)
        if missing:
            raise ValueError(f"purchase.scale has no entry for {sorted(missing)}")
        return self


class Behaviour(_Strict):
    """How an instalment is paid outside any special period (shock, stop, death)."""

    share: Probability | Literal["remainder"]
    p_late: Probability = Field(ge=0, le=1)
    late_days: LateDays
    p_early: Probability = Field(ge=0, le=1)
    early_days_max: int = Field(ge=1)
    p_autodebit_failed_when_late: Probability = Field(ge=0, le=1)
    p_bounce: Probability = Field(ge=0, le=1)
    p_promise_when_late: Probability = Field(ge=0, le=1)
    p_dispute: Probability = Field(ge=0, le=1)


class Shock(_Strict):
    within_days: int = Field(ge=1)
    window_days: DayRange
    p_partial: Probability = Field(ge=0, le=1)
    partial_share: ShareRange
    partial_delay_days: DayRange
    p_autodebit_failed: Probability = Field(ge=0, le=1)
    flag_after_days: DayRange
    p_promise_before_catch_up: Probability = Field(ge=0, le=1)


class HardshipBehaviour(Behaviour):
    shock: Shock


class Promises(_Strict):
    mean: float = Field(ge=0)
    max: int = Field(ge=0)


class Stop(_Strict):
    within_days: int = Field(ge=1)
    p_autodebit_failed: Probability = Field(ge=0, le=1)
    promises: Promises
    first_promise_after_days: DayRange
    promise_gap_days: DayRange
    promised_in_days: DayRange
    p_dispute: Probability = Field(ge=0, le=1)
    dispute_after_days: DayRange


class StrategicBehaviour(Behaviour):
    stop: Stop


class FraudBehaviour(_Strict):
    share: Probability
    p_autodebit_failed: Probability = Field(ge=0, le=1)
    identity_dispute_after_days: DayRange


class DeceasedBehaviour(Behaviour):
    p_autodebit_failed_after_death: Probability = Field(ge=0, le=1)


class Personas(_Strict):
    good: Behaviour
    forgetful: Behaviour
    hardship: HardshipBehaviour
    strategic: StrategicBehaviour
    fraud: FraudBehaviour
    deceased: DeceasedBehaviour

    @model_validator(mode="after")
    def _one_remainder(self) -> Personas:
        fixed = 0.0
        remainder = 0
        for name in PERSONAS:
            share = getattr(self, name).share
            if share == "remainder":
                remainder += 1
            else:
                fixed += share
        if remainder > 1:
            raise ValueError("only one persona may take the remainder")
        if fixed > 1 + 1e-9 or (remainder == 0 and abs(fixed - 1) > 1e-6):
            raise ValueError(f"persona shares must sum to 1 (they sum to {fixed:.4f})")
        return self

    def shares(self) -> list[float]:
        """The share of each persona, in PERSONAS order, with the remainder filled in."""
        raw = [getattr(self, name).share for name in PERSONAS]
        fixed = sum(s for s in raw if s != "remainder")
        return [max(0.0, 1 - fixed) if s == "remainder" else float(s) for s in raw]


class GenuineDisputes(_Strict):
    opened_after_days: DayRange
    closed_after_days: DayRange


class PortfolioParams(_Strict):
    borrowers: BorrowerParams
    loans: LoanParams
    genuine_disputes: GenuineDisputes
    personas: Personas


def _check_shares(table: dict[object, float]) -> dict[object, float]:
    if not table:
        raise ValueError("needs at least one entry")
    if any(v < 0 for v in table.values()):
        raise ValueError("shares must not be negative")
    total = sum(table.values())
    if abs(total - 1) > 1e-6:
        raise ValueError(f"shares must sum to 1 (they sum to {total:.4f})")
    return table


def load_params(path: str | Path | None = None) -> PortfolioParams:
    """Read and check portfolio parameters; None reads the built-in portfolio_params.yaml."""
    if path is None:
        return _default_params()
    return _load(Path(path))


@cache
def _default_params() -> PortfolioParams:
    with resources.as_file(resources.files("arrears.sim") / DEFAULT_PARAMS) as built_in:
        return _load(built_in)


def _load(path: Path) -> PortfolioParams:
    doc = load_document(path)
    try:
        return PortfolioParams.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise doc.locate(InputError(first["msg"], field=field)) from None
