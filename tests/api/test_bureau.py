"""The bureau export: a negative record only when the pre-notice went out at least N days before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import insert

from arrears.adapters.store.run_models import OutboxRow
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import finished_job, loan


def test_negative_only_after_notice(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    admin = key("admin")
    for loan_id, borrower in (("L1", "B1"), ("L2", "B2")):
        assert api.post("/loans", json=loan(loan_id, borrower), headers=admin).status_code == 201
    sent = datetime(2026, 2, 10, 9, tzinfo=UTC)  # 18 days before 28 Feb: enough for the 10-day rule
    with UnitOfWork(store_url) as uow:
        uow.connection.execute(
            insert(OutboxRow).values(
                idempotency_key="n1",
                run_id="r",
                loan_id="L1",
                borrower_id="B1",
                as_of=date(2026, 2, 10),
                kind="contact",
                step_id="bureau_notice",
                channel="sms",
                template="bureau_notice",
                tone="formal",
                segment="s",
                status="sent",
                created_at=sent,
                updated_at=sent,
            )
        )
        uow.commit()
    assert (
        api.post("/bureau/export", params={"month": "2026-02"}, headers=key("agent", "a")).status_code == 403
    )
    compliance = key("compliance")
    job = finished_job(
        api, api.post("/bureau/export", params={"month": "2026-02"}, headers=compliance), compliance
    )
    assert job["status"] == "succeeded", job
    export = job["result"]
    records = {
        x["loan_id"]: (x["status"], x["dpd"], x["overdue"], x["record"], x["notice_sent_on"])
        for x in export["records"]
    }
    # 28 Feb: the 10 Jan instalment 49 days late (24.50 late fee), the 10 Feb one 18 (9.00) → status 2
    assert records == {
        "L1": ("2", 49, "2033.50", "negative", "2026-02-10"),
        "L2": ("N", 49, "2033.50", "held", None),
    }
    assert export["csv"].splitlines()[0] == (
        "report_month,loan_id,borrower_id,id_number,name,status,dpd,overdue,outstanding,record,notice_sent_on"
    )
    for month in ("2026-13", "9999-01", "1999-12"):
        r = api.post("/bureau/export", params={"month": month}, headers=admin)
        assert (r.status_code, r.json()["field"]) == (422, "month")
