"""Bootstrap intervals for the lab's comparisons: one policy's mean over seeds, and the paired difference
between two policies simulated with the same seeds.

Percentile bootstrap: the seeds are resampled with replacement `resamples` times (a numpy Generator with a
fixed seed, so a report gives the same interval every time); the interval is the 2.5th and 97.5th
percentiles of the resampled means (numpy's linear interpolation between order statistics). For a paired
difference each resample draws whole seeds, both policies' values of a seed together, so the luck the two
policies shared cancels out. Every interval is clamped to the quantity's possible range (a rate in [0, 1],
a difference of rates in [−1, 1]); a percentile interval of a mean never leaves the range of the data, the
clamp only guards the promise. One value gives no interval (low and high None), never a made-up one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 10_000
BOOTSTRAP_SEED = 20260302
LEVEL = 0.95


@dataclass(frozen=True, slots=True)
class Bounds:
    """The possible range of a quantity; None on a side that has no limit."""

    low: float | None = None
    high: float | None = None

    def clamp(self, value: float) -> float:
        if self.low is not None and value < self.low:
            return self.low
        if self.high is not None and value > self.high:
            return self.high
        return value

    def of_difference(self) -> Bounds:
        """The range of b − a when a and b both lie in this range."""
        if self.low is None or self.high is None:
            return Bounds()
        span = self.high - self.low
        return Bounds(-span, span)


RATE = Bounds(0.0, 1.0)
NON_NEGATIVE = Bounds(0.0, None)
UNBOUNDED = Bounds()


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over n seeds and its percentile bootstrap interval (None when n < 2: no interval exists)."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"value": _round(self.value), "low": _round(self.low), "high": _round(self.high), "n": self.n}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def bootstrap_mean(
    values: Sequence[float],
    bounds: Bounds = UNBOUNDED,
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = LEVEL,
) -> Estimate:
    """The mean of `values` with a percentile bootstrap interval, clamped to `bounds`."""
    data = np.asarray(values, dtype=np.float64)
    n = len(data)
    if n == 0:
        return Estimate(None, None, None, 0)
    mean = bounds.clamp(float(data.mean()))
    if n < 2:
        return Estimate(mean, None, None, n)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    means = data[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(mean, bounds.clamp(float(low)), bounds.clamp(float(high)), n)


def paired_difference(
    a: Sequence[float | None],
    b: Sequence[float | None],
    bounds: Bounds = UNBOUNDED,
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = LEVEL,
) -> Estimate:
    """The mean of b − a over the seeds where both are defined (`bounds` is the range of one value; the
    difference is clamped to the range of a difference), with a paired percentile bootstrap interval."""
    if len(a) != len(b):
        raise ValueError("paired values need one of each per seed")
    diffs = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None and _finite(x, y)]
    return bootstrap_mean(diffs, bounds.of_difference(), resamples=resamples, seed=seed, level=level)


def defined(values: Sequence[float | None]) -> list[float]:
    """The values that are defined (a rate with no denominator in a seed is None)."""
    return [v for v in values if v is not None and not math.isnan(v)]


def _finite(*values: float) -> bool:
    return all(not math.isnan(v) for v in values)
