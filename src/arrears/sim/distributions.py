"""The few ways the generator draws numbers: shares of a table, whole days in a range."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.sim.portfolio_params import DayRange


def normalised(shares: list[float]) -> np.ndarray:
    """Shares as probabilities that sum to exactly 1 (numpy's choice insists)."""
    arr = np.asarray(shares, dtype=np.float64)
    return np.asarray(arr / arr.sum(), dtype=np.float64)


def pick(rng: np.random.Generator, count: int, table: dict[Any, float]) -> pa.Array:
    """`count` values drawn from a {value: share} table, as text; a None value becomes null."""
    values = pa.array([None if k is None else str(k) for k in table], type=pa.string())
    idx = rng.choice(len(table), size=count, p=normalised(list(table.values())))
    return pc.take(values, pa.array(idx))


def uniform_days(rng: np.random.Generator, days: DayRange, count: int) -> np.ndarray:
    """Whole days drawn uniformly from the inclusive range."""
    return rng.integers(days.min, days.max + 1, count)
