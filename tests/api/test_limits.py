"""What one request may cost: dates in range, pages, a rate limit per key, a time budget on the store
(statement timeout, cancelled with the client), a bounded body, heavy reads in a few slots, handlers that
run in the thread pool, and a duplicate Idempotency-Key race answered as the replay it is."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from arrears.adapters.store import open_store
from arrears.adapters.store.limits import RequestBudget, StoreTimeout, budget_scope
from arrears.entrypoints.api import create_app, webhooks
from arrears.entrypoints.api.limits import MAX_LIMIT, ApiLimits, Busy, HeavySlots, TokenBuckets
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import PROVIDER_SECRET, WEBHOOK_SECRET, loan

Keys = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"
FAR = (date.today() + timedelta(days=400)).isoformat()


def _client(store_url: str, tmp_path: Path, limits: ApiLimits) -> TestClient:
    config = CaseworkConfig(
        webhook_secret=WEBHOOK_SECRET,
        provider_secret=PROVIDER_SECRET,
        token_secret="test-token-secret",
        data_dir=tmp_path,
    )
    return TestClient(create_app(store_url, config, limits))


@pytest.fixture
def loans(api: TestClient, key: Keys) -> dict[str, str]:
    admin = key("admin")
    for i in (1, 2, 3):
        assert api.post("/loans", json=loan(f"L{i}", f"B{i}"), headers=admin).status_code == 201
    return admin


def _field(r: Any) -> tuple[int, str]:
    assert r.headers["content-type"].startswith(PROBLEM), r.text
    return r.status_code, r.json()["field"]


# ------------------------------------------------------------------------------------------- dates


def test_dates_outside_the_range_are_a_422_naming_the_field(api: TestClient, loans: dict[str, str]) -> None:
    admin = loans
    assert _field(api.get("/accounts", params={"as_of": "9999-12-31"}, headers=admin)) == (422, "as_of")
    assert _field(api.get("/accounts/L1", params={"as_of": FAR}, headers=admin)) == (422, "as_of")
    assert _field(api.get("/accounts/L1", params={"as_of": "1999-12-31"}, headers=admin)) == (422, "as_of")
    assert _field(api.post("/cases/refresh", params={"as_of": FAR}, headers=admin)) == (422, "as_of")
    assert _field(api.post("/promises/settle", params={"as_of": FAR}, headers=admin)) == (422, "as_of")
    payment = {"payment_id": "P1", "loan_id": "L1", "paid_on": FAR, "amount": "10.00"}
    assert _field(api.post("/payments", json=payment, headers=admin)) == (422, "paid_on")
    far_due = {**loan("L9", "B9"), "instalments": [{"seq": 1, "due": "2300-01-10", "principal": "1.00"}]}
    assert _field(api.post("/loans", json=far_due, headers=admin)) == (422, "instalments[0].due")
    # the edges of the range are fine
    today = date.today()
    for day in ("2000-01-01", (today + timedelta(days=366)).isoformat()):
        assert api.get("/accounts/L1", params={"as_of": day}, headers=admin).status_code == 200


def test_the_signed_webhook_refuses_a_far_date_naming_the_field(
    api: TestClient, loans: dict[str, str]
) -> None:
    raw = json.dumps({"payment_id": "P1", "loan_id": "L1", "paid_on": FAR, "amount": "10.00"}).encode()
    r = api.post("/webhooks/payments", content=raw, headers=_signed(raw, "k1"))
    assert _field(r) == (422, "paid_on")


def test_amounts_over_the_bound_are_a_422_naming_the_field_and_book_nothing(
    api: TestClient, loans: dict[str, str]
) -> None:
    admin = loans
    huge = "999999999999.99"  # the body's pattern allows it; 10^14 fen is over MAX_AMOUNT_MINOR (10^12)
    raw = json.dumps({"payment_id": "P1", "loan_id": "L1", "paid_on": "2026-01-15", "amount": huge}).encode()
    r = api.post("/webhooks/payments", content=raw, headers=_signed(raw, "k-huge"))
    assert _field(r) == (422, "amount")
    assert "at most 10000000000.00" in r.json()["detail"]
    payment = {"payment_id": "P2", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "10000000000.01"}
    assert _field(api.post("/payments", json=payment, headers=admin)) == (422, "amount")
    promise = {"loan_id": "L1", "amount": huge, "due_on": "2026-02-01", "made_on": "2026-01-20"}
    assert _field(api.post("/promises", json=promise, headers=admin)) == (422, "amount")
    assert api.get("/loans/L1", headers=admin).json()["payments"] == []
    # the bound itself is an amount like any other
    payment = {"payment_id": "P3", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "10000000000.00"}
    assert api.post("/payments", json=payment, headers=admin).status_code == 201


# ------------------------------------------------------------------------------------------- pages


LISTS = ("/accounts", "/outbox", "/runs", "/disputes", "/jobs", "/loans/L1/schedules")


def test_page_sizes_are_bounded_and_offsets_page(api: TestClient, loans: dict[str, str]) -> None:
    admin = loans
    for path in LISTS:
        assert _field(api.get(path, params={"limit": MAX_LIMIT + 1}, headers=admin)) == (422, "limit"), path
        assert _field(api.get(path, params={"offset": -1}, headers=admin)) == (422, "offset"), path
        assert api.get(path, params={"limit": MAX_LIMIT}, headers=admin).status_code == 200, path
    ids = lambda **p: [a["loan_id"] for a in api.get("/accounts", params=p, headers=admin).json()]  # noqa: E731
    assert ids() == ["L1", "L2", "L3"]
    assert ids(limit=2) == ["L1", "L2"]
    assert ids(limit=2, offset=2) == ["L3"]
    assert ids(limit=1, offset=1) == ["L2"]
    assert ids(offset=3) == []


def test_every_list_endpoint_documents_limit_and_offset(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    lists = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        ok = (get or {}).get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        if get and ok.get("schema", {}).get("type") == "array":
            lists.append(path)
            params = {p["name"]: p["schema"] for p in get.get("parameters", [])}
            assert params["limit"]["maximum"] == MAX_LIMIT and params["limit"]["default"] == 100, path
            assert params["offset"]["minimum"] == 0, path
    assert set(lists) >= {"/accounts", "/outbox", "/runs", "/disputes", "/jobs", "/cases/queue"}


# ------------------------------------------------------------------------------------------ rates


def test_a_key_gets_429_with_retry_after_once_its_bucket_is_empty(
    store_url: str, tmp_path: Path, key: Keys
) -> None:
    admin, other = key("admin"), key("admin", "other")
    with _client(store_url, tmp_path, ApiLimits(rate=0.5, burst=3)) as client:
        assert [client.get("/runs", headers=admin).status_code for _ in range(3)] == [200] * 3
        r = client.get("/runs", headers=admin)
        assert r.status_code == 429 and r.headers["content-type"].startswith(PROBLEM)
        assert 1 <= int(r.headers["retry-after"]) <= 2
        assert client.get("/runs", headers=other).status_code == 200  # a bucket per key


def test_a_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(rate=100.0, burst=2)
    buckets.take("k")
    buckets.take("k")
    with pytest.raises(Exception, match="rate limit"):
        buckets.take("k")
    time.sleep(0.03)
    buckets.take("k")


# --------------------------------------------------------------------------------- time and size


def test_a_request_over_its_budget_is_a_503_problem(store_url: str, tmp_path: Path, key: Keys) -> None:
    admin = key("admin")
    with _client(store_url, tmp_path, ApiLimits(request_seconds=0.000_001)) as client:
        r = client.get("/runs", headers=admin)
    assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM), r.text
    assert r.json()["type"].endswith("/timeout") and "retry-after" in r.headers


SLOW = {
    "postgresql": "SELECT pg_sleep(5)",
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000000000) "
    "SELECT count(*) FROM r",
}


def test_a_statement_stops_at_the_budget(store_url: str) -> None:
    engine = open_store(store_url)
    started = time.monotonic()
    with pytest.raises(StoreTimeout) as stopped, budget_scope(RequestBudget(0.3)), engine.connect() as c:
        c.exec_driver_sql(SLOW[engine.dialect.name])
    assert not stopped.value.cancelled and time.monotonic() - started < 2.0
    with engine.connect() as c:  # the connection is fine for the next user, without the limit
        assert c.execute(text("SELECT 1")).scalar() == 1


def test_cancelling_a_budget_stops_the_running_statement(store_url: str) -> None:
    engine = open_store(store_url)
    budget = RequestBudget(60)
    threading.Timer(0.3, budget.cancel).start()  # what the API does when the client disconnects
    started = time.monotonic()
    with pytest.raises(StoreTimeout) as stopped, budget_scope(budget), engine.connect() as c:
        c.exec_driver_sql(SLOW[engine.dialect.name])
    assert stopped.value.cancelled and time.monotonic() - started < 2.0
    with pytest.raises(StoreTimeout), budget_scope(budget), engine.connect() as c:
        c.execute(text("SELECT 1"))  # nothing new starts under a cancelled budget


def test_a_body_over_the_limit_is_a_413(store_url: str, tmp_path: Path, key: Keys) -> None:
    with _client(store_url, tmp_path, ApiLimits(max_body_bytes=1000)) as client:
        r = client.post("/loans", content=b"{" + b" " * 2000 + b"}", headers=key("admin"))
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)


def test_heavy_reads_wait_for_a_slot_and_give_up_busy() -> None:
    async def main() -> None:
        slots = HeavySlots(1)
        held = await slots.acquire(0.1)
        with pytest.raises(Busy):
            await slots.acquire(0.05)
        held.release()
        (await slots.acquire(0.05)).release()

    anyio.run(main)


# ---------------------------------------------------------------------------------------- threads


def _hands_off(endpoint: Callable[..., Any]) -> bool:
    """An async handler that only reads the request (e.g. a form) and hands its store work to the thread
    pool: nothing of the store on the event loop."""
    source = inspect.getsource(endpoint)
    return "run_in_threadpool(" in source and "UnitOfWork" not in source and "uow" not in source


def test_no_handler_is_async(api: TestClient) -> None:
    """Handlers do synchronous store work: FastAPI runs a `def` handler in its thread pool, an `async def`
    one on the event loop, where it would hold up every other request."""
    routes: list[APIRoute] = []
    for route in api.app.routes:  # type: ignore[attr-defined]
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        routes += [r for r in (included.routes if included else [route]) if isinstance(r, APIRoute)]
    assert len(routes) > 30
    on_the_loop = [
        r.path for r in routes if inspect.iscoroutinefunction(r.endpoint) and not _hands_off(r.endpoint)
    ]
    assert on_the_loop == []
    # async dependencies only where no store work is done
    allowed = {"config", "raw_body", "check", "heavy"}

    def deps(dependant: Any) -> Iterator[Any]:
        for sub in dependant.dependencies:
            yield sub
            yield from deps(sub)

    async_deps = {
        d.call.__name__
        for r in routes
        for d in deps(r.dependant)
        if inspect.iscoroutinefunction(d.call) or inspect.isasyncgenfunction(d.call)
    }
    assert async_deps <= allowed


# --------------------------------------------------------------------------------- the replay race


def _signed(raw: bytes, idempotency_key: str, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha256={signature}", "Idempotency-Key": idempotency_key}


def test_two_deliveries_of_one_key_racing_get_one_payment_and_the_replay(
    api: TestClient, loans: dict[str, str], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both deliveries find no answer under the key before either has stored one: the race two API workers
    # (or instances) run when a processor retries quickly. (On SQLite a writing request takes the write
    # lock first, so the second delivery waits for the first and simply finds its answer: no race to set.)
    racing = store_url.startswith("postgresql")
    both_looked = threading.Barrier(2, timeout=10 if racing else 0.5)
    looked: set[int] = set()
    calls: list[bool] = []
    original = webhooks.replayed

    def replayed_then_wait(uow: Any, key: str, body_sha256: str) -> Any:
        seen = original(uow, key, body_sha256)
        calls.append(seen is not None)
        if threading.get_ident() not in looked:
            looked.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                both_looked.wait()
        return seen

    monkeypatch.setattr(webhooks, "replayed", replayed_then_wait)
    raw = json.dumps(
        {"payment_id": "P1", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "500.00"}
    ).encode()
    answers: list[Any] = []

    def deliver() -> None:
        answers.append(api.post("/webhooks/payments", content=raw, headers=_signed(raw, "same-key")))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert sorted(b["replayed"] for b in bodies) == [False, True]
    assert all(b["payment_id"] == "P1" and b["recorded"] for b in bodies)
    with UnitOfWork(store_url) as uow:
        assert [p.id for p in uow.loans.get("L1").payments] == ["P1"]
    if racing:  # both looked first and found nothing; the loser rolled back, looked again and found it
        assert calls[:2] == [False, False] and calls[-1] is True, calls
    else:
        assert calls == [False, True], calls


def test_the_webhook_does_not_hold_up_the_event_loop(
    api: TestClient, loans: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a webhook's handler waits (here: on an event), another request is answered."""
    raw = json.dumps(
        {"payment_id": "P2", "loan_id": "L2", "paid_on": "2026-01-15", "amount": "1.00"}
    ).encode()
    release = threading.Event()
    original = webhooks.replayed

    def slow(uow: Any, key: str, body_sha256: str) -> Any:
        release.wait(10)
        return original(uow, key, body_sha256)

    monkeypatch.setattr(webhooks, "replayed", slow)
    answers: list[Any] = []
    t = threading.Thread(
        target=lambda: answers.append(api.post("/webhooks/payments", content=raw, headers=_signed(raw, "k2")))
    )
    t.start()
    try:
        started = time.monotonic()
        assert api.get("/runs", headers=loans).status_code == 200
        assert time.monotonic() - started < 5 and not release.is_set()
    finally:
        release.set()
        t.join(30)
    assert answers[0].status_code == 200, answers[0].text
