"""Whole-portfolio operations as background jobs: 202 with a job id, GET /jobs/{id} for the status and the
result, one job of a kind at a time, a job whose worker died is abandoned, roles per kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from arrears.adapters.store import open_store
from arrears.adapters.store.job_repository import JobRow, JobStore
from tests.api.conftest import finished_job, loan

Keys = Callable[..., dict[str, str]]


def test_a_case_refresh_is_a_job_with_a_status_and_a_result(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    for i in (1, 2):
        assert api.post("/loans", json=loan(f"L{i}", f"B{i}"), headers=admin).status_code == 201
    r = api.post("/cases/refresh", params={"as_of": "2026-01-20"}, headers=admin)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert r.headers["location"] == f"/jobs/{accepted['id']}"
    assert (accepted["kind"], accepted["params"], accepted["requested_by"]) == (
        "case_refresh",
        {"as_of": "2026-01-20"},
        "admin:admin",
    )
    assert accepted["status"] in ("queued", "running", "succeeded")
    job = finished_job(api, r, admin)
    assert (job["status"], job["result"], job["error"]) == ("succeeded", {"open_cases": 2}, None)
    assert job["started_at"] and job["finished_at"]
    listed = api.get("/jobs", headers=admin).json()
    assert [(j["id"], j["status"]) for j in listed] == [(job["id"], "succeeded")]
    assert "result" not in listed[0]
    # the cases are there, as the synchronous refresh left them
    queue = api.get("/cases/queue", headers=key("supervisor", "boss")).json()
    assert sorted(c["borrower_id"] for c in queue) == ["B1", "B2"]


def test_one_job_of_a_kind_at_a_time_and_an_abandoned_one_is_failed(
    api: TestClient, key: Keys, store_url: str
) -> None:
    admin = key("admin")
    running, created = JobStore(store_url).start("case_refresh", {"as_of": "2026-01-20"}, "admin:other")
    assert created
    r = api.post("/cases/refresh", headers=admin)
    assert r.status_code == 409 and r.json()["job_id"] == running.id, r.text
    assert r.headers["location"] == f"/jobs/{running.id}"
    # another kind is not held up
    export = api.post("/bureau/export", params={"month": "2026-01"}, headers=admin)
    assert finished_job(api, export, admin)["status"] == "succeeded"
    # the worker running it stopped beating long ago: the next request fails it and starts a new one
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    with open_store(store_url).begin() as c:
        c.execute(update(JobRow).where(JobRow.id == running.id).values(heartbeat_at=long_ago))
    r = api.post("/cases/refresh", params={"as_of": "2026-01-20"}, headers=admin)
    assert finished_job(api, r, admin)["status"] == "succeeded"
    old = api.get(f"/jobs/{running.id}", headers=admin).json()
    assert old["status"] == "failed" and old["error"].startswith("abandoned")


def test_jobs_are_seen_by_the_roles_that_may_start_them(api: TestClient, key: Keys) -> None:
    admin, supervisor, compliance = key("admin"), key("supervisor", "boss"), key("compliance")
    export = finished_job(
        api, api.post("/bureau/export", params={"month": "2026-01"}, headers=compliance), admin
    )
    assert export["result"]["month"] == "2026-01"
    assert api.post("/bureau/export", params={"month": "2026-01"}, headers=supervisor).status_code == 403
    assert api.post("/cases/refresh", headers=compliance).status_code == 403
    assert api.get(f"/jobs/{export['id']}", headers=supervisor).status_code == 403  # full ID numbers inside
    assert api.get(f"/jobs/{export['id']}", headers=key("agent", "a")).status_code == 403
    assert api.get("/jobs", headers=supervisor).json() == []
    assert [j["kind"] for j in api.get("/jobs", headers=compliance).json()] == ["bureau_export"]
    assert api.get("/jobs", params={"kind": "bureau_export"}, headers=supervisor).status_code == 403
    assert api.get("/jobs/" + "0" * 32, headers=admin).status_code == 404
    assert api.get("/jobs/not-a-job", headers=admin).status_code == 422
