"""The messaging providers' callbacks over HTTP: SMS replies (opt-out, plan request), delivery receipts,
IVR outcomes; the HMAC signature, Idempotency-Key replays, problem+json naming the field.
(The dispatcher honouring an opt-out made through HTTP: tests/dispatch/test_provider_callbacks_http.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from arrears.adapters.store.dispatch_models import (
    AgentTaskRow,
    BorrowerFlagRow,
    ContactAttemptRow,
    DeliveryRow,
)
from arrears.adapters.store.models import AccountEventRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.services.auth import sign_body
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import LOAN, PROVIDER_SECRET, WEBHOOK_SECRET

PROBLEM = "application/problem+json"
SENT_AT = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)


def post(
    api: TestClient, path: str, body: Any, *, secret: str = PROVIDER_SECRET, key: str | None = None
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"X-Signature": "sha256=" + sign_body(secret, raw), "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return api.post(path, content=raw, headers=headers)


def rows(store_url: str, query: Any) -> list[tuple[Any, ...]]:
    with UnitOfWork(store_url) as uow:
        return [tuple(r) for r in uow.connection.execute(query).all()]


def sent_message(store_url: str, channel: str, key: str, provider_id: str) -> int:
    """An outbox row of L1 as dispatch leaves it: sent, with its delivery and contact attempt."""
    with UnitOfWork(store_url) as uow:
        c = uow.connection
        outbox_id = c.execute(
            insert(OutboxRow)
            .values(
                idempotency_key=key,
                run_id="r1",
                loan_id="L1",
                borrower_id="B1",
                as_of=date(2026, 1, 20),
                anchor=date(2026, 1, 10),
                kind="overdue",
                step_id="s1",
                channel=channel,
                template=f"{channel}/reminder",
                tone="soft",
                segment="all",
                status="sent",
                created_at=SENT_AT,
                updated_at=SENT_AT,
            )
            .returning(OutboxRow.id)
        ).scalar_one()
        c.execute(
            insert(DeliveryRow).values(
                outbox_id=outbox_id,
                idempotency_key=key,
                channel=channel,
                provider="http",
                provider_id=provider_id,
                status="accepted",
                sent_at=SENT_AT,
                updated_at=SENT_AT,
                detail={},
            )
        )
        c.execute(
            insert(ContactAttemptRow).values(
                loan_id="L1",
                borrower_id="B1",
                channel=channel,
                target="138****5678",
                at=SENT_AT,
                outcome="sent",
                outbox_id=outbox_id,
                provider_id=provider_id,
            )
        )
        uow.commit()
    return int(outbox_id)


def test_sms_replies_opt_out_and_ask_for_a_plan(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    assert api.post("/loans", json=LOAN, headers=key("admin")).status_code == 201
    reply = {"from": "13812345678", "text": "TD", "at": "2026-01-20T12:00:00+08:00"}
    r = post(api, "/webhooks/sms-replies", reply, key="sms-1")
    assert r.status_code == 200, r.text
    assert r.json() == {"borrower_id": "B1", "action": "opt_out", "loans": [], "replayed": False}
    opt_outs = select(BorrowerFlagRow.borrower_id, BorrowerFlagRow.channel, BorrowerFlagRow.reason)
    assert rows(store_url, opt_outs) == [("B1", "sms", "reply: TD")]
    # the provider retries: the first answer again, nothing applied twice
    r = post(api, "/webhooks/sms-replies", reply, key="sms-1")
    assert (r.status_code, r.json()["action"], r.json()["replayed"]) == (200, "opt_out", True)
    # another key with another body under it is a conflict
    r = post(api, "/webhooks/sms-replies", {**reply, "text": "STOP"}, key="sms-1")
    assert (r.status_code, r.headers["content-type"]) == (409, PROBLEM)
    # +86 and full-width letters are the same borrower and the same word; still one opt-out
    r = post(api, "/webhooks/sms-replies", {"from": "+8613812345678", "text": "ＳＴＯＰ"})
    assert r.json()["action"] == "opt_out"
    assert len(rows(store_url, opt_outs)) == 1

    r = post(
        api, "/webhooks/sms-replies", {"from": "13812345678", "text": " 分期 ", "at": "2026-01-21T09:30:00Z"}
    )
    assert r.json() == {"borrower_id": "B1", "action": "plan_request", "loans": ["L1"], "replayed": False}
    events = select(AccountEventRow.loan_id, AccountEventRow.kind, AccountEventRow.on_date).where(
        AccountEventRow.kind == "plan_request"
    )
    assert rows(store_url, events) == [("L1", "plan_request", date(2026, 1, 21))]
    r = post(api, "/webhooks/sms-replies", {"from": "13812345678", "text": "好的"})
    assert r.json()["action"] == "none"
    r = post(api, "/webhooks/sms-replies", {"from": "13000000000", "text": "TD"})
    assert (r.json()["borrower_id"], r.json()["action"]) == (None, "unknown_sender")
    assert len(rows(store_url, opt_outs)) == 1


def test_delivery_receipts_and_ivr_outcomes(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    assert api.post("/loans", json=LOAN, headers=key("admin")).status_code == 201
    sms = sent_message(store_url, "sms", "L1:2026-01-20:s1:sms", "prov-77")
    call = sent_message(store_url, "robocall", "L1:2026-01-20:s2:robocall", "ivr-9")

    r = post(
        api,
        "/webhooks/delivery",
        {"provider_id": "prov-77", "status": "delivered", "at": "2026-01-20T11:00:05+08:00"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "delivered", "outcome": "delivered", "replayed": False}
    ((status, detail),) = rows(
        store_url, select(DeliveryRow.status, DeliveryRow.detail).where(DeliveryRow.outbox_id == sms)
    )
    assert (status, detail["receipts"]) == (
        "delivered",
        [{"status": "delivered", "at": "2026-01-20T11:00:05+08:00"}],
    )
    attempt = select(ContactAttemptRow.outcome).where(ContactAttemptRow.outbox_id == sms)
    assert rows(store_url, attempt) == [("delivered",)]
    r = post(api, "/webhooks/delivery", {"idempotency_key": "L1:2026-01-20:s1:sms", "status": "undelivered"})
    assert r.json()["outcome"] == "bounced"
    assert rows(store_url, attempt) == [("bounced",)]
    r = post(api, "/webhooks/delivery", {"provider_id": "nope", "status": "delivered"})
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)

    # the IVR calls back: voicemail, then (another callback) the borrower pressed 1 for an agent
    r = post(api, "/webhooks/ivr", {"provider_id": "ivr-9", "outcome": "voicemail"})
    assert r.json() == {
        "outcome": "voicemail",
        "contact_outcome": "voicemail",
        "agent_task": False,
        "replayed": False,
    }
    r = post(api, "/webhooks/ivr", {"provider_id": "ivr-9", "outcome": "pressed_1"}, key="ivr-cb-2")
    assert r.json()["agent_task"] is True
    assert (
        post(api, "/webhooks/ivr", {"provider_id": "ivr-9", "outcome": "pressed_1"}, key="ivr-cb-2").json()[
            "replayed"
        ]
        is True
    )
    tasks = select(AgentTaskRow.loan_id, AgentTaskRow.reason, AgentTaskRow.outbox_id, AgentTaskRow.status)
    assert rows(store_url, tasks) == [("L1", "ivr_pressed_1", call, "open")]
    assert rows(store_url, select(ContactAttemptRow.outcome).where(ContactAttemptRow.outbox_id == call)) == [
        ("conversation",)
    ]
    r = post(api, "/webhooks/ivr", {"provider_id": "ivr-9", "outcome": "answered"})
    assert r.json()["contact_outcome"] == "connected"


def test_callbacks_need_the_provider_signature_and_a_valid_body(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    assert api.post("/loans", json=LOAN, headers=key("admin")).status_code == 201
    td = {"from": "13812345678", "text": "TD"}
    for path in ("/webhooks/sms-replies", "/webhooks/delivery", "/webhooks/ivr"):
        # signed with another secret (the payment processor's), or tampered: 401, nothing applied
        r = post(api, path, td, secret=WEBHOOK_SECRET)
        assert (r.status_code, r.headers["content-type"], r.json()["status"]) == (401, PROBLEM, 401), path
        assert r.json()["type"].endswith("/unauthorized")
        r = api.post(path, content=json.dumps(td).encode(), headers={"X-Signature": "sha256=00"})
        assert r.status_code == 401
        # an API key is not a signature: 401 as documented (not a 422 about the missing header)
        r = api.post(path, json=td, headers=key("admin"))
        assert (r.status_code, r.headers["content-type"]) == (401, PROBLEM)
        assert "X-Signature header is missing" in r.json()["detail"]
    assert rows(store_url, select(BorrowerFlagRow.borrower_id)) == []

    bad: list[tuple[str, Any, str]] = [
        ("/webhooks/sms-replies", {"from": "13812345678"}, "text"),
        ("/webhooks/sms-replies", {"from": "call me", "text": "TD"}, "from"),
        ("/webhooks/sms-replies", {"from": "13812345678", "text": "TD", "sender": "x"}, "sender"),
        ("/webhooks/sms-replies", {"from": "13812345678", "text": "TD", "at": "2026-01-20T12:00:00"}, "at"),
        ("/webhooks/sms-replies", b"{not json", "body"),
        ("/webhooks/delivery", {"provider_id": "p1", "status": "exploded"}, "status"),
        ("/webhooks/delivery", {"status": "delivered"}, "provider_id"),
        ("/webhooks/ivr", {"provider_id": "p1", "outcome": "delivered"}, "outcome"),
        ("/webhooks/ivr", {"provider_id": "", "outcome": "answered"}, "provider_id"),
    ]
    for path, body, field in bad:
        r = post(api, path, body)
        assert (r.status_code, r.headers["content-type"]) == (422, PROBLEM), (path, body)
        assert (r.json()["field"], r.json()["instance"]) == (field, path), (path, body)
    assert rows(store_url, select(BorrowerFlagRow.borrower_id)) == []
