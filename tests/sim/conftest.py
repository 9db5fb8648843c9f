"""Portfolios shared by the sim tests: drawing 20k borrowers takes well under a second."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.sim.portfolio import Portfolio, generate_portfolio

AS_OF = date(2026, 3, 31)


@pytest.fixture(scope="session")
def big() -> Portfolio:
    """20,000 borrowers: large enough for the shares to be within a percentage point or so."""
    return generate_portfolio(20_000, 11, AS_OF)


@pytest.fixture(scope="session")
def small() -> Portfolio:
    return generate_portfolio(300, 5, AS_OF)
