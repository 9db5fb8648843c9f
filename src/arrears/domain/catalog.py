"""The built-in product catalogue: 白条-style 30-day interest-free purchases and 3/6/12-instalment loans (CNY).

A lender's own products come from policy files; these are the defaults every new store starts with.
"""

from __future__ import annotations

from decimal import Decimal

from arrears.domain.errors import InputError
from arrears.domain.products import LateFeeCap, LateFeeRule, LedgerSettings, Product

# 万分之五 a day, as in the seeds, on overdue principal + interest; capped at 24 % of the instalment.
_BAITIAO = LedgerSettings(
    currency="CNY",
    grace_days=3,
    late_fee=LateFeeRule(daily_rate=Decimal("0.0005"), cap=LateFeeCap(ratio=Decimal("0.24"))),
)

PRODUCTS: dict[str, Product] = {
    p.code: p
    for p in (
        Product("baitiao-30d", "白条 30-day interest-free purchase", _BAITIAO),
        Product("baitiao-3", "白条 3-instalment loan", _BAITIAO),
        Product("baitiao-6", "白条 6-instalment loan", _BAITIAO),
        Product("baitiao-12", "白条 12-instalment loan", _BAITIAO),
    )
}


def product(code: str) -> Product:
    try:
        return PRODUCTS[code]
    except KeyError:
        raise InputError(
            f"unknown product {code!r} (known: {', '.join(PRODUCTS)})", field="product"
        ) from None
