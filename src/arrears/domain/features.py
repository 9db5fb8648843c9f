"""The named features a policy reads: what the engines compute per account per day.

Every feature has a type, a description and a default used when the fact is unknown, so the engines
never carry nulls (a null in SQL would make `not x` and `x` both false and break the agreement with
the Python engine). Internal representation, identical in every engine:

- int   — a whole number (days, counts);
- money — an integer count of the currency's minor unit (fen); policy text writes yuan;
- ratio — integer basis points (0.95 → 9500), so ratios compare exactly; policy text writes 0.95;
- bool  — true / false;
- str   — a short code (bucket name, product code, contact outcome).

SQL engines hold int, money and ratio features as BIGINT columns named like the feature, bool as
BOOLEAN, str as VARCHAR / STRING.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from arrears.domain.errors import InputError
from arrears.domain.money import format_minor, minor_digits, parse_minor
from arrears.domain.products import DEFAULT_BUCKETS

RATIO_SCALE = 4  # ratios are held in basis points: 4 decimal places
RATIO_ONE: int = 10**RATIO_SCALE

FeatureValue = int | bool | str


class FeatureType(StrEnum):
    INT = "int"
    MONEY = "money"
    RATIO = "ratio"
    BOOL = "bool"
    STR = "str"

    @property
    def numeric(self) -> bool:
        return self in (FeatureType.INT, FeatureType.MONEY, FeatureType.RATIO)


@dataclass(frozen=True, slots=True)
class Feature:
    """One named fact about an account on a day."""

    name: str
    type: FeatureType
    description: str
    default: FeatureValue  # internal representation (minor units, basis points)
    default_when: str  # when the default applies, in words
    values: tuple[str, ...] = ()  # known values of a str feature; () = any
    computed_by_policy: bool = False  # the policy's early-warning table computes it, not the engine


def _f(
    name: str,
    type_: FeatureType,
    description: str,
    default: FeatureValue,
    default_when: str,
    values: tuple[str, ...] = (),
    *,
    computed_by_policy: bool = False,
) -> Feature:
    return Feature(name, type_, description, default, default_when, values, computed_by_policy)


CONTACT_OUTCOMES = (
    "none",
    "no_answer",
    "busy",
    "wrong_number",
    "third_party",
    "right_party",
    "promise_to_pay",
    "refused",
    "dispute",
)
EWS_LEVELS = ("low", "medium", "high")
# The risk models' targets (arrears.domain.models.TARGETS): each active model adds `score.<target>`.
SCORE_TARGETS = ("self_cure_30d", "roll_30d", "pay_7d_after_contact", "promise_kept", "miss_next_due")

_I, _M, _R, _B, _S = FeatureType.INT, FeatureType.MONEY, FeatureType.RATIO, FeatureType.BOOL, FeatureType.STR

FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        _f(
            "dpd", _I, "days past due: as-of − due date of the oldest unpaid instalment", 0, "nothing overdue"
        ),
        _f(
            "delinquent_days",
            _I,
            "days after the grace period up to as-of that no pause covers; max(0, dpd − grace days) with no"
            " pause, as in Apache Fineract",
            0,
            "nothing overdue",
        ),
        _f("bucket", _S, "delinquency bucket from the product's bucket table (M0, M1, ...)", "M0", "current"),
        _f(
            "day_offset",
            _I,
            "as-of − oldest unpaid due date (negative before it): the ladder anchor",
            -9999,
            "no unpaid instalment",
        ),
        _f(
            "overdue_total",
            _M,
            "everything overdue: principal + interest + fees + late fee",
            0,
            "nothing overdue",
        ),
        _f("outstanding_total", _M, "everything still owed, due or not", 0, "loan settled"),
        _f("overdue_principal", _M, "principal of the overdue instalments", 0, "nothing overdue"),
        _f("late_fee", _M, "late fee accrued and not yet paid or waived", 0, "no late fee"),
        _f("instalments_overdue", _I, "number of instalments overdue", 0, "nothing overdue"),
        _f(
            "on_time_ratio",
            _R,
            "of the instalments already due that are paid or past their grace days, the share paid within grace",
            RATIO_ONE,
            "no instalment due yet (1.0)",
        ),
        _f(
            "max_dpd_12m",
            _I,
            "highest DPD any instalment reached in the last 365 days, the current delinquency included "
            "(so max_dpd_12m > dpd means an earlier, worse one)",
            0,
            "never late",
        ),
        _f(
            "prior_max_dpd_12m",
            _I,
            "highest DPD an instalment already paid reached in the last 365 days: the earlier delinquencies,"
            " the current one (the unpaid instalments) left out",
            0,
            "never late before",
        ),
        _f(
            "prior_on_time_ratio",
            _R,
            "of the instalments already paid, the share paid within grace (the current delinquency left out)",
            RATIO_ONE,
            "nothing paid yet (1.0)",
        ),
        _f("contacts_30d", _I, "contacts recorded in the last 30 days (any outcome)", 0, "no contact"),
        _f(
            "autodebit_failures_90d",
            _I,
            "auto-debit failures recorded in the last 90 days",
            0,
            "no failure recorded",
        ),
        _f(
            "broken_promises_90d",
            _I,
            "promises to pay broken in the last 90 days (as-of included)",
            0,
            "no promise",
        ),
        _f(
            "promise_pending",
            _B,
            "a promise to pay is open (made, not yet kept or broken)",
            False,
            "no promise",
        ),
        _f("autodebit_failed", _B, "an auto-debit failed in the last 30 days", False, "no failure recorded"),
        _f(
            "ews_score",
            _I,
            "early-warning score: sum of the policy's points table",
            0,
            "no row of the points table holds",
            computed_by_policy=True,
        ),
        _f(
            "ews_level",
            _S,
            "early-warning level from the policy's score thresholds",
            "low",
            "score below the medium threshold",
            EWS_LEVELS,
            computed_by_policy=True,
        ),
        _f(
            "hardship",
            _B,
            "a hardship pause covers the day, or a hardship flag was raised in the last 90 days",
            False,
            "no flag",
        ),
        _f("disputed", _B, "a dispute pause covers the day, or a dispute is open", False, "no dispute"),
        _f(
            "identity_dispute",
            _B,
            "the borrower says the loan is not theirs (an identity-theft pause or dispute was recorded)",
            False,
            "no dispute",
        ),
        _f(
            "days_since_last_payment",
            _I,
            "days since the last payment that counts (not reversed)",
            9999,
            "never paid",
        ),
        _f(
            "last_contact_outcome",
            _S,
            "outcome of the last contact recorded (the latest day; the last recorded on that day)",
            "none",
            "never contacted",
            CONTACT_OUTCOMES,
        ),
        _f("product", _S, "product code of the loan", "unknown", "product not recorded"),
        *(
            _f(
                f"score.{t}",
                _R,
                f"the active {t} model's calibrated probability (0..1) for the account on the day",
                0,
                "no active model for the target",
            )
            for t in SCORE_TARGETS
        ),
    )
}


@dataclass(frozen=True, slots=True)
class FeatureSchema:
    """The features a policy may use, with the currency's minor digits and the known values of str features."""

    features: Mapping[str, Feature] = field(default_factory=lambda: FEATURES)
    money_digits: int = 2
    vocabularies: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def for_policy(
        cls,
        currency: str = "CNY",
        buckets: Iterable[str] = (),
        products: Iterable[str] = (),
    ) -> FeatureSchema:
        """The schema of a policy: its currency, the bucket names of its products and its product codes."""
        vocab = {f.name: frozenset(f.values) for f in FEATURES.values() if f.values}
        vocab["bucket"] = frozenset(buckets) or frozenset(DEFAULT_BUCKETS.names())
        if products:
            vocab["product"] = frozenset(products)
        return cls(FEATURES, minor_digits(currency), vocab)

    def get(self, name: str) -> Feature | None:
        return self.features.get(name)

    def known_values(self, name: str) -> frozenset[str]:
        """The values a str feature can take; empty when any value is allowed."""
        return self.vocabularies.get(name, frozenset())

    def suggest(self, name: str) -> str:
        """' (did you mean 'x'?)' for a misspelt feature name, or ''."""
        return did_you_mean(name, self.features)

    def scale(self, feature: Feature) -> int:
        """Decimal places of a numeric feature's internal integer (money: minor digits, ratio: 4)."""
        if feature.type is FeatureType.MONEY:
            return self.money_digits
        if feature.type is FeatureType.RATIO:
            return RATIO_SCALE
        return 0


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A hint naming the closest known name, or '' when none is close."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def default_row() -> dict[str, FeatureValue]:
    """Every feature at its default: an account with no history and nothing owed."""
    return {name: f.default for name, f in FEATURES.items()}


def ratio_bp(numerator: int, denominator: int, *, when_empty: int = RATIO_ONE) -> int:
    """numerator / denominator in basis points, rounded down; `when_empty` if the denominator is 0.

    Engines compute ratio features this way (SQL: CASE WHEN d = 0 THEN 10000 ELSE n * 10000 // d END
    on non-negative integers) so every engine holds the same integer.
    """
    if denominator == 0:
        return when_empty
    return numerator * RATIO_ONE // denominator


def parse_feature_value(name: str, raw: object, currency: str = "CNY") -> FeatureValue:
    """A feature value as a person writes it (money "1234.56", ratio 0.95) → the internal representation."""
    feature = FEATURES.get(name)
    if feature is None:
        raise InputError(f"unknown feature {name!r}{did_you_mean(name, FEATURES)}", field=name)
    kind = feature.type
    if kind is FeatureType.BOOL:
        if not isinstance(raw, bool):
            raise InputError(f"must be true or false, got {raw!r}", field=name)
        return raw
    if kind is FeatureType.STR:
        if not isinstance(raw, str) or not raw:
            raise InputError(f"must be a non-empty string, got {raw!r}", field=name)
        if feature.values and raw not in feature.values:
            raise InputError(f"unknown value {raw!r} (known: {', '.join(feature.values)})", field=name)
        return raw
    if kind is FeatureType.MONEY:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
            raise InputError(f'must be an amount such as "1234.56", got {raw!r}', field=name)
        return parse_minor(raw, currency, field=name)
    if kind is FeatureType.RATIO:
        try:
            if isinstance(raw, bool):
                raise InvalidOperation
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw)).scaleb(RATIO_SCALE)
        except InvalidOperation:
            raise InputError(f"must be a decimal ratio such as 0.95, got {raw!r}", field=name) from None
        if not value.is_finite() or value != value.to_integral_value():
            raise InputError(f"must be a ratio with at most {RATIO_SCALE} decimals, got {raw!r}", field=name)
        return int(value)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InputError(f"must be a whole number, got {raw!r}", field=name)
    return raw


def parse_feature_row(raw: Mapping[str, object], currency: str = "CNY") -> dict[str, FeatureValue]:
    """A full feature row from the values a person wrote; features not given take their defaults."""
    row = default_row()
    for name, value in raw.items():
        row[str(name)] = parse_feature_value(str(name), value, currency)
    return row


def format_feature_value(name: str, value: FeatureValue, currency: str = "CNY") -> FeatureValue:
    """The internal value as a person reads it: money "1234.56", ratio "0.9500", others unchanged."""
    feature = FEATURES[name]
    if feature.type is FeatureType.MONEY and isinstance(value, int):
        return format_minor(value, currency)
    if feature.type is FeatureType.RATIO and isinstance(value, int):
        return str(Decimal(value).scaleb(-RATIO_SCALE).quantize(Decimal(1).scaleb(-RATIO_SCALE)))
    return value
