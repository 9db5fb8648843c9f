"""The lender's own features: how a column is named and typed, and how a written value becomes the
internal integer (money in minor units, ratios in basis points, bools 0 / 1), as for the built-in ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from arrears.domain.errors import InputError
from arrears.domain.features import FEATURES, RATIO_SCALE
from arrears.domain.model_records import LenderFeatureValue
from arrears.domain.money import parse_minor

TYPES = ("int", "money", "ratio", "bool")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
BOOLS = {"true": 1, "false": 0, "1": 1, "0": 0, "yes": 1, "no": 0}


@dataclass(frozen=True, slots=True)
class RawFeatureRow:
    file: str
    line: int
    values: dict[str, str | None]
    header: tuple[str, ...]


def column_type(column: str) -> tuple[str, str]:
    """`name:type` → (name, type); the name must be new (not a built-in feature) and a plain identifier."""
    name, _, kind = column.partition(":")
    name, kind = name.strip(), (kind.strip() or "int")
    if not NAME.match(name):
        raise InputError(
            f"column {column!r}: a feature name is lower-case letters, digits and _", field=column
        )
    if name in FEATURES:
        raise InputError(f"column {column!r}: {name} is a built-in feature", field=column)
    if kind not in TYPES:
        raise InputError(f"column {column!r}: unknown type {kind!r} (use {', '.join(TYPES)})", field=column)
    return name, kind


def parse_value(kind: str, raw: str, currency: str = "CNY") -> int:
    text = raw.strip()
    if kind == "bool":
        if text.lower() not in BOOLS:
            raise InputError(f"must be true or false, got {raw!r}")
        return BOOLS[text.lower()]
    if kind == "money":
        return parse_minor(text, currency)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InputError(f"must be a number, got {raw!r}") from None
    if not value.is_finite():
        raise InputError(f"must be a finite number, got {raw!r}")
    if kind == "ratio":
        scaled = value.scaleb(RATIO_SCALE)
        if scaled != scaled.to_integral_value():
            raise InputError(f"a ratio has at most {RATIO_SCALE} decimals, got {raw!r}")
        return int(scaled)
    if value != value.to_integral_value():
        raise InputError(f"must be a whole number (or type the column :ratio / :money), got {raw!r}")
    if abs(value) >= 2**63:
        raise InputError(f"out of range: {raw!r}")
    return int(value)


def parse_rows(rows: list[RawFeatureRow]) -> list[LenderFeatureValue]:
    """Every value of the file, checked; the first bad one raises InputError naming file:line:column."""
    if not rows:
        return []
    header = rows[0].header
    for needed in ("loan_id", "as_of"):
        if needed not in header:
            raise InputError(f"{rows[0].file}: no {needed!r} column", field=needed)
    columns = {c: column_type(c) for c in header if c not in ("loan_id", "as_of")}
    if not columns:
        raise InputError(f"{rows[0].file}: no feature column besides loan_id and as_of", field="FILE")
    out: list[LenderFeatureValue] = []
    seen: set[tuple[str, date]] = set()
    for row in rows:
        where = f"{row.file}:{row.line}"
        loan = (row.values.get("loan_id") or "").strip()
        if not loan:
            raise InputError(f"{where}: loan_id is empty", field="loan_id")
        try:
            as_of = date.fromisoformat((row.values.get("as_of") or "").strip()[:10])
        except ValueError:
            raise InputError(
                f"{where}: as_of must be a date YYYY-MM-DD, got {row.values.get('as_of')!r}", field="as_of"
            ) from None
        if (loan, as_of) in seen:
            raise InputError(f"{where}: loan {loan} on {as_of} appears twice", field="loan_id")
        seen.add((loan, as_of))
        for column, (name, kind) in columns.items():
            raw = row.values.get(column)
            if raw is None or not raw.strip():
                continue  # no value: the feature is unknown for this loan and day
            try:
                value = parse_value(kind, raw)
            except InputError as err:
                raise InputError(f"{where}: {column}: {err}", field=column) from None
            out.append(LenderFeatureValue(loan, name, as_of, kind, value))
    return out
