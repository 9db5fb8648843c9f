"""The shape of a product's ledger settings in a file (a policy's `products:`, a loan document), with pydantic.

Keys, types and words are checked here (a grace period is a whole number ≥ 0, a rate a non-negative
decimal, a component one of principal / interest / fees / late_fee); what the values mean — a waterfall
orders every component once, no late fee on late fee, a bucket table is contiguous from 0 and ends
open — is arrears.domain.products.build_ledger_settings's, which gets typed values. Amounts (a cap's
`fixed`) are read once the currency is known. The stored form (JSON written by this program) is read by
the domain's ledger_settings_from_json, not here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Discriminator, Field, StrictBool, Tag, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from arrears.adapters.shapes import Shape, checked_by, keys_of, shape_error, text
from arrears.domain.errors import InputError
from arrears.domain.money import parse_minor
from arrears.domain.products import (
    ALL_COMPONENTS,
    ROUNDING_MODES,
    Bucket,
    Component,
    LateFeeCap,
    LedgerSettings,
    LedgerSpec,
    build_ledger_settings,
)


def _whole(value: object, field: str) -> int:
    """A whole number ≥ 0 (true, 1.5 or "3" are not)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"must be an integer ≥ 0, got {value!r}", field=field)
    return value


def _decimal(value: object, field: str) -> Decimal:
    """A non-negative decimal, written as text ("0.0005") or a number."""
    if isinstance(value, bool):
        raise InputError(f"not a decimal: {value!r}", field=field)
    try:
        result = Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        raise InputError(f"not a decimal: {value!r}", field=field) from None
    if not result.is_finite() or result < 0:
        raise InputError(f"must be a non-negative decimal: {value!r}", field=field)
    return result


def _components(value: object, field: str) -> tuple[Component, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("must be a non-empty list of components", field=field)
    out: list[Component] = []
    for item in value:
        try:
            out.append(Component(str(item)))
        except ValueError:
            raise InputError(
                f"unknown component {item!r} (use {', '.join(ALL_COMPONENTS)})", field=field
            ) from None
    return tuple(out)


def _rounding(value: object, field: str) -> str:
    if str(value) not in ROUNDING_MODES:
        raise InputError(f"rounding must be one of {', '.join(ROUNDING_MODES)}", field=field)
    return str(value)


def _basis(value: object, field: str) -> str:
    if value not in ("dpd", "delinquent_days"):
        raise InputError("basis must be 'dpd' or 'delinquent_days'", field=field)
    return str(value)


Whole = Annotated[int, checked_by(_whole)]
Rate = Annotated[Decimal, checked_by(_decimal)]
Components = Annotated[tuple[Component, ...], checked_by(_components)]


class CapShape(Shape):
    """`cap: {fixed: amount, ratio: decimal}`, one or both: the per-instalment ceiling of the late fee."""

    fixed: Any = None  # an amount: read in the product's currency
    ratio: Rate | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> CapShape:
        if not self.model_fields_set:
            raise PydanticCustomError("domain", "cap must be {fixed: amount} and/or {ratio: decimal}")
        return self


class LateFeeShape(Shape):
    """`late_fee:` a key left out keeps the base's value (hence the placeholders: see `model_fields_set`)."""

    daily_rate: Rate = Decimal(0)
    base: Components = ()
    rounding: Annotated[str, checked_by(_rounding)] = ""
    cap: CapShape | None = None  # null: no cap (the base product's cap is dropped)

    def given(self, name: str) -> bool:
        return name in self.model_fields_set


class BucketShape(Shape):
    name: Annotated[str, checked_by(text)]
    min: Whole
    max: Whole | None = None  # the last bucket has none


class BucketTableShape(Shape):
    """`{basis: dpd | delinquent_days, table: [{name, min, max}]}`, or just the list of rows."""

    basis: Annotated[str, checked_by(_basis)] = "dpd"
    table: list[BucketShape]


def _table_or_rows(value: object) -> str:
    # tags named like their types: shape_error leaves them out of the field path (`buckets[1].max`)
    return "list[BucketShape]" if isinstance(value, list) else "BucketTableShape"


Buckets = Annotated[
    Annotated[BucketTableShape, Tag("BucketTableShape")]
    | Annotated[list[BucketShape], Tag("list[BucketShape]")],
    Discriminator(_table_or_rows),
]


class LedgerShape(Shape):
    """A product's ledger settings; a key left out keeps the base product's value (the defaults below are
    placeholders, never used: `model_fields_set` says what the file gives). `key: null` is refused."""

    currency: Annotated[str, checked_by(text)] = ""
    grace_days: Whole = 0
    late_fee: LateFeeShape = Field(default_factory=LateFeeShape)
    waterfall: Components = ()
    buckets: Buckets = Field(default_factory=list)
    # the product's loans under one credit line move together on the ladder (docs/books.md)
    line_level_delinquency: StrictBool = False

    def settings(self, base: LedgerSettings | None = None, *, path: str = "") -> LedgerSettings:
        """`base` with what this shape gives, its meaning checked by the domain; errors name `path`.<field>."""
        given = self.model_fields_set
        p = f"{path}." if path else ""
        currency = self.currency if "currency" in given else (base or LedgerSettings()).currency
        fee = self.late_fee
        cap: LateFeeCap | None = None
        if fee.cap is not None:
            fixed = fee.cap.fixed
            cap = LateFeeCap(
                None if fixed is None else parse_minor(fixed, currency, field=f"{p}late_fee.cap.fixed"),
                fee.cap.ratio,
            )
        table = self.buckets if "buckets" in given else None
        rows = table.table if isinstance(table, BucketTableShape) else table or []
        spec = LedgerSpec(
            currency=self.currency if "currency" in given else None,
            grace_days=self.grace_days if "grace_days" in given else None,
            daily_rate=fee.daily_rate if fee.given("daily_rate") else None,
            fee_base=fee.base if fee.given("base") else None,
            rounding=fee.rounding if fee.given("rounding") else None,
            cap=cap,
            cap_given=fee.given("cap"),
            waterfall=self.waterfall if "waterfall" in given else None,
            buckets=None if table is None else tuple(Bucket(b.name, b.min, b.max) for b in rows),
            basis=table.basis if isinstance(table, BucketTableShape) else "dpd",
            line_level_delinquency=self.line_level_delinquency if "line_level_delinquency" in given else None,
        )
        return build_ledger_settings(spec, base, path=path)


LEDGER_KEYS = tuple(LedgerShape.model_fields)
KEYS = keys_of(LedgerShape, LateFeeShape, CapShape, BucketTableShape, BucketShape)


def parse_ledger_settings(
    raw: object, base: LedgerSettings | None = None, *, path: str = ""
) -> LedgerSettings:
    """Ledger settings from a parsed file's mapping over `base`; errors name `path`.<field>."""
    if raw is None:
        return base or LedgerSettings()
    if not isinstance(raw, dict):
        raise InputError("ledger settings must be a mapping", field=path or None)
    try:
        shape = LedgerShape.model_validate(raw)
    except ValidationError as err:
        raise shape_error(err, KEYS, prefix=path) from None
    return shape.settings(base, path=path)
