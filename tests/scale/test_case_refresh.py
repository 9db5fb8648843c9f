"""The set-based case refresh against the one-by-one refresh (refresh_case per borrower) on generated
portfolios, with promises and cases already open, on SQLite and PostgreSQL: the same cases, standings and
statuses."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, select

from arrears.adapters.store.casework_models import CaseRow
from arrears.domain.cases import RecoveryModel
from arrears.services.cases import refresh_cases, refresh_cases_one_by_one
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.portfolio import generate_portfolio, load_portfolio

MODEL = RecoveryModel()


def _cases(url: str) -> dict[str, tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(
            select(
                CaseRow.borrower_id, CaseRow.status, CaseRow.bucket, CaseRow.dpd, CaseRow.balance,
                CaseRow.expected_recovery, CaseRow.language,
            )
        ).all()  # fmt: skip
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("seed", [3, 11])
def test_set_based_refresh_equals_one_by_one(store_url: str, tmp_path, seed: int) -> None:  # type: ignore[no-untyped-def]
    other = f"sqlite:///{tmp_path}/one-by-one.db"
    (tmp_path / "one-by-one.db").touch()
    portfolio = generate_portfolio(300, seed, date(2026, 3, 31))
    for url in (store_url, other):
        load_portfolio(portfolio, url)
    # a first refresh a month earlier opens cases; the day's refresh must update, reopen and close them alike
    for url, refresh in ((store_url, refresh_cases), (other, refresh_cases_one_by_one)):
        for day in (date(2026, 2, 28), date(2026, 3, 31)):
            with UnitOfWork(url) as uow:
                refresh(uow, day, MODEL)
                uow.commit()
        with UnitOfWork(url) as uow:
            assert uow.cases.open_count() > 0
    got, expected = _cases(store_url), _cases(other)
    assert got == expected
    assert {s for s, *_ in got.values()} == {"open", "closed"}  # both kinds of change were made
