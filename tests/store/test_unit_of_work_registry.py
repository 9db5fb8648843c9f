"""The SQL unit of work hands out its repositories from one table, each made (and its module imported) on
first use: a command pays only for the repositories it touches."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module
from pathlib import Path

from arrears.adapters.store.unit_of_work import REPOSITORIES, SIBLINGS, SqlUnitOfWork
from arrears.services.unit_of_work import UnitOfWork


def test_every_repository_of_the_port_is_registered_once_and_resolves() -> None:
    port = {name for name in UnitOfWork.__annotations__ if name not in ("url", "_factory")}
    assert set(REPOSITORIES) == port
    for spec in REPOSITORIES.values():
        module, factory = spec.split(":")
        assert callable(getattr(import_module(module), factory)), spec
    assert all(sibling in REPOSITORIES for needs in SIBLINGS.values() for sibling in needs)


def test_a_repository_is_made_once_per_transaction_and_anew_when_entered_again(store_url: str) -> None:
    uow = UnitOfWork(store_url)
    assert isinstance(uow, SqlUnitOfWork)
    with uow:
        loans = uow.loans
        assert uow.loans is loans
        assert loans.products is uow.products
        assert loans.connection is uow.connection
        assert uow.loans.count() == 0
    with uow:
        assert uow.loans is not loans
        assert uow.loans.connection is uow.connection
        assert uow.loans.count() == 0


def test_an_unknown_attribute_is_an_attribute_error(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        assert not hasattr(uow, "no_such_repository")
    assert not hasattr(SqlUnitOfWork(store_url), "loans")  # not entered: no connection to make it on


def test_reading_a_loan_count_imports_neither_the_outbox_nor_the_bulk_writer(tmp_path: Path) -> None:
    store = tmp_path / "arrears.db"
    script = f"""
import sys
from arrears.bootstrap import configure
from arrears.adapters.store import engine_for, upgrade
from arrears.services.unit_of_work import UnitOfWork
configure()
upgrade(engine_for("sqlite:///{store}"))
with UnitOfWork("sqlite:///{store}") as uow:
    assert uow.loans.count() == 0
heavy = [m for m in ("arrears.adapters.store.outbox_repository", "arrears.adapters.store.bulk",
                     "arrears.adapters.store.casework_repositories", "arrears.adapters.import_files")
         if m in sys.modules]
print(",".join(heavy))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
