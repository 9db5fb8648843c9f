"""Products and their ledger settings: grace, late fee, allocation waterfall, bucket table."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from arrears.domain.errors import InputError
from arrears.domain.money import parse_minor


class Component(StrEnum):
    """What a borrower owes on an instalment, in the names the ledger and the files use."""

    LATE_FEE = "late_fee"
    FEES = "fees"
    INTEREST = "interest"
    PRINCIPAL = "principal"


SCHEDULED: tuple[Component, ...] = (Component.PRINCIPAL, Component.INTEREST, Component.FEES)
ALL_COMPONENTS: tuple[Component, ...] = (*SCHEDULED, Component.LATE_FEE)

ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_CEILING,
}


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    min_days: int
    max_days: int | None  # inclusive; None = no upper bound


@dataclass(frozen=True, slots=True)
class BucketTable:
    """Delinquency classes by days; `basis` says whether DPD or delinquent days are classified."""

    buckets: tuple[Bucket, ...]
    basis: str = "dpd"  # "dpd" | "delinquent_days"

    def __post_init__(self) -> None:
        # Every day count must fall in a bucket: a table that stops at a max would leave longer arrears
        # unclassified (never silently put in the last bucket).
        if not self.buckets:
            raise InputError("a bucket table needs at least one bucket", field="buckets")
        if self.buckets[-1].max_days is not None:
            raise InputError(
                f"the last bucket ({self.buckets[-1].name}) must be open-ended (no max)", field="buckets"
            )

    def classify(self, dpd: int, delinquent_days: int) -> str:
        days = dpd if self.basis == "dpd" else delinquent_days
        for bucket in self.buckets:
            if days >= bucket.min_days and (bucket.max_days is None or days <= bucket.max_days):
                return bucket.name
        raise InputError(f"no bucket holds {days} days (basis {self.basis})", field="buckets")

    def names(self) -> list[str]:
        return [b.name for b in self.buckets]


DEFAULT_BUCKETS = BucketTable(
    (
        Bucket("M0", 0, 0),
        Bucket("M1", 1, 30),
        Bucket("M2", 31, 60),
        Bucket("M3", 61, 90),
        Bucket("M4", 91, 120),
        Bucket("M5", 121, 150),
        Bucket("M6", 151, 180),
        Bucket("M7+", 181, None),
    )
)


@dataclass(frozen=True, slots=True)
class LateFeeCap:
    """Per-instalment ceiling on the total late fee: a fixed amount, a share of the base, or both."""

    fixed: int | None = None  # minor units
    ratio: Decimal | None = None  # of the instalment's scheduled base amount

    def limit(self, scheduled_base: int) -> int | None:
        limits = []
        if self.fixed is not None:
            limits.append(self.fixed)
        if self.ratio is not None:
            limits.append(
                int((Decimal(scheduled_base) * self.ratio).quantize(Decimal(1), rounding=ROUND_DOWN))
            )
        return min(limits) if limits else None


@dataclass(frozen=True, slots=True)
class LateFeeRule:
    daily_rate: Decimal = Decimal("0.0005")
    base: tuple[Component, ...] = (Component.PRINCIPAL, Component.INTEREST)
    rounding: str = "half_up"
    cap: LateFeeCap | None = None

    def daily_charge(self, base_amount: int) -> int:
        """One day's late fee on `base_amount` minor units, rounded to the minor unit."""
        if base_amount <= 0 or self.daily_rate == 0:
            return 0
        return int(
            (Decimal(base_amount) * self.daily_rate).quantize(
                Decimal(1), rounding=ROUNDING_MODES[self.rounding]
            )
        )


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    currency: str = "CNY"
    grace_days: int = 0
    late_fee: LateFeeRule = field(default_factory=LateFeeRule)
    waterfall: tuple[Component, ...] = (
        Component.LATE_FEE,
        Component.FEES,
        Component.INTEREST,
        Component.PRINCIPAL,
    )
    buckets: BucketTable = DEFAULT_BUCKETS


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    settings: LedgerSettings


def _components(value: object, path: str, *, need_all: bool) -> tuple[Component, ...]:
    if not isinstance(value, list) or not value:
        raise InputError("must be a non-empty list of components", field=path)
    out: list[Component] = []
    for item in value:
        try:
            out.append(Component(str(item)))
        except ValueError:
            raise InputError(
                f"unknown component {item!r} (use {', '.join(ALL_COMPONENTS)})", field=path
            ) from None
    if len(set(out)) != len(out):
        raise InputError("lists a component twice", field=path)
    if need_all and set(out) != set(ALL_COMPONENTS):
        raise InputError(f"must order all of {', '.join(ALL_COMPONENTS)}", field=path)
    return tuple(out)


def _decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool):
        raise InputError(f"not a decimal: {value!r}", field=path)
    try:
        result = Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        raise InputError(f"not a decimal: {value!r}", field=path) from None
    if not result.is_finite() or result < 0:
        raise InputError(f"must be a non-negative decimal: {value!r}", field=path)
    return result


def _int(value: object, path: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"must be an integer ≥ {minimum}, got {value!r}", field=path)
    return value


def parse_bucket_table(raw: object, path: str = "buckets") -> BucketTable:
    """`{basis: dpd|delinquent_days, table: [{name, min, max}]}` or just the list of rows."""
    basis = "dpd"
    rows = raw
    if isinstance(raw, dict):
        basis = str(raw.get("basis", "dpd"))
        rows = raw.get("table")
        if basis not in ("dpd", "delinquent_days"):
            raise InputError("basis must be 'dpd' or 'delinquent_days'", field=f"{path}.basis")
    if not isinstance(rows, list) or not rows:
        raise InputError("must be a non-empty list of {name, min, max}", field=path)
    buckets: list[Bucket] = []
    expect = 0
    for i, row in enumerate(rows):
        where = f"{path}[{i}]"
        if not isinstance(row, dict) or "name" not in row or "min" not in row:
            raise InputError("each bucket needs name and min (and max, except the last)", field=where)
        lo = _int(row["min"], f"{where}.min")
        hi = None if row.get("max") is None else _int(row["max"], f"{where}.max")
        if lo != expect:
            raise InputError(
                f"buckets must be contiguous from 0: expected min {expect}, got {lo}", field=where
            )
        if hi is not None and hi < lo:
            raise InputError("max is below min", field=where)
        if hi is None and i != len(rows) - 1:
            raise InputError("only the last bucket may be open-ended", field=where)
        if hi is not None and i == len(rows) - 1:
            raise InputError(
                "the last bucket must be open-ended (no max): a longer arrears would fall in no bucket",
                field=f"{where}.max",
            )
        buckets.append(Bucket(str(row["name"]), lo, hi))
        expect = (hi + 1) if hi is not None else expect
    return BucketTable(tuple(buckets), basis)


def parse_ledger_settings(
    raw: object, base: LedgerSettings | None = None, *, path: str = ""
) -> LedgerSettings:
    """Read ledger settings from a plain mapping (YAML / JSON), overriding `base` field by field."""
    settings = base or LedgerSettings()
    if raw is None:
        return settings
    if not isinstance(raw, dict):
        raise InputError("ledger settings must be a mapping", field=path or None)
    p = f"{path}." if path else ""
    currency = str(raw.get("currency", settings.currency))
    grace = _int(raw["grace_days"], f"{p}grace_days") if "grace_days" in raw else settings.grace_days
    fee = settings.late_fee
    if "late_fee" in raw:
        lf = raw["late_fee"]
        if not isinstance(lf, dict):
            raise InputError("must be a mapping", field=f"{p}late_fee")
        unknown = set(lf) - {"daily_rate", "base", "rounding", "cap"}
        if unknown:
            raise InputError(f"unknown keys {sorted(unknown)}", field=f"{p}late_fee")
        rate = _decimal(lf["daily_rate"], f"{p}late_fee.daily_rate") if "daily_rate" in lf else fee.daily_rate
        fee_base = _components(lf["base"], f"{p}late_fee.base", need_all=False) if "base" in lf else fee.base
        if Component.LATE_FEE in fee_base:
            raise InputError("late fee cannot be charged on late fee", field=f"{p}late_fee.base")
        rounding = str(lf.get("rounding", fee.rounding))
        if rounding not in ROUNDING_MODES:
            raise InputError(
                f"rounding must be one of {', '.join(ROUNDING_MODES)}", field=f"{p}late_fee.rounding"
            )
        cap = fee.cap
        if "cap" in lf:
            c = lf["cap"]
            if c is None:
                cap = None
            elif isinstance(c, dict) and set(c) <= {"fixed", "ratio"} and c:
                cap = LateFeeCap(
                    fixed=parse_minor(c["fixed"], currency, field=f"{p}late_fee.cap.fixed")
                    if "fixed" in c
                    else None,
                    ratio=_decimal(c["ratio"], f"{p}late_fee.cap.ratio") if "ratio" in c else None,
                )
            else:
                raise InputError(
                    "cap must be {fixed: amount} and/or {ratio: decimal}", field=f"{p}late_fee.cap"
                )
        fee = LateFeeRule(rate, fee_base, rounding, cap)
    waterfall = (
        _components(raw["waterfall"], f"{p}waterfall", need_all=True)
        if "waterfall" in raw
        else settings.waterfall
    )
    buckets = parse_bucket_table(raw["buckets"], f"{p}buckets") if "buckets" in raw else settings.buckets
    return LedgerSettings(currency, grace, fee, waterfall, buckets)
