"""Litigation over the API (SQLite and PostgreSQL): legal staff open a case, file it and record a cost; an
agent may not; bad input is a 4xx problem with the field named and nothing written."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.conftest import loan

Keys = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"


def test_legal_staff_run_a_case_through_the_api(api: TestClient, key: Keys) -> None:
    admin, legal = key("admin"), key("supervisor", "legal")
    assert api.post("/loans", json=loan("L1", "B1"), headers=admin).status_code == 201
    r = api.post("/litigation", json={"loan_id": "L1", "on": "2026-01-25"}, headers=key("agent", "wang"))
    assert r.status_code == 403
    r = api.post("/litigation", json={"loan_id": "L1", "on": "2026-01-25"}, headers=legal)
    assert r.status_code == 201, r.text
    case = r.json()
    # the whole loan (three instalments of 1000.00) and 15 days of late fee on the first at 0.05 % a day: 7.50
    assert (case["stage"], case["claim"]) == ("referred", "3007.50")

    r = api.post(
        f"/litigation/{case['id']}/stage", json={"stage": "filed", "on": "2026-02-01"}, headers=legal
    )
    assert (r.status_code // 100, r.headers["content-type"]) == (4, PROBLEM), r.text
    assert "case_number" in r.text
    r = api.post(
        f"/litigation/{case['id']}/stage",
        json={
            "stage": "filed",
            "on": "2026-02-01",
            "court": "上海金融法院",
            "case_number": "(2026)沪74民初1号",
        },
        headers=legal,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["stage"], r.json()["ladder"]) == ("filed", "held")
    r = api.post(
        f"/litigation/{case['id']}/costs",
        json={"amount": "300.00", "kind": "court_fee", "on": "2026-02-02"},
        headers=legal,
    )
    assert r.status_code == 200, r.text
    shown = api.get(f"/litigation/{case['id']}", headers=legal).json()
    assert (shown["costs"], shown["costs_booked_as_fees"]) == ("300.00", "0.00")
    assert [e["kind"] for e in shown["events"]] == ["stage", "stage", "cost"]
