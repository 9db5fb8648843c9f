"""The portfolio by delinquency bucket as of a date: counts and amounts, straight from the ledger.

Each account's amounts fit 64 bits (an import bounds what a loan holds); their sums over a portfolio need
not, so they are added exactly (`exact_total`), never with a numpy sum that would wrap around.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from arrears.domain.money import exact_total, format_minor
from arrears.domain.products import DEFAULT_BUCKETS
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_ledger import compute_ledger
from arrears.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BucketLine:
    bucket: str
    accounts: int
    outstanding: int  # minor units
    overdue: int
    late_fee: int

    def to_dict(self, currency: str = "CNY") -> dict[str, object]:
        return {
            "bucket": self.bucket,
            "accounts": self.accounts,
            "outstanding": format_minor(self.outstanding, currency),
            "overdue": format_minor(self.overdue, currency),
            "late_fee": format_minor(self.late_fee, currency),
        }


def bucket_table(uow: UnitOfWork, as_of: date) -> list[BucketLine]:
    """One line per bucket (in bucket order, then any product-specific names), plus accounts settled."""
    tables = uow.snapshot(as_of, ("loans", "instalments", "payments", "pauses", "waivers"))
    ledger = compute_ledger(Portfolio(dict(tables)), as_of)
    names = list(DEFAULT_BUCKETS.names())
    names += sorted(set(ledger.bucket.tolist()) - set(names))
    lines = []
    for name in names:
        sel = ledger.bucket == name
        lines.append(
            BucketLine(
                name,
                int(sel.sum()),
                exact_total(ledger.outstanding[sel]),
                exact_total(ledger.overdue[sel]),
                exact_total(ledger.outstanding[sel, 3]),
            )
        )
    total = BucketLine(
        "total",
        ledger.accounts,
        exact_total(ledger.outstanding),
        exact_total(ledger.overdue),
        exact_total(ledger.outstanding[:, 3]),
    )
    settled = int(np.sum(ledger.outstanding.sum(axis=1) == 0))  # one account: far inside 64 bits
    return [*lines, total, BucketLine("(settled)", settled, 0, 0, 0)]
