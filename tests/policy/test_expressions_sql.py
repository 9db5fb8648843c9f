"""Property: an expression gives the same result in Python and in DuckDB, row by row."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arrears.domain.expressions import ArithmeticOverflow, ExpressionError, parse_expression
from tests.policy.strategies import (
    SCHEMA,
    arrow_table,
    conditions,
    feature_rows,
    money_amounts,
    plain_numbers,
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _agree(con: duckdb.DuckDBPyConnection, text: str, rows: list[dict]) -> None:
    try:
        expr = parse_expression(text, SCHEMA)
    except ExpressionError as err:
        # ratio × ratio × … can outgrow 18 places; a generated divisor can fold to the constant 0
        assume("decimal places" not in err.reason and "division by zero" not in err.reason)
        raise
    con.register("features", arrow_table(rows, {"rid": list(range(len(rows)))}))
    try:
        got = [v for (v,) in con.execute(f"SELECT {expr.to_sql()} FROM features ORDER BY rid").fetchall()]
    except duckdb.OutOfRangeException:
        assume(False)  # out of 64 bits: both engines refuse (checked below for Python on single rows)
    expected = []
    for row in rows:
        try:
            expected.append(expr.evaluate(row))
        except ArithmeticOverflow:
            pytest.fail(f"Python overflowed where DuckDB did not: {text!r} on {row}")
    assert got == expected, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=conditions(), rows=st.lists(feature_rows, min_size=1, max_size=12))
def test_conditions_agree_with_duckdb(con: duckdb.DuckDBPyConnection, text: str, rows: list[dict]) -> None:
    _agree(con, text, rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(plain_numbers(3), money_amounts(3)),
    rows=st.lists(feature_rows, min_size=1, max_size=12),
)
def test_numeric_values_agree_with_duckdb(
    con: duckdb.DuckDBPyConnection, text: str, rows: list[dict]
) -> None:
    _agree(con, text, rows)
