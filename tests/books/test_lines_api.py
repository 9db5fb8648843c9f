"""Credit lines over the API (SQLite and PostgreSQL): add a line with a purchase under it, read its use,
put another purchase under it, and the walls: roles, another borrower's line, a loan of someone else."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.conftest import loan


def test_a_line_is_added_read_and_takes_new_purchases(
    api: TestClient, key: Callable[..., dict[str, str]]
) -> None:
    admin, agent = key("admin"), key("agent")
    for loan_id, borrower in (("L1", "B1"), ("L2", "B1"), ("L9", "B9")):
        assert api.post("/loans", json=loan(loan_id, borrower), headers=admin).status_code in (200, 201)
    body = {"line_id": "LN1", "borrower_id": "B1", "currency": "CNY", "limit": "5000.00", "loan_ids": ["L1"]}
    assert api.post("/lines", json=body, headers=agent).status_code == 403
    created = api.post("/lines", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json() == {"lines_added": 1, "lines_updated": 0, "loans_attached": 1}
    line = api.get("/lines/LN1", params={"as_of": "2025-12-31"}, headers=agent).json()
    # L1: three instalments of ¥1,000.00 principal, nothing paid
    assert (line["limit"], line["used"], line["available"], line["status"], line["loans"]) == (
        "5000.00",
        "3000.00",
        "2000.00",
        "active",
        ["L1"],
    )
    added = api.post("/lines/LN1/loans", json={"loan_ids": ["L2"]}, headers=admin)
    assert added.status_code == 200 and added.json()["loans_attached"] == 1
    line = api.get("/lines/LN1", params={"as_of": "2025-12-31"}, headers=agent).json()
    assert (line["used"], line["available"]) == ("6000.00", "0.00")

    wrong = api.post("/lines/LN1/loans", json={"loan_ids": ["L9"]}, headers=admin)
    assert wrong.status_code == 422 and "another borrower" in wrong.text
    assert api.get("/lines/LN404", headers=agent).status_code == 404
    bad = api.post("/lines", json={**body, "limit": "-1.00"}, headers=admin)
    assert bad.status_code == 422
    assert api.get("/loans/L1/history", headers=agent).json() == []
