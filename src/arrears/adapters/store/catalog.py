"""Products in the store: ledger settings as JSON (arrears.domain.products: ledger_settings_to_json / _from_json) and the seed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import ProductRow
from arrears.domain.catalog import PRODUCTS
from arrears.domain.products import (
    LedgerSettings,
    Product,
    ledger_settings_from_json,
    ledger_settings_to_json,
)


def settings_to_json(settings: LedgerSettings) -> dict[str, Any]:
    """Ledger settings as the stored JSON mapping: every field written out."""
    return ledger_settings_to_json(settings)


def settings_from_json(raw: dict[str, Any]) -> LedgerSettings:
    """The inverse of settings_to_json (the store's own output: a typed read, not a file's shape check)."""
    return ledger_settings_from_json(raw, path="settings")


def seed_products(connection: Connection, products: dict[str, Product] = PRODUCTS) -> int:
    """Insert the catalogue's products the store does not have yet; returns how many were added."""
    have = set(connection.scalars(select(ProductRow.code)))
    rows = [
        {
            "code": p.code,
            "name": p.name,
            "currency": p.settings.currency,
            "settings": settings_to_json(p.settings),
        }
        for p in products.values()
        if p.code not in have
    ]
    if rows:
        connection.execute(ProductRow.__table__.insert(), rows)
    return len(rows)
