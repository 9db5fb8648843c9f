"""End to end through the API: create a loan → pay in part → promise → break it → plan → complaint,
with the ledger checked at each step (baitiao-3: 0.05 % a day on overdue principal, 3 grace days)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from arrears.services.accounts import check_ledger
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import LOAN


def position(api: TestClient, headers: dict[str, str], as_of: str, loan_id: str = "L1") -> dict[str, object]:
    r = api.get(f"/accounts/{loan_id}", params={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["position"]  # type: ignore[no-any-return]


def test_loan_payment_promise_plan_complaint(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    admin, agent, supervisor = key("admin"), key("agent", "wang"), key("supervisor", "li")

    # 1. the loan: three instalments of 1000.00
    r = api.post("/loans", json=LOAN, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["borrower"]["name"] == "张*"
    assert r.json()["borrower"]["phone"] == "138****5678"
    p = position(api, admin, "2026-01-20")
    assert (p["dpd"], p["bucket"]) == (10, "M1")
    assert p["overdue"] == {
        "principal": "1000.00",
        "interest": "0.00",
        "fees": "0.00",
        "late_fee": "5.00",
        "total": "1005.00",
    }

    # 2. a part payment of 300.00 on 20 Jan: 5.00 late fee, 295.00 principal
    r = api.post(
        "/payments",
        json={"payment_id": "P1", "loan_id": "L1", "paid_on": "2026-01-20", "amount": "300.00"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["recorded"] is True
    assert r.json()["case"]["balance"] == "2705.00"
    p = position(api, admin, "2026-01-20")
    assert p["paid"]["late_fee"] == "5.00" and p["paid"]["principal"] == "295.00"
    assert p["outstanding"]["total"] == "2705.00"

    # 3. a promise of 705.00 by 25 Jan (kept at 669.75 paid by 27 Jan) ...
    r = api.post(
        "/promises",
        json={"loan_id": "L1", "amount": "705.00", "due_on": "2026-01-25", "made_on": "2026-01-20"},
        headers=agent,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["amount"]) == ("pending", "705.00")
    # ... 4. broken: nothing paid by 27 Jan
    r = api.post("/promises/settle", params={"as_of": "2026-01-28"}, headers=supervisor)
    assert [(x["status"], x["resolved_on"]) for x in r.json()] == [("broken", "2026-01-28")]
    p = position(api, admin, "2026-01-28")
    # 8 more days at 0.35 (705.00 × 0.05 %, rounded per day): 2.80 unpaid late fee
    assert p["dpd"] == 18
    assert p["outstanding"] == {
        "principal": "2705.00",
        "interest": "0.00",
        "fees": "0.00",
        "late_fee": "2.80",
        "total": "2707.80",
    }

    # 5. re-instalment into 3 from 28 Feb: within the agent's limit, so it starts at once
    r = api.post(
        "/plans",
        json={
            "loan_id": "L1",
            "kind": "reinstalment",
            "start_on": "2026-01-28",
            "count": 3,
            "first_due": "2026-02-28",
        },
        headers=agent,
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert (plan["status"], plan["plan_seqs"], plan["to_version"]) == ("active", [2, 3, 4], 2)
    schedule = api.get("/loans/L1", headers=admin).json()["instalments"]
    assert [(i["seq"], i["due"], i["principal"], i["fees"]) for i in schedule] == [
        (1, "2026-01-28", "295.00", "5.00"),  # what was paid by the plan's start
        (2, "2026-02-28", "901.66", "0.93"),
        (3, "2026-03-28", "901.66", "0.93"),
        (4, "2026-04-28", "901.68", "0.94"),
    ]
    p = position(api, admin, "2026-01-28")
    assert (p["dpd"], p["outstanding"]["total"]) == (0, "2707.80")  # nothing owed is lost, nothing late
    assert position(api, admin, "2026-02-15")["dpd"] == 0  # the old 10 Feb instalment is gone
    assert position(api, admin, "2026-01-20")["dpd"] == 10  # before the plan: the old schedule
    versions = api.get("/loans/L1/schedules", headers=admin).json()
    assert [(v["version"], v["effective_from"]) for v in versions] == [(1, None), (2, "2026-01-28")]
    with UnitOfWork(store_url) as uow:
        assert check_ledger(uow).problems == []

    # 6. a complaint by the borrower (token) about harassment: SLA clock, no pause
    token = api.post("/auth/borrower-tokens", json={"borrower_id": "B1"}, headers=admin).json()["token"]
    borrower = {"Authorization": f"Bearer {token}"}
    r = api.post(
        "/complaints",
        json={
            "loan_id": "L1",
            "category": "harassment",
            "channel": "voice",
            "agent": "wang",
            "description": "called 5 times a day",
            "opened_on": "2026-02-02",
        },
        headers=borrower,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["kind"], c["status"], c["ack_by"], c["pause_id"]) == ("complaint", "open", "2026-02-03", None)
    r = api.post(
        f"/disputes/{c['id']}/resolve",
        json={"resolution": "upheld", "resolved_on": "2026-02-05"},
        headers=key("compliance"),
    )
    assert (r.json()["status"], r.json()["sla"]) == ("resolved", "resolved")
    # the plan's first payment on time completes nothing yet; paying all three completes the plan
    for n, (day, amount) in enumerate(
        (("2026-02-27", "902.59"), ("2026-03-28", "902.59"), ("2026-04-20", "902.62"))
    ):
        r = api.post(
            "/payments",
            json={"payment_id": f"PP{n}", "loan_id": "L1", "paid_on": day, "amount": amount},
            headers=admin,
        )
        assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["plans"]] == ["completed"]
    p = position(api, admin, "2026-04-30")
    assert (p["dpd"], p["outstanding"]["total"], p["credit"]) == (0, "0.00", "0.00")
    with UnitOfWork(store_url) as uow:
        assert check_ledger(uow).problems == []
