"""Through the API: recalling a placement (and its role walls), complaint rates by channel / agent / agency on
a hand-built set, due-date extension and settlement at a discount with the ledger after each, and the
approval limits per role (baitiao-3: 0.05 % a day on overdue principal, i.e. 0.50 a day per 1000.00)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from arrears.adapters.store.casework_models import CaseRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.services.accounts import check_ledger
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import LOAN, finished_job, loan
from tests.api.test_walls import PROBLEM, setup_two_agencies

Keys = Callable[..., dict[str, str]]


def position(api: TestClient, headers: dict[str, str], as_of: str, loan_id: str = "L1") -> dict[str, Any]:
    r = api.get(f"/accounts/{loan_id}", params={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["position"]  # type: ignore[no-any-return]


def schedule(api: TestClient, headers: dict[str, str], loan_id: str = "L1") -> list[tuple[Any, ...]]:
    rows = api.get(f"/loans/{loan_id}", headers=headers).json()["instalments"]
    return [(i["seq"], i["due"], i["principal"], i["fees"]) for i in rows]


def ledger_ok(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        assert check_ledger(uow).problems == []


# ------------------------------------------------------------------------------------------- agencies


def test_an_agency_is_created_with_capacity_buckets_and_placement_days_as_the_cli_does(
    api: TestClient, key: Keys, store_url: str
) -> None:
    admin = key("admin")
    body = {"id": "AG1", "name": "一号催收", "commission_rate": "0.18", "capacity": 500,
            "buckets": ["M2", "M3"], "placement_days": 20}  # fmt: skip
    r = api.post("/agencies", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "AG1", "name": "一号催收", "commission_rate": "0.18", "capacity": 500,
                        "buckets": ["M2", "M3"], "placement_days": 20}  # fmt: skip
    with UnitOfWork(store_url) as uow:
        stored = uow.agencies.get("AG1")
    assert stored is not None
    assert (stored.capacity, stored.buckets, stored.placement_days) == (500, "M2,M3", 20)
    # left out: no limit, any bucket, the 90-day default
    plain = api.post("/agencies", json={"id": "AG2", "name": "二号", "commission_rate": "0.2"}, headers=admin)
    assert plain.status_code == 201, plain.text
    assert (plain.json()["capacity"], plain.json()["buckets"], plain.json()["placement_days"]) == (
        None,
        [],
        90,
    )
    for field, value in (("capacity", -1), ("placement_days", 0), ("buckets", ["M 2"])):
        bad = api.post("/agencies", json={**body, "id": "AG3", field: value}, headers=admin)
        assert (bad.status_code, bad.headers["content-type"]) == (422, PROBLEM), bad.text
        assert field in bad.text
    with UnitOfWork(store_url) as uow:
        assert uow.agencies.get("AG3") is None
    assert api.post("/agencies", json={**body, "id": "AG4"}, headers=key("supervisor")).status_code == 403


# --------------------------------------------------------------------------------------------- recall


def test_recalling_a_placement_takes_the_account_away_from_the_agency(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)  # L1 with AG1, L2 with AG2, until 2099
    ag1, ag2 = key("agency", "ag1", agency="AG1"), key("agency", "ag2", agency="AG2")
    assert api.get("/accounts/L1", headers=ag1).status_code == 200
    # who may not recall: the agencies themselves (not even their own loan), agents, strategists, borrowers
    token = api.post("/auth/borrower-tokens", json={"borrower_id": "B1"}, headers=admin).json()["token"]
    for who in (
        ag1,
        ag2,
        key("agent", "wang"),
        key("strategist"),
        key("compliance"),
        {"Authorization": f"Bearer {token}"},
    ):
        r = api.post("/placements/L1/recall", headers=who)
        assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)
    assert api.post("/placements/L1/recall").status_code == 401
    assert api.get("/accounts/L1", headers=ag1).json()["placed_with"] == "AG1"

    r = api.post("/placements/L1/recall", headers=key("supervisor", "li"))
    assert r.status_code == 200, r.text
    out = r.json()
    today = datetime.now(UTC).date().isoformat()
    assert out == {
        "loan_id": "L1",
        "agency_id": "AG1",
        "placed_on": "2026-01-01",
        "recall_on": "2099-01-01",
        "recalled_on": today,
        "status": "recalled",
    }
    # the agency no longer sees it, nor may act on it; the other agency keeps its own
    assert api.get("/accounts/L1", headers=ag1).status_code == 404
    assert api.get("/accounts", headers=ag1).json() == []
    assert (
        api.post("/agency/activity", json={"loan_id": "L1", "kind": "call"}, headers=ag1).status_code == 404
    )
    assert [a["loan_id"] for a in api.get("/accounts", headers=ag2).json()] == ["L2"]
    assert api.get("/accounts/L1", headers=admin).json()["placed_with"] is None
    # nothing left to recall: 404; an unknown loan: 404
    r = api.post("/placements/L1/recall", headers=admin)
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)
    assert api.post("/placements/NOPE/recall", headers=admin).status_code == 404
    # a recalled loan may be placed again, with the other agency
    r = api.post(
        "/placements",
        json={"agency_id": "AG2", "loan_ids": ["L1"], "placed_on": today, "recall_on": "2099-06-01"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert [a["loan_id"] for a in api.get("/accounts", headers=ag2).json()] == ["L1", "L2"]


# ------------------------------------------------------------------------------------ complaint rates


def _sent(store_url: str, channel_statuses: list[tuple[str, str]]) -> None:
    at = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
    with UnitOfWork(store_url) as uow:
        for n, (channel, status) in enumerate(channel_statuses):
            uow.connection.execute(
                insert(OutboxRow).values(
                    idempotency_key=f"L3:2026-01-20:s{n}:{channel}",
                    run_id="r1",
                    loan_id="L3",
                    borrower_id="B3",
                    as_of=date(2026, 1, 20),
                    kind="overdue",
                    step_id=f"s{n}",
                    channel=channel,
                    template=f"{channel}/reminder",
                    tone="soft",
                    segment="all",
                    status=status,
                    created_at=at,
                    updated_at=at,
                )
            )
        uow.commit()


def test_complaint_rates_by_channel_agent_and_agency(api: TestClient, key: Keys, store_url: str) -> None:
    admin, supervisor = key("admin"), key("supervisor", "boss")
    setup_two_agencies(api, admin)
    ag1, ag2 = key("agency", "ag1", agency="AG1"), key("agency", "ag2", agency="AG2")
    wang, li = key("agent", "wang"), key("agent", "li")
    # contacts: 4 SMS and 2 emails sent (a failed SMS does not count) ...
    _sent(store_url, [("sms", "sent")] * 4 + [("sms", "failed"), ("email", "sent"), ("email", "sent")])
    # ... 3 case notes by wang and 1 by li ...
    refresh = finished_job(
        api, api.post("/cases/refresh", params={"as_of": "2026-01-20"}, headers=admin), admin
    )
    assert (refresh["status"], refresh["result"]) == ("succeeded", {"open_cases": 3})
    with UnitOfWork(store_url) as uow:
        case_id = uow.connection.scalar(select(CaseRow.id).where(CaseRow.borrower_id == "B3"))
    for who, n in ((wang, 3), (li, 1)):
        for _ in range(n):
            r = api.post(
                f"/cases/{case_id}/notes", json={"note": "called", "outcome": "no_answer"}, headers=who
            )
            assert r.status_code == 201, r.text
    # ... and 4 activities reported by AG1, 1 by AG2
    for who, loan_id, n in ((ag1, "L1", 4), (ag2, "L2", 1)):
        for _ in range(n):
            r = api.post("/agency/activity", json={"loan_id": loan_id, "kind": "call"}, headers=who)
            assert r.status_code == 201, r.text

    def complain(
        who: dict[str, str], loan_id: str, channel: str, agent: str | None, kind: str = "complaints"
    ) -> None:
        body = {
            "loan_id": loan_id,
            "category": "harassment" if kind == "complaints" else "wrong_amount",
            "description": "too many calls",
            "opened_on": "2026-01-21",
            "channel": channel,
            "agent": agent,
        }
        r = api.post(f"/{kind}", json=body, headers=who)
        assert r.status_code == 201, r.text

    complain(admin, "L1", "sms", "wang")  # L1 is with AG1: counted for AG1
    complain(ag1, "L1", "visit", None)  # filed through the agency itself
    complain(supervisor, "L2", "voice", "li")  # AG2
    complain(admin, "L3", "sms", None)  # not placed
    complain(admin, "L3", "sms", "wang", kind="disputes")  # a dispute is not a complaint

    for who in (wang, ag1):
        assert api.get("/complaints/rates", headers=who).status_code == 403
    r = api.get("/complaints/rates", headers=key("strategist"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "channel": [
            {"channel": "email", "complaints": 0, "contacts": 2, "per_10k": 0.0},
            {"channel": "sms", "complaints": 2, "contacts": 4, "per_10k": 5000.0},
            {"channel": "visit", "complaints": 1, "contacts": 0, "per_10k": None},
            {"channel": "voice", "complaints": 1, "contacts": 0, "per_10k": None},
        ],
        "agent": [
            {"agent": "li", "complaints": 1, "contacts": 1, "per_10k": 10000.0},
            {"agent": "wang", "complaints": 1, "contacts": 3, "per_10k": 3333.3},
        ],
        "agency": [
            {"agency": "AG1", "complaints": 2, "contacts": 4, "per_10k": 5000.0},
            {"agency": "AG2", "complaints": 1, "contacts": 1, "per_10k": 10000.0},
        ],
    }


# ---------------------------------------------------------------------------------- plans and limits


def test_extension_within_and_over_the_agents_limit(api: TestClient, key: Keys, store_url: str) -> None:
    admin, agent = key("admin"), key("agent", "wang")
    supervisor, other = key("supervisor", "li"), key("supervisor", "zhao")
    for loan_id, borrower in (("L1", "B1"), ("L2", "B2")):
        assert api.post("/loans", json=loan(loan_id, borrower), headers=admin).status_code == 201

    # L1, 20 Jan: 10 days late, 5.00 late fee. 20 days' extension: within the agent's 30, starts at once
    p = position(api, admin, "2026-01-20")
    assert (p["dpd"], p["outstanding"]["late_fee"], p["outstanding"]["total"]) == (10, "5.00", "3005.00")
    r = api.post(
        "/plans",
        json={"loan_id": "L1", "kind": "extension", "start_on": "2026-01-20", "days": 20},
        headers=agent,
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert (plan["status"], plan["approved_by"], plan["plan_seqs"], plan["to_version"]) == (
        "active",
        "agent:wang",
        [1, 2, 3],
        2,
    )
    # each unpaid instalment 20 days later (the late one from the start date); the late fee rides on the first
    assert schedule(api, admin) == [
        (1, "2026-02-09", "1000.00", "5.00"),
        (2, "2026-03-02", "1000.00", "0.00"),
        (3, "2026-03-30", "1000.00", "0.00"),
    ]
    p = position(api, admin, "2026-01-20")
    assert (p["dpd"], p["overdue"]["total"], p["outstanding"]["total"]) == (0, "0.00", "3005.00")
    assert position(api, admin, "2026-01-19")["dpd"] == 9  # before the plan: the old schedule
    # 5 days past the new first due date: late, but the plan's hardship pause stops the late fee
    p = position(api, admin, "2026-02-14")
    assert (p["dpd"], p["overdue"]["principal"], p["overdue"]["fees"], p["overdue"]["late_fee"]) == (
        5,
        "1000.00",
        "5.00",
        "0.00",
    )
    r = api.post(
        "/payments",
        json={"payment_id": "P1", "loan_id": "L1", "paid_on": "2026-02-09", "amount": "1005.00"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    p = position(api, admin, "2026-02-14")
    assert (p["dpd"], p["outstanding"]["total"]) == (0, "2000.00")
    ledger_ok(store_url)

    # L2: 45 days is over the agent's 30: it waits; an agent may not approve, nor the requester
    r = api.post(
        "/plans",
        json={"loan_id": "L2", "kind": "extension", "start_on": "2026-01-20", "days": 45},
        headers=agent,
    )
    waiting = r.json()
    assert (r.status_code, waiting["status"], waiting["approved_by"]) == (201, "awaiting_approval", None)
    assert schedule(api, admin, "L2")[0] == (1, "2026-01-10", "1000.00", "0.00")  # nothing rewritten yet
    r = api.post(f"/plans/{waiting['id']}/approve", headers=key("agent", "zhou"))
    assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)
    r = api.post(f"/plans/{waiting['id']}/approve", headers=supervisor)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["approved_by"]) == ("active", "supervisor:li")
    assert schedule(api, admin, "L2") == [
        (1, "2026-03-06", "1000.00", "5.00"),
        (2, "2026-03-27", "1000.00", "0.00"),
        (3, "2026-04-24", "1000.00", "0.00"),
    ]
    r = api.post(f"/plans/{waiting['id']}/approve", headers=other)
    assert (r.status_code, r.json()["field"]) == (422, "status")  # already active
    ledger_ok(store_url)


def test_supervisor_over_their_own_limit_needs_an_admin(api: TestClient, key: Keys) -> None:
    admin, supervisor, other = key("admin"), key("supervisor", "li"), key("supervisor", "zhao")
    assert api.post("/loans", json=LOAN, headers=admin).status_code == 201
    r = api.post(
        "/plans",
        json={"loan_id": "L1", "kind": "extension", "start_on": "2026-01-20", "days": 120},
        headers=supervisor,
    )
    plan = r.json()
    assert (r.status_code, plan["status"]) == (201, "awaiting_approval")
    r = api.post(f"/plans/{plan['id']}/approve", headers=supervisor)  # the requester
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (403, "approval")
    r = api.post(f"/plans/{plan['id']}/approve", headers=other)  # 120 days is over any supervisor's 90
    assert (r.status_code, r.json()["field"]) == (403, "concession")
    assert "above the approval limit of role supervisor" in r.json()["detail"]
    r = api.post(f"/plans/{plan['id']}/approve", headers=admin)
    assert (r.status_code, r.json()["status"], r.json()["approved_by"]) == (200, "active", "admin:admin")
    assert schedule(api, admin)[0] == (1, "2026-05-20", "1000.00", "5.00")


def test_settlement_at_a_discount_needs_a_supervisor_and_settles_the_loan(
    api: TestClient, key: Keys, store_url: str
) -> None:
    admin, agent, supervisor = key("admin"), key("agent", "wang"), key("supervisor", "li")
    assert api.post("/loans", json=LOAN, headers=admin).status_code == 201
    body = {"loan_id": "L1", "kind": "settlement", "start_on": "2026-03-15", "discount_pct": "30"}
    # too early: 20 Jan is 10 days past due, a settlement needs 60
    r = api.post("/plans", json={**body, "start_on": "2026-01-20"}, headers=agent)
    assert (r.status_code, r.json()["field"]) == (422, "kind")
    # 15 Mar, 64 days past due. Late fee: 64 + 33 + 5 days at 0.50 = 51.00; outstanding 3051.00
    p = position(api, admin, "2026-03-15")
    assert (p["dpd"], p["outstanding"]["late_fee"], p["outstanding"]["total"]) == (64, "51.00", "3051.00")
    # 30 % off = 915.30, over the agent's 200.00: it waits for a supervisor
    r = api.post("/plans", json=body, headers=agent)
    plan = r.json()
    assert (r.status_code, plan["status"], plan["concession"]) == (201, "awaiting_approval", "915.30")
    r = api.post(f"/plans/{plan['id']}/approve", headers=supervisor)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["plan_seqs"]) == ("active", [1])
    # one payment of 2135.70 by 29 Mar (start + 14 days): the discount comes off the late fee first
    assert schedule(api, admin) == [(1, "2026-03-29", "2135.70", "0.00")]
    p = position(api, admin, "2026-03-15")
    assert (p["dpd"], p["outstanding"]["total"]) == (0, "2135.70")
    assert (
        position(api, admin, "2026-03-14")["outstanding"]["total"] == "3049.50"
    )  # the old schedule the day before
    ledger_ok(store_url)
    r = api.post(
        "/payments",
        json={"payment_id": "S1", "loan_id": "L1", "paid_on": "2026-03-28", "amount": "2135.70"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["plans"]] == ["completed"]
    p = position(api, admin, "2026-04-30")
    assert (p["dpd"], p["outstanding"]["total"], p["paid"]["total"], p["credit"]) == (
        0,
        "0.00",
        "2135.70",
        "0.00",
    )
    ledger_ok(store_url)
