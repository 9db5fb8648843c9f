"""A generated portfolio goes into the store through the real importer, from tables and from its files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from arrears.domain.ledger import compute_position
from arrears.sim.portfolio import Portfolio, generate_portfolio, load_portfolio, write_portfolio
from tests.sim.conftest import AS_OF

importing = pytest.importorskip("arrears.services.imports")
unit_of_work = pytest.importorskip("arrears.services.unit_of_work")


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(1500, 19, AS_OF)


def test_load_into_a_fresh_store_and_again(tmp_path: Path, portfolio: Portfolio) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    counts = portfolio.counts()
    first = load_portfolio(portfolio, url)
    assert first["loans"].written == counts["instalments"]
    assert first["loans"].details["loans"] == counts["loans"]
    assert first["loans"].details["borrowers"] == 1500
    assert first["payments"].details == {
        "payments": counts["payments"] - counts["reversals"],
        "reversals": counts["reversals"],
    }
    assert first["events"].written == counts["events"]
    assert all(r.rejected == 0 for r in first.values())
    # idempotent: everything again is a duplicate
    again = load_portfolio(portfolio, url)
    assert [again[k].written for k in ("loans", "payments", "events")] == [0, 0, 0]
    assert again["payments"].duplicates == counts["payments"]


def test_stored_loans_have_the_generated_ledger(tmp_path: Path, portfolio: Portfolio) -> None:
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    with unit_of_work.UnitOfWork(url) as uow:
        load_portfolio(portfolio, uow)
        for loan in list(portfolio.engine_portfolio().to_loans())[:300]:
            stored = uow.loans.get(loan.id)
            assert compute_position(stored, AS_OF) == compute_position(loan, AS_OF)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_written_files_import(tmp_path: Path, fmt: str) -> None:
    small = generate_portfolio(120, 8, AS_OF)
    files = write_portfolio(small, tmp_path / "files", fmt)
    counts = small.counts()
    with unit_of_work.UnitOfWork(f"sqlite:///{tmp_path / 'f.db'}") as uow:
        written = {kind: importing.import_file(uow, kind, files[kind]).written for kind in files}
    assert written == {
        "loans": counts["instalments"],
        "payments": counts["payments"],
        "events": counts["events"],
    }


def test_ten_thousand_borrowers_end_to_end(tmp_path: Path) -> None:
    started = time.perf_counter()
    p = generate_portfolio(10_000, 1, AS_OF)
    generated = time.perf_counter() - started
    results = load_portfolio(p, f"sqlite:///{tmp_path / 'big.db'}")
    total = time.perf_counter() - started
    print(f"\n10k borrowers: generated in {generated:.2f} s, generated + loaded in {total:.2f} s")
    assert results["loans"].details["borrowers"] == 10_000
