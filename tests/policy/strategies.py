"""Hypothesis strategies: well-typed expressions in the policy language and feature rows to run them on."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from arrears.domain.features import FEATURES, FeatureSchema, FeatureType, FeatureValue

SCHEMA = FeatureSchema.for_policy()
_BY_TYPE = {t: [f.name for f in FEATURES.values() if f.type is t] for t in FeatureType}
_INTS, _MONEY, _RATIOS = _BY_TYPE[FeatureType.INT], _BY_TYPE[FeatureType.MONEY], _BY_TYPE[FeatureType.RATIO]
_BOOLS, _STRS = _BY_TYPE[FeatureType.BOOL], [n for n in _BY_TYPE[FeatureType.STR] if SCHEMA.known_values(n)]
# dpd and friends are INTEGER columns in the test relation, money BIGINT: the SQL must widen before arithmetic
_INT32 = {"dpd", "delinquent_days", "instalments_overdue", "broken_promises_90d", "day_offset"}


def _vocab(name: str) -> list[str]:
    return sorted(SCHEMA.known_values(name))


# Small, repeated values make comparisons hit equality often (where < and <= differ).
literals = st.one_of(
    st.sampled_from(["0", "1", "7", "11", "30", "500", "0.9", "0.95", "1.0", "500.00"]),
    st.integers(0, 100_000).map(str),
    st.tuples(st.integers(0, 9_999), st.integers(1, 3), st.integers(0, 999)).map(
        lambda t: f"{t[0]}.{str(t[2]).zfill(t[1])[-t[1] :]}"
    ),
)


@st.composite
def plain_numbers(draw: st.DrawFn, depth: int = 2) -> str:
    """A numeric expression that is not money (it may be a constant)."""
    choice = draw(st.integers(0, 5 if depth > 0 else 1))
    if choice == 0:
        return draw(literals)
    if choice == 1:
        return draw(st.sampled_from(_INTS + _RATIOS))
    if choice == 2:
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        return f"({draw(plain_numbers(depth - 1))} {op} {draw(plain_numbers(depth - 1))})"
    if choice == 3:
        return f"({draw(money_amounts(depth - 1))} / {draw(money_amounts(depth - 1))})"
    if choice == 4:
        return f"-({draw(plain_numbers(depth - 1))})"
    return f"({draw(plain_numbers(depth - 1))})"


@st.composite
def money_amounts(draw: st.DrawFn, depth: int = 2) -> str:
    """A money expression: it reads at least one money feature; constants beside it are yuan."""
    choice = draw(st.integers(0, 5 if depth > 0 else 0))
    if choice == 0:
        return draw(st.sampled_from(_MONEY))
    if choice == 1:
        sides = [draw(money_amounts(depth - 1)), draw(st.one_of(money_amounts(depth - 1), literals))]
        if draw(st.booleans()):
            sides.reverse()
        return f"({sides[0]} {draw(st.sampled_from(['+', '-']))} {sides[1]})"
    if choice == 2:
        return f"({draw(money_amounts(depth - 1))} {draw(st.sampled_from(['*', '/']))} {draw(plain_numbers(depth - 1))})"
    if choice == 3:
        return f"({draw(plain_numbers(depth - 1))} * {draw(money_amounts(depth - 1))})"
    if choice == 4:
        return f"-({draw(money_amounts(depth - 1))})"
    return f"({draw(money_amounts(depth - 1))})"


@st.composite
def conditions(draw: st.DrawFn, depth: int = 2) -> str:
    """A true/false expression mixing every kind of feature and operator."""
    cmp = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    leaves = [0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 13]
    choice = draw(st.sampled_from([*leaves, 8, 9, 10] if depth > 0 else leaves))
    if choice == 11:  # same-kind features, or a feature and a value it often holds: equality matters
        kind = draw(st.sampled_from([_INTS, _MONEY, _RATIOS]))
        return f"{draw(st.sampled_from(kind))} {cmp} {draw(st.sampled_from(kind))}"
    if choice == 12:
        return (
            f"{draw(st.sampled_from(_INTS))} {cmp} {draw(st.sampled_from(['0', '1', '7', '11', '30', '-1']))}"
        )
    if choice == 13:
        return f"{draw(st.sampled_from(_MONEY))} {cmp} {draw(st.sampled_from(['0', '1', '1.00', '500', '500.01']))}"
    if choice == 0:
        return draw(st.sampled_from([*_BOOLS, "true", "false"]))
    if choice == 1:
        return f"{draw(plain_numbers(1))} {cmp} {draw(plain_numbers(1))}"
    if choice == 2:
        sides = [draw(money_amounts(1)), draw(st.one_of(money_amounts(1), literals))]
        if draw(st.booleans()):
            sides.reverse()
        return f"{sides[0]} {cmp} {sides[1]}"
    if choice in (3, 4):
        name = draw(st.sampled_from(_STRS))
        values = draw(st.lists(st.sampled_from(_vocab(name)), min_size=1, max_size=3))
        if choice == 3:
            return f"{name} {draw(st.sampled_from(['==', '!=']))} '{values[0]}'"
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(repr(v) for v in values)}]"
    if choice == 5:
        items = draw(st.lists(st.one_of(st.integers(-5, 40).map(str), literals), min_size=1, max_size=4))
        return f"{draw(st.sampled_from(_INTS + _RATIOS))} in [{', '.join(items)}]"
    if choice == 6:
        items = draw(st.lists(literals, min_size=1, max_size=3))
        return f"{draw(st.sampled_from(_MONEY))} in [{', '.join(items)}]"
    if choice == 7:
        return f"{draw(st.sampled_from(_BOOLS))} {draw(st.sampled_from(['==', '!=']))} {draw(st.sampled_from(_BOOLS))}"
    if choice == 8:
        return f"not ({draw(conditions(depth - 1))})"
    word = "and" if choice == 9 else "or"  # 9 or 10
    return f"({draw(conditions(depth - 1))}) {word} ({draw(conditions(depth - 1))})"


def _value(name: str) -> st.SearchStrategy[Any]:
    kind = FEATURES[name].type
    if kind is FeatureType.BOOL:
        return st.booleans()
    if kind is FeatureType.STR:
        return st.sampled_from(_vocab(name)) if SCHEMA.known_values(name) else st.sampled_from(["a", "b"])
    if kind is FeatureType.MONEY:
        return st.one_of(st.sampled_from([0, 100, 50_000, 50_001]), st.integers(0, 10**9))
    if kind is FeatureType.RATIO:
        return st.one_of(st.sampled_from([0, 9_000, 9_500, 10_000]), st.integers(0, 10_000))
    return st.one_of(st.integers(-30, 400), st.sampled_from([0, 1, 7, 11, 30, 31, 9999, -9999]))


feature_rows = st.fixed_dictionaries({name: _value(name) for name in FEATURES})


def arrow_table(
    rows: list[dict[str, FeatureValue]],
    extra: dict[str, list[Any]] | None = None,
    *,
    engine_only: bool = False,
) -> pa.Table:
    """The rows as a columnar relation typed as the engines type features.

    `engine_only` leaves out what the policy computes (ews_score, ews_level), as an engine's relation does.
    """
    columns: dict[str, pa.Array] = {}
    for name, feature in FEATURES.items():
        if engine_only and feature.computed_by_policy:
            continue
        values = [r[name] for r in rows]
        if feature.type is FeatureType.BOOL:
            columns[name] = pa.array(values, pa.bool_())
        elif feature.type is FeatureType.STR:
            columns[name] = pa.array(values, pa.string())
        else:
            columns[name] = pa.array(values, pa.int32() if name in _INT32 else pa.int64())
    for name, values in (extra or {}).items():
        columns[name] = pa.array(values)
    return pa.table(columns)
