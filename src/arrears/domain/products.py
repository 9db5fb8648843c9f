"""Products and their ledger settings: grace, late fee, allocation waterfall, bucket table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from arrears.domain.errors import InputError
from arrears.domain.money import format_minor, parse_minor


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
    # The loans of this product under one credit line are one account for the ladder: the line's worst
    # loan sets the DPD and bucket, and the line gets one step where each loan would get its own
    # (domain/credit_lines.py, line_level_accounts).
    line_level_delinquency: bool = False


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    settings: LedgerSettings


@dataclass(frozen=True, slots=True)
class LedgerSpec:
    """Ledger settings as a file gives them, values already typed; None keeps the base's value.

    `cap_given` tells "no cap" (`cap: null`, cap None) from "the base's cap" (cap left out).
    """

    currency: str | None = None
    grace_days: int | None = None
    daily_rate: Decimal | None = None
    fee_base: tuple[Component, ...] | None = None
    rounding: str | None = None
    cap: LateFeeCap | None = None
    cap_given: bool = False
    waterfall: tuple[Component, ...] | None = None
    buckets: tuple[Bucket, ...] | None = None
    basis: str = "dpd"
    line_level_delinquency: bool | None = None


def _each_once(components: tuple[Component, ...], path: str, *, need_all: bool) -> tuple[Component, ...]:
    if len(set(components)) != len(components):
        raise InputError("lists a component twice", field=path)
    if need_all and set(components) != set(ALL_COMPONENTS):
        raise InputError(f"must order all of {', '.join(ALL_COMPONENTS)}", field=path)
    return components


def build_bucket_table(rows: Sequence[Bucket], basis: str = "dpd", path: str = "buckets") -> BucketTable:
    """A bucket table from its rows: contiguous from 0 day, only the last one open-ended (and it must be)."""
    if not rows:
        raise InputError("must be a non-empty list of {name, min, max}", field=path)
    expect = 0
    for i, bucket in enumerate(rows):
        where = f"{path}[{i}]"
        lo, hi = bucket.min_days, bucket.max_days
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
        expect = (hi + 1) if hi is not None else expect
    return BucketTable(tuple(rows), basis)


def build_ledger_settings(
    spec: LedgerSpec, base: LedgerSettings | None = None, *, path: str = ""
) -> LedgerSettings:
    """`base` (the defaults when None) with what `spec` gives, field by field; errors name `path`.<field>."""
    settings = base or LedgerSettings()
    p = f"{path}." if path else ""
    old = settings.late_fee
    fee_base = old.base
    if spec.fee_base is not None:
        fee_base = _each_once(spec.fee_base, f"{p}late_fee.base", need_all=False)
        if Component.LATE_FEE in fee_base:
            raise InputError("late fee cannot be charged on late fee", field=f"{p}late_fee.base")
    fee = LateFeeRule(
        old.daily_rate if spec.daily_rate is None else spec.daily_rate,
        fee_base,
        spec.rounding or old.rounding,
        spec.cap if spec.cap_given else old.cap,
    )
    waterfall = (
        settings.waterfall
        if spec.waterfall is None
        else _each_once(spec.waterfall, f"{p}waterfall", need_all=True)
    )
    buckets = (
        settings.buckets
        if spec.buckets is None
        else build_bucket_table(spec.buckets, spec.basis, f"{p}buckets")
    )
    return LedgerSettings(
        spec.currency or settings.currency,
        settings.grace_days if spec.grace_days is None else spec.grace_days,
        fee,
        waterfall,
        buckets,
        settings.line_level_delinquency
        if spec.line_level_delinquency is None
        else spec.line_level_delinquency,
    )


# ------------------------------------------------------------------------------------ the stored form
# Products are stored (the store's product table, a snapshot's products.json) as the JSON mapping below,
# every field written out. It is this program's own output, already checked when the product was read
# from its file, so it is read back here with a plain typed constructor, not the file shapes of
# arrears.adapters.ledger_shapes: the engine reads snapshots and may not import adapters.


def ledger_settings_to_json(settings: LedgerSettings) -> dict[str, Any]:
    """Ledger settings as a JSON mapping: every field written out."""
    fee = settings.late_fee
    cap: dict[str, str] | None = None
    if fee.cap is not None:
        cap = {}
        if fee.cap.fixed is not None:
            cap["fixed"] = format_minor(fee.cap.fixed, settings.currency)
        if fee.cap.ratio is not None:
            cap["ratio"] = str(fee.cap.ratio)
    out: dict[str, Any] = {
        "currency": settings.currency,
        "grace_days": settings.grace_days,
        "late_fee": {
            "daily_rate": str(fee.daily_rate),
            "base": [c.value for c in fee.base],
            "rounding": fee.rounding,
            "cap": cap,
        },
        "waterfall": [c.value for c in settings.waterfall],
        "buckets": {
            "basis": settings.buckets.basis,
            "table": [
                {"name": b.name, "min": b.min_days, "max": b.max_days} for b in settings.buckets.buckets
            ],
        },
    }
    if settings.line_level_delinquency:  # written only when set: the stored form of other products stays
        out["line_level_delinquency"] = True
    return out


def ledger_settings_from_json(raw: Mapping[str, Any], *, path: str = "settings") -> LedgerSettings:
    """The inverse of ledger_settings_to_json; a key left out keeps the default."""
    try:
        currency = str(raw.get("currency", LedgerSettings().currency))
        fee = raw.get("late_fee") or {}
        cap = fee.get("cap")
        buckets = raw.get("buckets")
        spec = LedgerSpec(
            currency=currency,
            grace_days=int(raw["grace_days"]) if "grace_days" in raw else None,
            daily_rate=Decimal(str(fee["daily_rate"])) if "daily_rate" in fee else None,
            fee_base=tuple(Component(c) for c in fee["base"]) if "base" in fee else None,
            rounding=str(fee["rounding"]) if "rounding" in fee else None,
            cap=None
            if cap is None
            else LateFeeCap(
                parse_minor(cap["fixed"], currency, field=f"{path}.late_fee.cap.fixed")
                if cap.get("fixed") is not None
                else None,
                Decimal(str(cap["ratio"])) if cap.get("ratio") is not None else None,
            ),
            cap_given="cap" in fee,
            waterfall=tuple(Component(c) for c in raw["waterfall"]) if "waterfall" in raw else None,
            buckets=None
            if buckets is None
            else tuple(
                Bucket(str(b["name"]), int(b["min"]), None if b.get("max") is None else int(b["max"]))
                for b in buckets["table"]
            ),
            basis=str(buckets.get("basis", "dpd")) if buckets is not None else "dpd",
            line_level_delinquency=bool(raw.get("line_level_delinquency", False)),
        )
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as err:
        raise InputError(f"stored ledger settings are unreadable: {err!r}", field=path) from None
    return build_ledger_settings(spec, path=path)
