"""The columnar snapshot as of a date: nothing from after that date, no personal data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from arrears.adapters.store.snapshot import snapshot
from arrears.services.unit_of_work import UnitOfWork


def take(url: str, as_of: date) -> dict[str, pa.Table]:
    with UnitOfWork(url) as uow:
        return snapshot(uow.connection, as_of)


def test_snapshot_tables_columns_and_types(loaded: str) -> None:
    snap = take(loaded, date(2026, 3, 1))
    assert {name: t.schema.names for name, t in snap.items()} == {
        "loans": ["loan_id", "borrower_id", "product", "currency", "opened_on"],
        "instalments": ["loan_id", "seq", "due_date", "principal", "interest", "fees"],
        "payments": ["payment_id", "loan_id", "paid_on", "amount", "reversed_on"],
        "pauses": ["loan_id", "start_on", "end_on", "reason"],
        "waivers": ["loan_id", "on", "amount", "instalment_seq"],
        "events": ["event_id", "loan_id", "kind", "on", "at", "detail"],
        "borrowers": ["borrower_id", "timezone", "language", "region", "persona"],
    }
    assert snap["instalments"].schema.field("principal").type == pa.int64()
    assert snap["payments"].schema.field("paid_on").type == pa.date32()
    assert snap["instalments"].to_pylist()[0] == {
        "loan_id": "L1",
        "seq": 1,
        "due_date": date(2026, 2, 10),
        "principal": 33333,
        "interest": 2000,
        "fees": 0,
    }
    assert snap["payments"].to_pylist() == [
        {
            "payment_id": "P1",
            "loan_id": "L1",
            "paid_on": date(2026, 2, 10),
            "amount": 35333,
            "reversed_on": None,
        },
        {
            "payment_id": "P2",
            "loan_id": "L2",
            "paid_on": date(2026, 2, 20),
            "amount": 50000,
            "reversed_on": date(2026, 2, 22),
        },
    ]
    assert snap["events"].to_pylist() == [
        {
            "event_id": "E1",
            "loan_id": "L2",
            "kind": "autodebit_failed",
            "on": date(2026, 2, 15),
            "at": datetime(2026, 2, 15, 1, 0, tzinfo=UTC),
            "detail": None,
        },
        {
            "event_id": "E2",
            "loan_id": "L2",
            "kind": "contact",
            "on": date(2026, 2, 17),
            "at": None,
            "detail": '{"channel":"sms","outcome":"delivered"}',
        },
    ]
    assert snap["borrowers"].to_pylist()[0] == {
        "borrower_id": "B1",
        "timezone": "Asia/Shanghai",
        "language": "zh-CN",
        "region": "Beijing",
        "persona": "forgetful",
    }


def test_the_unit_of_work_takes_snapshots_too(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        snap = uow.snapshot(date(2026, 3, 1), ("loans", "payments"))
    assert sorted(snap) == ["loans", "payments"]
    assert snap["loans"].column("loan_id").to_pylist() == ["L1", "L2"]


def test_nothing_after_the_date_leaks_into_the_snapshot(loaded: str) -> None:
    before_reversal = take(loaded, date(2026, 2, 21))
    assert before_reversal["payments"].column("reversed_on").to_pylist() == [None, None]
    assert before_reversal["events"].column("event_id").to_pylist() == ["E1", "E2"]
    early = take(loaded, date(2026, 1, 12))
    assert early["loans"].column("loan_id").to_pylist() == ["L1"]  # L2 opens on 16 January
    assert early["instalments"].num_rows == 3
    assert (early["payments"].num_rows, early["events"].num_rows) == (0, 0)
