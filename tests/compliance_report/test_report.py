"""`compliance report`: counts and a replay of a contact history inserted behind the dispatcher's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, update

import arrears.entrypoints.cli.compliance_report  # noqa: F401  (registers `compliance report`)
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.models import BorrowerRow
from arrears.adapters.store.personal_data_repository import sealed_values
from arrears.domain.records import Borrower
from arrears.services.compliance_report import compliance_report
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.portfolio import generate_portfolio, load_portfolio

SHANGHAI = timezone(timedelta(hours=8))
DAY = date(2026, 3, 31)
PHONE = "13812345678"


@pytest.fixture
def borrower(store_url: str) -> tuple[str, str]:
    """A small loaded portfolio; returns (loan id, borrower id) of its first loan, named 张三 in Shanghai."""
    portfolio = generate_portfolio(5, 3, DAY)
    load_portfolio(portfolio, store_url)
    engine = create_engine(store_url)
    try:
        with engine.begin() as c:
            loan_id, borrower_id = c.exec_driver_sql(
                "SELECT id, borrower_id FROM loans ORDER BY id LIMIT 1"
            ).one()
            renamed = Borrower(borrower_id, name="张三", phone=PHONE, timezone="Asia/Shanghai")
            c.execute(  # stored as the store keeps personal data: sealed (docs/privacy.md)
                update(BorrowerRow).where(BorrowerRow.id == borrower_id).values(**sealed_values(renamed))
            )
    finally:
        engine.dispose()
    return loan_id, borrower_id


def _calls(url: str, loan_id: str, borrower_id: str, hours: list[tuple[int, int]]) -> None:
    """Connected calls at (day offset, local hour), written straight into the history."""
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(
                insert(ContactAttemptRow),
                [
                    {
                        "loan_id": loan_id,
                        "borrower_id": borrower_id,
                        "channel": "call",
                        "target": PHONE,
                        "at": datetime(2026, 3, 31, hour, tzinfo=SHANGHAI) + timedelta(days=offset),
                        "outcome": "connected",
                        "message_type": "call_script",
                        "outbox_id": None,
                        "provider_id": None,
                    }
                    for offset, hour in hours
                ],
            )
    finally:
        engine.dispose()


def test_a_fourth_connected_call_in_a_day_is_found(store_url: str, borrower: tuple[str, str]) -> None:
    loan_id, borrower_id = borrower
    _calls(store_url, loan_id, borrower_id, [(0, 10), (0, 11), (0, 12), (0, 13), (1, 10)])
    with UnitOfWork(store_url) as uow:
        report = compliance_report(uow, load_profile("cn"), DAY, DAY + timedelta(days=1))
    data = report.to_dict()
    assert data["contacts"] == {
        "total": 5,
        "by_outcome": {"connected": 5},
        "by_channel": {"call": {"connected": 5}},
    }
    assert data["replay"]["checked"] == 5
    (v,) = data["replay"]["violations"]
    assert {k: v[k] for k in v if k != "reasons"} == {
        "decision": "defer",
        "rules": ["cn.calls.connected_per_day"],
        "loan_id": loan_id,
        "borrower_id": borrower_id,
        "borrower": "张*",
        "channel": "call",
        "target": "138****5678",
        "outcome": "connected",
        "at": "2026-03-31T13:00:00+08:00",
    }
    assert v["reasons"][0].startswith("cn.calls.connected_per_day: ")
    # The period decides what is replayed: the next day alone is clean (the 31st is its history).
    with UnitOfWork(store_url) as uow:
        next_day = compliance_report(
            uow, load_profile("cn"), DAY + timedelta(days=1), DAY + timedelta(days=1)
        )
    assert (next_day.replayed, next_day.violations) == (1, [])


def test_three_calls_a_day_are_clean(store_url: str, borrower: tuple[str, str]) -> None:
    loan_id, borrower_id = borrower
    _calls(store_url, loan_id, borrower_id, [(0, 10), (0, 11), (0, 12), (1, 10), (1, 11), (1, 12)])
    with UnitOfWork(store_url) as uow:
        report = compliance_report(uow, load_profile("cn"), DAY, DAY + timedelta(days=1))
    assert (report.replayed, report.violations) == (6, [])


def test_cli_exit_codes_and_masking(
    store_url: str, borrower: tuple[str, str], cli: Callable[..., object]
) -> None:
    loan_id, borrower_id = borrower
    _calls(store_url, loan_id, borrower_id, [(0, 10), (0, 11), (0, 12)])
    clean = cli("compliance", "report", "--from", "2026-03-31", "--to", "2026-03-31", "--json")
    assert clean.code == 0, clean.stderr
    assert json.loads(clean.stdout)["replay"] == {"checked": 3, "violations": []}
    _calls(store_url, loan_id, borrower_id, [(0, 21), (0, 22)])  # 22:00 is outside 08:00–22:00 too
    found = cli("compliance", "report", "--from", "2026-03-31", "--to", "2026-03-31", "--json")
    assert found.code == 1
    violations = json.loads(found.stdout)["replay"]["violations"]
    assert [(v["at"], v["rules"]) for v in violations] == [
        ("2026-03-31T21:00:00+08:00", ["cn.calls.connected_per_day"]),
        ("2026-03-31T22:00:00+08:00", ["cn.hours", "cn.calls.connected_per_day"]),
    ]
    text = cli("compliance", "report", "--from", "2026-03-31", "--to", "2026-03-31")
    assert text.code == 1
    assert "138****5678" in text.stdout and "张*" in text.stdout and PHONE not in text.stdout
    assert "张三" not in text.stdout
    bad = cli("compliance", "report", "--from", "2026-04-02", "--to", "2026-03-31")
    assert bad.code == 2 and "--to" in bad.stderr
