"""The risk models' rules in the domain: labels, scorecard arithmetic, calibration steps, metrics and PSI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.errors import InputError
from arrears.domain.expressions import DUCKDB, parse_condition
from arrears.domain.models import (
    NO_DAY,
    CalibrationTable,
    Characteristic,
    Scorecard,
    auc,
    brier,
    calibration_error,
    deciles,
    in_population,
    ks,
    miss_labels,
    promise_labels,
    psi,
    roll_labels,
    self_cure_labels,
    target,
)

CARD = Scorecard(
    (
        Characteristic("dpd", (5.0, 15.0), (40, 25, 10)),
        Characteristic("on_time_ratio", (8000.0,), (5, 30)),
    ),
    CalibrationTable((-math.inf, 40.0, 60.0), (6000, 3000, 1000)),
)


def test_a_scorecard_adds_the_points_of_each_bin_and_steps_to_a_probability() -> None:
    # dpd 3 → bin 0 (40), on_time 0.95 → bin 1 (30): 70 points → the step from 60 on: 10 %
    assert CARD.points({"dpd": 3, "on_time_ratio": 9500}) == 70
    assert CARD.probability_bp({"dpd": 3, "on_time_ratio": 9500}) == 1000
    # dpd 15 sits in the bin starting at 15 (10 points), on_time 0.5 → 5: 15 points → below 40: 60 %
    assert CARD.points({"dpd": 15, "on_time_ratio": 5000}) == 15
    assert CARD.probability_bp({"dpd": 15, "on_time_ratio": 5000}) == 6000


def test_reason_codes_are_the_characteristics_costing_most_points() -> None:
    reasons = CARD.reasons({"dpd": 20, "on_time_ratio": 5000})
    assert [(r.feature, r.weight, r.bin) for r in reasons] == [
        ("dpd", 30.0, "[15, inf)"),
        ("on_time_ratio", 25.0, "[-inf, 8000)"),
    ]
    assert CARD.reasons({"dpd": 1, "on_time_ratio": 9000}) == []  # every characteristic at its best


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 40), st.integers(0, 10_000)), min_size=1, max_size=50))
def test_the_column_wise_scorecard_equals_the_row_one(rows: list[tuple[int, int]]) -> None:
    columns = {
        "dpd": np.array([r[0] for r in rows], dtype=np.float64),
        "on_time_ratio": np.array([r[1] for r in rows], dtype=np.float64),
    }
    many = CARD.probability_bp_many(columns).tolist()
    assert many == [CARD.probability_bp({"dpd": d, "on_time_ratio": o}) for d, o in rows]


def test_self_cure_needs_the_overdue_paid_and_no_intervention() -> None:
    day = 20_000
    oldest_later = np.array([NO_DAY, day + 5, day - 10, NO_DAY], dtype=np.int64)
    intervened = np.array([False, False, False, True])
    # paid up / only a new instalment unpaid / still the old one unpaid / paid after an agent call
    assert self_cure_labels(day, oldest_later, intervened).tolist() == [True, True, False, False]


def test_populations_and_the_other_labels() -> None:
    dpd = np.array([0, 1, 30, 31, 0])
    offset = np.array([-3, 1, 30, 31, -9])
    none = np.zeros(5, dtype=bool)
    assert in_population("self_cure_30d", dpd, offset, none, none).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert in_population("miss_next_due", dpd, offset, none, none).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert roll_labels(np.array([1, 1, 2]), np.array([1, 2, 1])).tolist() == [False, True, False]
    # due 3 days after D (offset −3): missed when that due date (or an older one) is unpaid on D+8
    assert miss_labels(100, np.array([-3, -3]), np.array([103, NO_DAY])).tolist() == [True, False]
    assert promise_labels([["contact", "promise_kept"], ["promise_broken", "promise_kept"], []]).tolist() == [
        True,
        False,
        False,
    ]
    with pytest.raises(InputError, match="unknown target"):
        target("self_cure")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=2, max_size=60))
def test_auc_is_the_share_of_event_non_event_pairs_ranked_right(pairs: list[tuple[bool, int]]) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=np.float64)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        assert auc(y, s) == 0.5
        return
    expected = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))
    assert auc(y, s) == pytest.approx(expected)


def test_metrics_on_a_small_literal_case() -> None:
    y = np.array([True, True, False, False])
    p = np.array([0.9, 0.4, 0.6, 0.1])
    assert auc(y, p) == 0.75
    assert ks(y, p) == 0.5
    assert brier(y, p) == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert [d.accounts for d in deciles(y, p)] == [1, 1, 1, 1]
    assert calibration_error(y, p) == pytest.approx(0.6)


def test_psi_is_zero_for_the_same_population_and_large_for_a_moved_one() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 5000)
    edges = list(np.quantile(a, np.linspace(0, 1, 11)[1:-1]))
    assert psi(a, a, edges) == 0.0
    assert psi(a, rng.normal(0, 1, 5000), edges) < 0.02
    assert psi(a, rng.normal(1.5, 1, 5000), edges) > 0.25


def test_policies_read_a_score_by_its_dotted_name() -> None:
    expr = parse_condition("score.self_cure_30d >= 0.8 and dpd <= 10")
    assert expr.evaluate({"score.self_cure_30d": 8000, "dpd": 3}) is True
    assert expr.evaluate({"score.self_cure_30d": 7999, "dpd": 3}) is False
    assert '"score.self_cure_30d" >= 8000' in expr.to_sql(DUCKDB)
    with pytest.raises(InputError, match=r"unknown feature 'score\.self_cure'"):
        parse_condition("score.self_cure >= 0.8")


def test_case_priority_by_pay_propensity_is_balance_times_probability_per_late_loan() -> None:
    from arrears.domain.cases import expected_recovery_by_propensity

    # ¥1,000.00 at 35 % and ¥250.50 at 12.34 %: 35,000 + 3,091 (30.911 rounded down) fen
    assert expected_recovery_by_propensity([(100_000, 3500), (25_050, 1234)]) == 35_000 + 3_091
