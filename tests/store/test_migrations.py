"""The schema comes from the migrations, from an empty store up; the append-only tables refuse changes."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from arrears.adapters.store import engine_for, open_store, upgrade
from arrears.adapters.store.catalog import settings_from_json, settings_to_json
from arrears.adapters.store.migrating import current_revision, head_revision
from arrears.domain.catalog import PRODUCTS
from arrears.services.unit_of_work import UnitOfWork
from tests.store.conftest import counts

TABLES = {
    "account_events",
    "alembic_version",
    "audit_head",
    "audit_log",
    "borrowers",
    "imports",
    "instalments",
    "ledger_postings",
    "loans",
    "pauses",
    "payments",
    "products",
    "waivers",
}


def test_upgrade_from_empty_creates_every_table_and_seeds_the_catalogue(store_url: str) -> None:
    engine = engine_for(store_url)
    with engine.connect() as connection:
        assert current_revision(connection) is None
        assert set(inspect(connection).get_table_names()) == set()
    result = upgrade(engine)
    head = head_revision()
    assert (result.before, result.after, result.products_added) == (None, head, 4)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES  # later migrations add their own
        assert current_revision(connection) == head
    again = upgrade(engine)
    assert (again.before, again.after, again.products_added, again.changed) == (head, head, 0, False)
    assert counts(store_url)["products"] == 4


def test_the_first_migration_is_the_initial_store() -> None:
    from alembic.script import ScriptDirectory

    from arrears.adapters.store.migrating import alembic_config

    base = ScriptDirectory.from_config(alembic_config()).get_base()
    assert base == "0001_initial"


def test_opening_a_store_upgrades_it(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        assert sorted(uow.products.codes()) == ["baitiao-12", "baitiao-3", "baitiao-30d", "baitiao-6"]
        assert uow.products.settings("baitiao-3") == PRODUCTS["baitiao-3"].settings


def test_product_settings_round_trip_through_json() -> None:
    for product in PRODUCTS.values():
        assert settings_from_json(settings_to_json(product.settings)) == product.settings


@pytest.mark.parametrize("table", ["ledger_postings", "audit_log"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_append_only_tables_refuse_update_and_delete(loaded: str, table: str, statement: str) -> None:
    column = "amount" if table == "ledger_postings" else "actor"
    engine = open_store(loaded)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement.format(t=table, c=column)))
    assert counts(loaded)[table] > 0
