"""Every error a payment webhook or a provider callback can answer is problem+json with a message in words
(issue 20 item 3): no signature is the documented 401 (not a 422 about a header), a missing Idempotency-Key
a 422 naming it, amounts and ids say what they must look like (never a regular expression); nothing is
booked by a refused notification."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arrears.services.auth import sign_body
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import LOAN, PROVIDER_SECRET, WEBHOOK_SECRET

PROBLEM = "application/problem+json"
PAYMENT = {"payment_id": "P1", "loan_id": "L1", "paid_on": "2026-01-20", "amount": "120.50"}
AMOUNT_WORDS = 'amount: must be a decimal string with at most 2 decimals, e.g. "120.50"'


def send(
    api: TestClient,
    body: Any,
    *,
    path: str = "/webhooks/payments",
    secret: str | None = WEBHOOK_SECRET,
    key: str | None = "k-1",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Signature"] = "sha256=" + sign_body(secret, raw)
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.post(path, content=raw, headers=headers)


def problem(response: Any, status: int) -> dict[str, Any]:
    """The answer's problem document, after checking it is one, with this status, and free of regexes."""
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    for text in (body["detail"], *(e["message"] for e in body.get("errors", []))):
        assert not any(mark in text for mark in ("^", "\\d", "$", "[A-Z")), text  # words, not a pattern
    return body


def booked(store_url: str) -> int:
    with UnitOfWork(store_url) as uow:
        return sum(len(loan.payments) for loan in uow.loans.stream())


@pytest.fixture
def loan(api: TestClient, key: Callable[..., dict[str, str]]) -> None:
    assert api.post("/loans", json=LOAN, headers=key("admin")).status_code == 201


def test_a_webhook_without_a_signature_is_401_before_anything_else(
    api: TestClient, loan: None, store_url: str
) -> None:
    for headers in ({}, {"Idempotency-Key": "k-1"}):  # with or without a key: the signature first
        r = api.post("/webhooks/payments", content=json.dumps(PAYMENT).encode(), headers=headers)
        body = problem(r, 401)
        assert body["type"].endswith("/unauthorized")
        assert body["detail"].startswith("the X-Signature header is missing")
    r = send(api, PAYMENT, secret="another-secret")
    assert "does not match the body" in problem(r, 401)["detail"]
    r = api.post(
        "/webhooks/payments",
        content=json.dumps(PAYMENT).encode(),
        headers={"X-Signature": "sha256=" + "0" * 500, "Idempotency-Key": "k-1"},
    )
    problem(r, 401)  # an overlong signature is a wrong one, not a malformed request
    # a signed payment with an unsigned (or differently signed) body is refused, nothing booked
    assert booked(store_url) == 0


def test_a_signed_webhook_without_an_idempotency_key_is_a_422_naming_it(
    api: TestClient, loan: None, store_url: str
) -> None:
    for key in (None, " "):
        body = problem(send(api, PAYMENT, key=key), 422)
        assert body["field"] == "Idempotency-Key"
        assert "Idempotency-Key header is required" in body["detail"]
    assert booked(store_url) == 0


@pytest.mark.parametrize("amount", ["12.345", "-5", "1e3", "12,50", "", " 5", "1234567890123.00", "¥5"])
def test_amount_errors_say_what_an_amount_looks_like(
    api: TestClient, loan: None, store_url: str, amount: str
) -> None:
    body = problem(send(api, {**PAYMENT, "amount": amount}), 422)
    assert body["field"] == "amount"
    assert body["detail"].startswith(AMOUNT_WORDS)
    assert booked(store_url) == 0


def test_the_same_amount_errors_on_the_staff_endpoints(
    api: TestClient, loan: None, key: Callable[..., dict[str, str]]
) -> None:
    admin = key("admin")
    r = api.post("/payments", json={**PAYMENT, "amount": "1.005"}, headers=admin)
    assert problem(r, 422)["detail"].startswith(AMOUNT_WORDS)
    promise = {"loan_id": "L1", "amount": "5.5.5", "due_on": "2026-01-25", "made_on": "2026-01-20"}
    assert problem(api.post("/promises", json=promise, headers=admin), 422)["detail"].startswith(AMOUNT_WORDS)
    bad_loan = {
        **LOAN,
        "loan_id": "L2",
        "instalments": [{"seq": 1, "due": "2026-01-10", "principal": "1,000"}],
    }
    body = problem(api.post("/loans", json=bad_loan, headers=admin), 422)
    assert body["detail"].startswith("instalments[0].principal: must be a decimal string")
    r = api.get("/outbox?status=lost", headers=admin)
    assert problem(r, 422)["detail"].startswith("status: must be one of pending, ")


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"amount": "0.00"}, 422, "amount", "a payment must be positive"),
        ({"payment_id": "P 1/2"}, 422, "payment_id", "must be letters, digits, or _ . : -"),
        ({"loan_id": ""}, 422, "loan_id", "at least 1 character"),
        ({"paid_on": "2026-02-30"}, 422, "paid_on", "valid date"),
        ({"paid_on": "1999-12-31"}, 422, "paid_on", "must be between 2000-01-01 and"),
        ({"currency": "CNY"}, 422, "currency", "Extra inputs are not permitted"),
        ({"loan_id": "L-unknown"}, 404, None, "unknown loan 'L-unknown'"),
    ],
)
def test_every_other_payment_webhook_error_is_a_problem_in_words(
    api: TestClient,
    loan: None,
    store_url: str,
    change: dict[str, str],
    status: int,
    field: str | None,
    words: str,
) -> None:
    body = problem(send(api, {**PAYMENT, **change}), status)
    assert body.get("field") == field and words in body["detail"], body
    assert booked(store_url) == 0


def test_a_body_that_is_not_json_or_misses_a_field(api: TestClient, loan: None) -> None:
    body = problem(send(api, b"{not json"), 422)
    assert (body["field"], body["detail"]) == ("body", "the body is not JSON")
    body = problem(send(api, {k: v for k, v in PAYMENT.items() if k != "paid_on"}), 422)
    assert (body["field"], body["detail"]) == ("paid_on", "paid_on: Field required")


def test_a_key_reused_with_another_body_is_a_409_problem(api: TestClient, loan: None, store_url: str) -> None:
    first = send(api, PAYMENT)
    assert first.status_code == 200 and first.json()["recorded"] is True
    body = problem(send(api, {**PAYMENT, "amount": "99.00"}), 409)
    assert "Idempotency-Key was used with a different body" in body["detail"]
    assert booked(store_url) == 1


@pytest.mark.parametrize(
    ("path", "payload", "field", "words"),
    [
        (
            "/webhooks/delivery",
            {"provider_id": "p1", "status": "exploded"},
            "status",
            "must be one of accepted,",
        ),
        (
            "/webhooks/delivery",
            {"status": "delivered"},
            "provider_id",
            "needs idempotency_key or provider_id",
        ),
        ("/webhooks/ivr", {"provider_id": "p1", "outcome": "hung"}, "outcome", "must be one of answered,"),
        ("/webhooks/sms-replies", {"from": "call me", "text": "TD"}, "from", "must be a phone number"),
        (
            "/webhooks/sms-replies",
            {"from": "13812345678", "text": "TD", "channel": "SMS!"},
            "channel",
            "lower case",
        ),
    ],
)
def test_provider_callback_errors_are_problems_in_words(
    api: TestClient, path: str, payload: dict[str, str], field: str, words: str
) -> None:
    problem(send(api, payload, path=path, secret=None, key=None), 401)  # unsigned: 401 first
    body = problem(send(api, payload, path=path, secret=PROVIDER_SECRET, key=None), 422)
    assert body["field"] == field and words in body["detail"], body
    assert body["instance"] == path
