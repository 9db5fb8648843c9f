"""Products in the store: ledger settings as JSON (read back with parse_ledger_settings) and the seed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import ProductRow
from arrears.domain.catalog import PRODUCTS
from arrears.domain.money import format_minor
from arrears.domain.products import LedgerSettings, Product, parse_ledger_settings


def settings_to_json(settings: LedgerSettings) -> dict[str, Any]:
    """Ledger settings as the mapping parse_ledger_settings reads: every field written out."""
    fee = settings.late_fee
    cap: dict[str, str] | None = None
    if fee.cap is not None:
        cap = {}
        if fee.cap.fixed is not None:
            cap["fixed"] = format_minor(fee.cap.fixed, settings.currency)
        if fee.cap.ratio is not None:
            cap["ratio"] = str(fee.cap.ratio)
    return {
        "currency": settings.currency,
        "grace_days": settings.grace_days,
        "late_fee": {
            "daily_rate": str(fee.daily_rate),
            "base": [c.value for c in fee.base],
            "rounding": fee.rounding,
            "cap": cap,
        },
        "waterfall": [c.value for c in settings.waterfall],
        "buckets": {
            "basis": settings.buckets.basis,
            "table": [
                {"name": b.name, "min": b.min_days, "max": b.max_days} for b in settings.buckets.buckets
            ],
        },
    }


def settings_from_json(raw: dict[str, Any]) -> LedgerSettings:
    """The inverse of settings_to_json."""
    return parse_ledger_settings(raw, path="settings")


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
