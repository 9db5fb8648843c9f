"""The lab's bootstrap intervals against examples worked out by hand, and their range as a property.

Worked example: the rates of five seeds are 0, 0, 0, 0, 1. A resample of five seeds holds k ones, k ~
Binomial(5, 1/5), so its mean is k/5 with P(k = 0) = 0.328 (→ the 2.5th percentile is 0) and
P(k ≤ 2) = 0.942 < 0.975 ≤ P(k ≤ 3) = 0.993 (→ the 97.5th percentile is 3/5). With 10,000 resamples the
empirical percentiles land on those values whatever the generator draws (the margins are ~15 standard
errors wide), so the interval is [0, 0.6] around the mean 0.2.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.bootstrap import (
    NON_NEGATIVE,
    RATE,
    Bounds,
    bootstrap_mean,
    paired_difference,
)


def test_percentile_interval_by_hand() -> None:
    estimate = bootstrap_mean([0.0, 0.0, 0.0, 0.0, 1.0], RATE)
    assert (estimate.value, estimate.low, estimate.high, estimate.n) == (0.2, 0.0, 0.6, 5)
    # the same numbers under any generator seed: the example does not hang on one draw
    for seed in range(5):
        again = bootstrap_mean([0.0, 0.0, 0.0, 0.0, 1.0], RATE, seed=seed)
        assert (again.low, again.high) == (0.0, 0.6)


def test_two_seeds_give_their_range_and_the_same_interval_every_time() -> None:
    # resampled means of two values: a (1/4), (a+b)/2 (1/2), b (1/4) → the 2.5 % / 97.5 % points are a, b
    estimate = bootstrap_mean([0.2, 0.4], RATE)
    assert estimate.low == 0.2 and estimate.high == 0.4
    assert bootstrap_mean([0.2, 0.4, 0.9], RATE) == bootstrap_mean([0.2, 0.4, 0.9], RATE)


def test_paired_difference_by_hand() -> None:
    # policy B equals A on four seeds and is 0.4 higher on the fifth: differences 0, 0, 0, 0, 0.4 are the
    # worked example scaled by 0.4 → mean 0.08, interval [0, 0.24]
    a = [0.5, 0.5, 0.5, 0.5, 0.5]
    b = [0.5, 0.5, 0.5, 0.5, 0.9]
    estimate = paired_difference(a, b, RATE)
    assert estimate.value == pytest.approx(0.08)
    assert estimate.low == 0.0 and estimate.high == pytest.approx(0.24)
    # pairing matters: the seeds' shared luck (a large swing common to both) cancels out
    shared = [0.1, 0.9, 0.3, 0.7, 0.5]
    paired = paired_difference(shared, [x + 0.05 for x in shared], RATE)
    assert paired.low == pytest.approx(0.05) and paired.high == pytest.approx(0.05)


def test_a_seed_where_either_value_is_undefined_is_left_out_of_the_pairs() -> None:
    estimate = paired_difference([0.1, None, 0.3], [0.2, 0.5, None], RATE)
    assert estimate.n == 1 and estimate.value == pytest.approx(0.1)


def test_one_seed_has_no_interval() -> None:
    estimate = bootstrap_mean([0.3], RATE)
    assert estimate.value == 0.3 and estimate.low is None and estimate.high is None
    assert not estimate.has_interval
    assert bootstrap_mean([], RATE).value is None


def test_the_interval_is_clamped_to_the_possible_range() -> None:
    assert Bounds(0.0, 1.0).clamp(1.3) == 1.0 and Bounds(0.0, 1.0).clamp(-0.2) == 0.0
    assert RATE.of_difference() == Bounds(-1.0, 1.0)
    assert NON_NEGATIVE.of_difference() == Bounds(None, None)


rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(rates, min_size=1, max_size=12))
def test_a_rate_interval_never_leaves_zero_to_one(values: list[float]) -> None:
    estimate = bootstrap_mean(values, RATE, resamples=500)
    assert estimate.value is not None and 0.0 <= estimate.value <= 1.0
    if len(values) > 1:
        assert estimate.low is not None and estimate.high is not None
        assert 0.0 <= estimate.low <= estimate.high <= 1.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(rates, rates), min_size=1, max_size=12))
def test_a_difference_of_rates_stays_within_minus_one_to_one(pairs: list[tuple[float, float]]) -> None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    estimate = paired_difference(a, b, RATE, resamples=500)
    assert estimate.value is not None and -1.0 <= estimate.value <= 1.0
    if len(pairs) > 1:
        assert estimate.low is not None and estimate.high is not None
        assert -1.0 <= estimate.low <= estimate.high <= 1.0
