"""Literal files for the store tests: two loans, three payments (one a reversal), two events."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.adapters.store.models import Base
from arrears.adapters.store.repositories import row_counts
from arrears.services.unit_of_work import UnitOfWork

LOANS = """\
loan_id,borrower_id,product,currency,seq,due_date,principal,interest,fees,opened_on,borrower_name,phone,id_number,email,timezone,region,language,persona
L1,B1,baitiao-3,CNY,1,2026-02-10,333.33,20.00,,2026-01-10,张三,13812345678,110101199003071233,zs@example.com,Asia/Shanghai,Beijing,zh-CN,forgetful
L1,B1,baitiao-3,CNY,2,2026-03-10,333.33,20.00,0,2026-01-10,,,,,,,,
L1,B1,baitiao-3,CNY,3,2026-04-10,333.34,20.00,0,2026-01-10,,,,,,,,
L2,B2,baitiao-30d,CNY,1,2026-02-15,800.00,,,2026-01-16,李四,13998765432,,,,,,
"""

PAYMENTS = """\
payment_id,loan_id,paid_on,amount,reverses,source
P1,L1,2026-02-10,353.33,,app
P2,L2,2026-02-20,500.00,,bank
"""

REVERSAL = """\
payment_id,loan_id,paid_on,amount,reverses,source
R1,L2,2026-02-22,500.00,P2,bank
"""

EVENTS = """\
event_id,loan_id,kind,on,at,detail
E1,L2,autodebit_failed,2026-02-15,2026-02-15T09:00:00+08:00,
E2,L2,contact,2026-02-17,,"{""channel"": ""sms"", ""outcome"": ""delivered""}"
"""


def write(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    return path


def counts(url: str) -> dict[str, int]:
    """Rows per table: what "the store is unchanged" is checked against."""
    with UnitOfWork(url) as uow:
        return row_counts(uow.connection, [m.class_ for m in Base.registry.mappers])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "loans": write(tmp_path, "loans.csv", LOANS),
        "payments": write(tmp_path, "payments.csv", PAYMENTS),
        "reversal": write(tmp_path, "reversal.csv", REVERSAL),
        "events": write(tmp_path, "events.csv", EVENTS),
    }


@pytest.fixture
def loaded(store_url: str, files: dict[str, Path]) -> str:
    """The store with the literal loans, payments (with the reversal) and events imported."""
    from arrears.services.imports import import_file

    with UnitOfWork(store_url) as uow:
        for kind, name in (
            ("loans", "loans"),
            ("payments", "payments"),
            ("payments", "reversal"),
            ("events", "events"),
        ):
            import_file(uow, kind, files[name], actor="test")
    return store_url
