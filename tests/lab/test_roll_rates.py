"""Month-by-month roll rates on a four-loan store, worked out by hand (no late fee, no grace).

Window 2026-03-01 .. 2026-04-29: two 30-day months, 03-01 .. 03-30 and 03-31 .. 04-29.

loan  due     end of 02-28   end of 03-30            end of 04-29
A     02-20   DPD 8   M1     DPD 38  M2  (rolled)    DPD 68  M3  (rolled)
B     02-25   DPD 3   M1     paid 03-05: M0, nothing left (not live in month 2)
C     03-10           M0     DPD 20  M1  (rolled)    paid 04-10: M0 (not rolled)
D     04-15           M0             M0              DPD 14  M1  (rolled)

month 1: M0 {C rolled, D not} 1/2;  M1 {A rolled, B not} 1/2
month 2: M0 {D} 1/1;  M1 {C, cured} 0/1;  M2 {A} 1/1
The window's first-vs-last-day rates only see M0 and M1 (A: M1 → M3): M0 1/2, M1 1/2 — no M2 row at all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from arrears.domain.products import LateFeeRule, LedgerSettings
from arrears.domain.roll_rates import RollRate, months, next_bucket, pooled_rate, roll_rates
from arrears.services.cases import CaseworkConfig
from arrears.services.imports import import_file
from arrears.services.kpi import compute_kpis
from arrears.services.payments import record_payment
from arrears.services.unit_of_work import UnitOfWork

START, END = date(2026, 3, 1), date(2026, 4, 29)
PLAIN = LedgerSettings(currency="CNY", grace_days=0, late_fee=LateFeeRule(daily_rate=Decimal("0")))
LOANS = [
    ("A", date(2026, 2, 20)),
    ("B", date(2026, 2, 25)),
    ("C", date(2026, 3, 10)),
    ("D", date(2026, 4, 15)),
]
PAYMENTS = [("B", date(2026, 3, 5)), ("C", date(2026, 4, 10))]


@pytest.fixture
def kpis(store_url: str) -> dict:
    loans = pa.table(
        {
            "loan_id": [x[0] for x in LOANS],
            "borrower_id": [f"B-{x[0]}" for x in LOANS],
            "product": ["baitiao-30d"] * len(LOANS),
            "currency": ["CNY"] * len(LOANS),
            "seq": [1] * len(LOANS),
            "due_date": [x[1].isoformat() for x in LOANS],
            "principal": ["100.00"] * len(LOANS),
            "opened_on": ["2026-01-01"] * len(LOANS),
        }
    )
    with UnitOfWork(store_url) as uow:
        import_file(uow, "loans", loans, name="roll test", actor="test")
        uow.commit()
    with UnitOfWork(store_url) as uow:
        for n, (loan, day) in enumerate(PAYMENTS):
            record_payment(uow, loan, f"P{n}", day, 10000, CaseworkConfig(), actor="test")
        uow.commit()
    with UnitOfWork(store_url) as uow:
        return compute_kpis(uow, START, END, products={"baitiao-30d": PLAIN})


def test_month_by_month_roll_rates(kpis: dict) -> None:
    first, second = kpis["monthly_roll_rates"]
    assert (first["month"], first["from"], first["to"]) == (1, "2026-03-01", "2026-03-30")
    assert first["roll_rates"] == {
        "M0": {"accounts": 2, "rolled": 1, "rate": 0.5},
        "M1": {"accounts": 2, "rolled": 1, "rate": 0.5},
    }
    assert (second["month"], second["from"], second["to"]) == (2, "2026-03-31", "2026-04-29")
    assert second["roll_rates"] == {
        "M0": {"accounts": 1, "rolled": 1, "rate": 1.0},
        "M1": {"accounts": 1, "rolled": 0, "rate": 0.0},
        "M2": {"accounts": 1, "rolled": 1, "rate": 1.0},
    }
    # the window's first and last day miss the M2 → M3 step altogether
    assert kpis["roll_rates"] == {
        "M0": {"accounts": 2, "rolled": 1, "rate": 0.5},
        "M1": {"accounts": 2, "rolled": 1, "rate": 0.5},
    }
    assert kpis["roll_matrix"]["M1"] == {"M0": 1, "M3": 1}


def test_months_of_a_window() -> None:
    assert [(m.first, m.last) for m in months(date(2026, 3, 2), date(2026, 5, 30))] == [
        (date(2026, 3, 2), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 5, 30)),
    ]
    assert len(months(date(2026, 3, 1), date(2026, 3, 31))) == 1  # the 31st day is no month
    assert months(date(2026, 3, 1), date(2026, 3, 29)) == []
    assert months(date(2026, 3, 2), date(2026, 3, 31))[0].opening == date(2026, 3, 1)


def test_roll_rates_and_pooling_by_hand() -> None:
    rates = roll_rates([("M1", "M2"), ("M1", "M0"), ("M1", "M1"), ("M0", "M1"), ("M7+", "M7+")])
    assert list(rates) == ["M0", "M1", "M7+"]
    assert rates["M1"] == RollRate("M1", 3, 1) and rates["M1"].rate == 0.3333
    assert rates["M7+"].rate == 0.0
    later = roll_rates([("M1", "M2")])
    assert pooled_rate([rates, later], "M1") == 0.5  # (1 + 1) / (3 + 1)
    assert pooled_rate([rates], "M4") is None
    assert next_bucket("M2") == "M3" and next_bucket("M7+") == "M7+"
