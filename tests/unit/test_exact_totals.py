"""Amounts summed exactly: a numpy int64 sum wraps around past 2^63; exact_total never does, and the
portfolio report adds its accounts with it."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.money import exact_total

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(INT64, max_size=200))
def test_exact_total_is_the_sum_in_unbounded_integers(values: list[int]) -> None:
    assert exact_total(np.array(values, dtype=np.int64)) == sum(values)


@given(st.lists(INT64, min_size=1, max_size=30), st.integers(1, 4))
def test_exact_total_of_a_table_is_the_sum_of_every_cell(values: list[int], width: int) -> None:
    table = np.array(values * width, dtype=np.int64).reshape(width, -1)
    assert exact_total(table) == width * sum(values)


def test_exact_total_of_nothing_is_zero() -> None:
    assert exact_total(np.array([], dtype=np.int64)) == 0


def test_the_portfolio_report_sums_exactly_past_64_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    from arrears.services import portfolio_report

    accounts = 4
    big = np.full((accounts, 4), 2**61, dtype=np.int64)  # 16 of these overflow an int64 sum
    ledger = SimpleNamespace(
        bucket=np.array(["M1", "M1", "M2", "M7+"]), outstanding=big, overdue=big, accounts=accounts
    )
    monkeypatch.setattr(portfolio_report, "compute_ledger", lambda portfolio, as_of: ledger)
    monkeypatch.setattr(portfolio_report, "Portfolio", lambda tables: None)
    uow = SimpleNamespace(snapshot=lambda as_of, names: {})
    lines = {line.bucket: line for line in portfolio_report.bucket_table(uow, date(2026, 3, 1))}  # type: ignore[arg-type]
    assert lines["total"].outstanding == 16 * 2**61 == lines["total"].overdue
    assert lines["total"].late_fee == 4 * 2**61
    assert lines["M1"].outstanding == 8 * 2**61
    assert int(big.sum()) != 16 * 2**61  # what the numpy sum said (it wrapped around)
