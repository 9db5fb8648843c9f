"""Role and data-scope walls, borrower tokens, problem+json naming the field, the signed payment webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from arrears.services.auth import issue_borrower_token, sign_body
from tests.api.conftest import LOAN, WEBHOOK_SECRET, loan

PROBLEM = "application/problem+json"


def setup_two_agencies(api: TestClient, admin: dict[str, str]) -> None:
    for loan_id, borrower in (("L1", "B1"), ("L2", "B2"), ("L3", "B3")):
        assert api.post("/loans", json=loan(loan_id, borrower), headers=admin).status_code == 201
    for agency in ("AG1", "AG2"):
        r = api.post(
            "/agencies", json={"id": agency, "name": agency, "commission_rate": "0.18"}, headers=admin
        )
        assert r.status_code == 201, r.text
    for agency, loans in (("AG1", ["L1"]), ("AG2", ["L2"])):
        r = api.post(
            "/placements",
            json={
                "agency_id": agency,
                "loan_ids": loans,
                "placed_on": "2026-01-01",
                "recall_on": "2099-01-01",
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text


def test_an_agency_sees_only_its_own_accounts_masked(
    api: TestClient, key: Callable[..., dict[str, str]]
) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)
    ag1 = key("agency", agency="AG1")
    r = api.get("/accounts/L1", headers=ag1, params={"as_of": "2026-01-20"})
    assert r.status_code == 200
    assert r.json()["borrower"]["id_number"] == "110***********1233"
    assert r.json()["borrower"]["name"] == "张*"
    assert r.json()["placed_with"] == "AG1"
    for path in ("/accounts/L2", "/accounts/L3", "/loans/L2", "/loans/L2/schedules"):
        r = api.get(path, headers=ag1)
        assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM), path
    assert [a["loan_id"] for a in api.get("/accounts", headers=ag1).json()] == ["L1"]
    r = api.post("/agency/activity", json={"loan_id": "L2", "kind": "call"}, headers=ag1)
    assert r.status_code == 404
    r = api.post(
        "/agency/activity", json={"loan_id": "L1", "kind": "call", "outcome": "no_answer"}, headers=ag1
    )
    assert r.status_code == 201
    r = api.post(
        "/promises",
        json={"loan_id": "L2", "amount": "10.00", "due_on": "2026-02-01", "made_on": "2026-01-20"},
        headers=ag1,
    )
    assert r.status_code == 404
    assert api.get("/outbox", headers=ag1).status_code == 403
    assert api.post("/cases/refresh", headers=ag1).status_code == 403


def test_a_borrower_sees_only_their_own(api: TestClient, key: Callable[..., dict[str, str]]) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)
    token = api.post("/auth/borrower-tokens", json={"borrower_id": "B1"}, headers=admin).json()["token"]
    me = {"Authorization": f"Bearer {token}"}
    assert api.get("/accounts/L1", headers=me).status_code == 200
    assert api.get("/accounts/L2", headers=me).status_code == 404
    assert [a["loan_id"] for a in api.get("/accounts", headers=me).json()] == ["L1"]
    r = api.post(
        "/disputes",
        json={"loan_id": "L2", "category": "wrong_amount", "description": "x", "opened_on": "2026-01-20"},
        headers=me,
    )
    assert r.status_code == 404
    assert (
        api.post(
            "/plans",
            json={"loan_id": "L1", "kind": "extension", "start_on": "2026-01-20", "days": 10},
            headers=me,
        ).status_code
        == 403
    )
    # a tampered or expired token is no token at all
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert api.get("/accounts/L1", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    old = issue_borrower_token("test-token-secret", "B1", now=datetime.now(UTC) - timedelta(hours=1))
    r = api.get("/accounts/L1", headers={"Authorization": f"Bearer {old}"})
    assert (r.status_code, r.headers["content-type"], r.headers["www-authenticate"]) == (
        401,
        PROBLEM,
        "Bearer",
    )


def test_roles_are_checked(api: TestClient, key: Callable[..., dict[str, str]]) -> None:
    assert api.get("/accounts").status_code == 401
    assert api.get("/accounts", headers={"X-API-Key": "ak_nope_nope"}).status_code == 401
    for role in ("agent", "strategist", "compliance", "supervisor"):
        r = api.post("/loans", json=LOAN, headers=key(role, f"{role}1"))
        assert (r.status_code, r.json()["status"]) == (403, 403), role
    assert api.get("/runs", headers=key("agent", "a2")).status_code == 403
    assert api.get("/runs", headers=key("strategist", "s2")).json() == []


def test_bad_input_is_problem_json_naming_the_field(
    api: TestClient, key: Callable[..., dict[str, str]]
) -> None:
    admin = key("admin")
    bad = {**LOAN, "instalments": [{"seq": 1, "due": "2026-13-10", "principal": "1000.00"}]}
    r = api.post("/loans", json=bad, headers=admin)
    assert (r.status_code, r.headers["content-type"]) == (422, PROBLEM)
    body = r.json()
    assert body["field"] == "instalments[0].due"
    assert body["type"].endswith("/validation") and body["status"] == 422 and body["instance"] == "/loans"
    r = api.post(
        "/loans",
        json={**LOAN, "instalments": [{"seq": 1, "due": "2026-01-10", "principal": "1.234"}]},
        headers=admin,
    )
    assert r.json()["field"] == "instalments[0].principal"
    r = api.post("/loans", json={**LOAN, "product": "no-such"}, headers=admin)
    assert (r.status_code, r.json()["field"]) == (422, "product")
    assert api.post("/loans", json=LOAN, headers=admin).status_code == 201
    assert api.post("/loans", json=LOAN, headers=admin).status_code == 409
    r = api.post(
        "/plans",
        json={"loan_id": "L1", "kind": "reinstalment", "start_on": "2026-01-20", "count": 1},
        headers=admin,
    )
    assert (r.status_code, r.json()["field"]) == (422, "count")
    r = api.post(
        "/complaints",
        json={"loan_id": "L1", "category": "wrong_amount", "description": "x", "opened_on": "2026-01-20"},
        headers=admin,
    )
    assert (r.status_code, r.json()["field"]) == (422, "category")
    r = api.get("/accounts/L1", params={"as_of": "yesterday"}, headers=admin)
    assert (r.status_code, r.json()["field"]) == (422, "as_of")
    r = api.get("/accounts/NOPE", headers=admin)
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)


def test_payment_webhook_signature_and_idempotency(
    api: TestClient, key: Callable[..., dict[str, str]]
) -> None:
    admin = key("admin")
    assert api.post("/loans", json=LOAN, headers=admin).status_code == 201
    body = json.dumps(
        {"payment_id": "W1", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "200.00"}
    ).encode()
    good = {
        "Idempotency-Key": "k1",
        "X-Signature": "sha256=" + sign_body(WEBHOOK_SECRET, body),
        "Content-Type": "application/json",
    }
    r = api.post("/webhooks/payments", content=body, headers={**good, "X-Signature": "sha256=00"})
    assert r.status_code == 401
    r = api.post("/webhooks/payments", content=body, headers=good)
    assert (r.status_code, r.json()["recorded"], r.json()["replayed"]) == (200, True, False)
    r = api.post("/webhooks/payments", content=body, headers=good)
    assert (r.status_code, r.json()["recorded"], r.json()["replayed"]) == (200, True, True)
    other = body.replace(b"200.00", b"300.00")
    r = api.post(
        "/webhooks/payments", content=other, headers={**good, "X-Signature": sign_body(WEBHOOK_SECRET, other)}
    )
    assert r.status_code == 409
    # the same payment id under a new key is recorded once
    r = api.post("/webhooks/payments", content=body, headers={**good, "Idempotency-Key": "k2"})
    assert r.json()["recorded"] is False
    bad = json.dumps({"payment_id": "W2", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "-5"}).encode()
    r = api.post(
        "/webhooks/payments",
        content=bad,
        headers={**good, "Idempotency-Key": "k3", "X-Signature": sign_body(WEBHOOK_SECRET, bad)},
    )
    assert (r.status_code, r.json()["field"]) == (422, "amount")
    p = api.get("/accounts/L1", params={"as_of": "2026-01-15"}, headers=admin).json()["position"]
    # 11-15 Jan: 5 overdue days at 0.50 (grace passed unpaid) → 2.50 late fee, then 197.50 principal
    assert (p["paid"]["total"], p["outstanding"]["total"]) == ("200.00", "2802.50")
