"""The condition language: literal cases of parsing, evaluation, SQL text and errors with their columns."""

from __future__ import annotations

import pytest

from arrears.domain.expressions import (
    SPARK,
    ArithmeticOverflow,
    ExpressionError,
    parse_condition,
    parse_expression,
)
from arrears.domain.features import FeatureSchema, default_row, parse_feature_row

# An account 12 days late: 1234.56 overdue of 3000.00 outstanding, 95 % paid on time so far.
ROW = parse_feature_row(
    {
        "dpd": 12,
        "day_offset": 12,
        "bucket": "M1",
        "overdue_total": "1234.56",
        "outstanding_total": "3000.00",
        "overdue_principal": "1000.00",
        "on_time_ratio": 0.95,
        "autodebit_failed": True,
        "broken_promises_90d": 2,
        "last_contact_outcome": "no_answer",
        "product": "baitiao-30d",
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dpd > 11", True),
        ("dpd >= 13", False),
        ("overdue_total > 1234.55", True),
        ("overdue_total > 1234.56", False),
        ("overdue_total == 1234.56", True),
        ("overdue_total > 500", True),
        ("on_time_ratio >= 0.95", True),
        ("on_time_ratio > 0.95", False),
        ("on_time_ratio >= 0.9 and autodebit_failed", True),
        ("not autodebit_failed or hardship", False),
        ("bucket in ['M1', 'M2']", True),
        ("bucket not in ['M1', 'M2']", False),
        ('bucket == "M1"', True),
        ("dpd in [1, 7, 12]", True),
        ("overdue_total in [1234.56, 99]", True),
        ("overdue_total / outstanding_total == 0.4115", True),  # 0.41152 truncated to 4 places
        ("overdue_total / outstanding_total > 0.4115", False),
        ("overdue_principal * 2 - 800 < outstanding_total - 1000", True),  # 1200 < 3000 - 1000
        ("-dpd + 5 * 2 == -2", True),
        ("(dpd - 2) * (dpd + 2) == 140", True),
        ("broken_promises_90d >= 2 and last_contact_outcome != 'right_party'", True),
        ("autodebit_failed == true", True),
        ("hardship == disputed", True),
        ("product == 'baitiao-30d'", True),
        ("true", True),
        ("not (dpd > 7 and dpd < 30)", False),
        ("days_since_last_payment > 365", True),  # default: never paid = 9999
    ],
)
def test_conditions_over_a_literal_row(text: str, expected: bool) -> None:
    assert parse_condition(text).holds(ROW) is expected


@pytest.mark.parametrize(
    ("text", "value", "scale"),
    [
        ("dpd / 7", 17142, 4),  # 12 / 7 = 1.714285… to 4 places
        ("overdue_total * 2", 246912, 2),
        ("overdue_total / 3", 4115200, 4),  # 411.52 exactly
        ("overdue_total * on_time_ratio", 1172832000, 6),  # 1234.56 × 0.95 = 1172.832
        ("overdue_total / outstanding_total", 4115, 4),
        ("1 / 3", 3333, 4),
        ("2.5 * 4", 100, 1),
        ("-dpd", -12, 0),
    ],
)
def test_numeric_values_are_exact_fixed_point(text: str, value: int, scale: int) -> None:
    expr = parse_expression(text)
    assert (expr.evaluate(ROW), expr.type.scale) == (value, scale)


def test_division_truncates_toward_zero_and_by_zero_is_zero() -> None:
    row = default_row() | {"dpd": -7}
    assert parse_expression("dpd / 2").evaluate(row) == -35000
    assert parse_expression("dpd / 3").evaluate(row) == -23333  # not -23334: truncated like SQL
    assert parse_expression("overdue_total / outstanding_total").evaluate(default_row()) == 0


def test_sql_scales_literals_to_minor_units_and_basis_points() -> None:
    assert parse_condition("overdue_total > 500").to_sql() == '("overdue_total" > 50000)'
    assert parse_condition("on_time_ratio >= 0.9").to_sql() == '("on_time_ratio" >= 9000)'
    assert (
        parse_condition("overdue_total > 500.125").to_sql()
        == '((CAST("overdue_total" AS BIGINT) * 10) > 500125)'
    )
    assert parse_condition("bucket in ['M1', 'M2'] and not hardship").to_sql(SPARK) == (
        "((`bucket` IN ('M1', 'M2')) AND (NOT `hardship`))"
    )


def test_money_literals_follow_the_currency_minor_unit() -> None:
    yen = FeatureSchema.for_policy("JPY")
    assert parse_condition("overdue_total > 500", yen).to_sql() == '("overdue_total" > 500)'


def test_division_sql_guards_zero_and_uses_the_dialects_integer_division() -> None:
    expr = parse_expression("overdue_total / outstanding_total")
    assert expr.to_sql() == (
        '(CASE WHEN CAST("outstanding_total" AS BIGINT) = 0 THEN 0 '
        'ELSE (CAST("overdue_total" AS BIGINT) * 10000) // CAST("outstanding_total" AS BIGINT) END)'
    )
    assert parse_expression("dpd / 7").to_sql(SPARK) == "((CAST(`dpd` AS BIGINT) * 10000) div 7)"


def test_constants_are_folded_before_sql() -> None:
    assert parse_condition("dpd > 100000 * 100000").to_sql() == '("dpd" > 10000000000)'
    assert parse_condition("dpd > -3").to_sql() == '("dpd" > (-3))'


def test_strings_are_quoted_safely() -> None:
    expr = parse_condition("product == 'it''s'")
    assert expr.to_sql() == "(\"product\" = 'it''s')"
    assert expr.holds(default_row() | {"product": "it's"})


def test_columns_can_be_qualified() -> None:
    assert parse_condition("dpd > 3").to_sql(column=lambda n: f"f.{n}") == "(f.dpd > 3)"


def test_trace_lists_each_elementary_condition() -> None:
    expr = parse_condition("on_time_ratio >= 0.9 and (autodebit_failed or dpd > 30) and not hardship")
    assert expr.trace(ROW) == (
        ("on_time_ratio >= 0.9", True),
        ("autodebit_failed", True),
        ("dpd > 30", False),
        ("hardship", False),
    )
    assert expr.features == {"on_time_ratio", "autodebit_failed", "dpd", "hardship"}


def test_overflow_is_an_error_not_a_wrapped_number() -> None:
    expr = parse_expression("outstanding_total * 100000000000")
    with pytest.raises(ArithmeticOverflow):
        expr.evaluate(default_row() | {"outstanding_total": 10**9})


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("dpdd > 3", "unknown feature 'dpdd' (did you mean 'dpd'?)", 1),
        ("DPD > 3", "unknown feature 'DPD' (did you mean 'dpd'?)", 1),
        ("bucket == 'M9'", "'M9' is not a value of bucket", 11),
        (
            "last_contact_outcome in ['promise', 'refused']",
            "'promise' is not a value of last_contact_outcome",
            26,
        ),
        ("dpd = 3", "unexpected '=': use == to compare", 5),
        ("dpd > 3 && hardship", "use 'and'", 9),
        ("dpd > 3 || hardship", "use 'or'", 9),
        ("!hardship", "use 'not'", 1),
        ("bucket > 'M1'", "a string can only be compared with ==, != or in", 8),
        ("dpd > 'x'", "cannot compare a number with a string", 5),
        ("bucket == 3", "cannot compare a string with a number", 8),
        ("overdue_total + dpd > 3", "cannot add money and a number that is not money", 15),
        ("overdue_total > dpd", "cannot compare money and a number that is not money", 15),
        ("overdue_total * overdue_total > 1", "cannot multiply money by money", 15),
        ("dpd / overdue_total > 1", "cannot divide a number by money", 5),
        ("dpd / 0 > 1", "division by zero", 7),
        ("1 < dpd < 3", "chained comparisons are not supported", 9),
        ("__import__('os')", "function calls are not supported", 1),
        ("dpd.real > 3", "attribute access is not supported", 4),
        ("dpd > 3;", "unexpected ';'", 8),
        ("dpd > 3 or", "expected a value, found the end", 11),
        ("dpd > 3 hardship", "unexpected 'hardship'", 9),
        ("True", "write 'true' in lower case", 1),
        ("dpd > 3 AND hardship", "unexpected 'AND'", 9),
        ("hardship and 3", "'and' needs true/false operands, this is a number", 14),
        ("not dpd", "'not' needs true/false operands, this is a number", 5),
        ("on_time_ratio > .5", "write decimals with a leading digit", 17),
        ("dpd > 1.", "a decimal point needs digits after it", 8),
        ("dpd > 12abc", "malformed number", 7),
        ("product == 'abc", "unterminated string", 12),
        ("product == 'a\\b'", "strings cannot contain backslashes", 14),
        ("dpd in [1, dpd]", "a list after 'in' holds literal numbers or strings only", 12),
        ("dpd in 1", "expected '[' to start the list after 'in'", 8),
        ("hardship in [true]", "'in' needs a number or a string on its left", 1),
        ("dpd > 1234567890123456789", "has too many digits", 7),
        ("(dpd > 3", "expected ')' to close the parenthesis", 9),
        ("", "empty expression", 1),
        ("-hardship", "cannot negate true/false", 1),
        ("dpd > 逾期", "unexpected '逾'", 7),
    ],
)
def test_errors_name_the_reason_and_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_condition(text)
    assert message in caught.value.reason
    assert caught.value.column == column


def test_a_condition_must_be_true_or_false() -> None:
    with pytest.raises(ExpressionError, match="a condition must be true or false, this is money"):
        parse_condition("overdue_total * 2")


def test_too_long_or_too_deep_expressions_are_rejected() -> None:
    with pytest.raises(ExpressionError, match="longer than 4000"):
        parse_condition(" or ".join(["hardship"] * 500))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_condition("(" * 100 + "hardship" + ")" * 100)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_condition("dpd " + "+ dpd " * 200 + "> 3")


def test_error_message_is_one_line_with_the_expression() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_condition("dpdd > 3")
    assert str(caught.value) == "unknown feature 'dpdd' (did you mean 'dpd'?) at column 1 of `dpdd > 3`"
    assert str(caught.value.at("segments[2].when")).startswith("field 'segments[2].when': unknown feature")
