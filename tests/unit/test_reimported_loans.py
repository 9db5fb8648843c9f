"""A loan imported again: the same contents are a duplicate, other contents name the first difference."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.imports import ImportedLoan

STORED = ImportedLoan(
    "B1",
    "baitiao-3",
    "CNY",
    date(2026, 1, 10),
    {1: (date(2026, 2, 10), 333_33, 20_00, 0), 2: (date(2026, 3, 10), 333_33, 20_00, 0)},
)


def _filed(**changes: object) -> ImportedLoan:
    fields = {
        "borrower_id": STORED.borrower_id,
        "product_code": STORED.product_code,
        "currency": STORED.currency,
        "opened_on": STORED.opened_on,
        "schedule": dict(STORED.schedule),
    }
    return ImportedLoan(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_same_loan_filed_again_has_no_difference() -> None:
    assert STORED.difference(_filed()) is None


@pytest.mark.parametrize(
    ("changes", "difference"),
    [
        ({"borrower_id": "B2"}, "borrower_id: stored B1, file B2"),
        ({"product_code": "baitiao-30d"}, "product: stored baitiao-3, file baitiao-30d"),
        ({"opened_on": None}, "opened_on: stored 2026-01-10, file None"),
        (
            {"schedule": {1: STORED.schedule[1]}},
            "instalments: stored seq [1, 2], file seq [1]",
        ),
        (
            {"schedule": {**STORED.schedule, 2: (date(2026, 3, 10), 333_34, 20_00, 0)}},
            "seq 2 principal: stored 333.33, file 333.34",
        ),
        (
            {"schedule": {**STORED.schedule, 1: (date(2026, 2, 11), 333_33, 20_00, 0)}},
            "seq 1 due_date: stored 2026-02-10, file 2026-02-11",
        ),
    ],
)
def test_a_loan_filed_with_other_contents_names_the_first_difference(
    changes: dict[str, object], difference: str
) -> None:
    assert STORED.difference(_filed(**changes)) == difference
