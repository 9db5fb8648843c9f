"""The providers' callbacks over HTTP against a real daily run and dispatch: a "TD" reply through the API
makes the dispatcher block the borrower's next SMS; a delivery receipt through the API updates what the
dispatcher recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from arrears.adapters.store.dispatch_models import BorrowerFlagRow, ContactAttemptRow, DeliveryRow
from arrears.entrypoints.api import create_app
from arrears.services.auth import sign_body
from arrears.services.cases import CaseworkConfig
from arrears.services.dispatch import dispatch
from tests.dispatch.conftest import World

SECRET = "provider-secret"
SMS_LOAN, SMS_BORROWER, SMS_PHONE = "L0000000022", "B000000016", "18189061837"


def _select(url: str, query: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(query).all()]
    finally:
        engine.dispose()


def _post(api: TestClient, path: str, body: dict[str, Any]) -> Any:
    raw = json.dumps(body, ensure_ascii=False).encode()
    r = api.post(path, content=raw, headers={"X-Signature": "sha256=" + sign_body(SECRET, raw)})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_td_reply_over_http_blocks_the_next_sms_and_receipts_update_the_delivery(
    world: World, tmp_path: Path
) -> None:
    config = CaseworkConfig(provider_secret=SECRET, data_dir=tmp_path)
    with TestClient(create_app(world.url, config)) as api:
        # the borrower with a pending SMS answers "TD" (from +86...): opted out of SMS
        out = _post(api, "/webhooks/sms-replies", {"from": "+86" + SMS_PHONE, "text": "TD"})
        assert (out["borrower_id"], out["action"]) == (SMS_BORROWER, "opt_out")
        assert _select(
            world.url,
            select(BorrowerFlagRow.borrower_id, BorrowerFlagRow.channel).where(
                BorrowerFlagRow.name == "opt_out"
            ),
        ) == [(SMS_BORROWER, "sms")]

        # the dispatcher's compliance check at send time reads the opt-out: the SMS is blocked, the
        # letter goes, and the other borrowers get their SMS
        dispatch(world.dispatcher())
        statuses = {(r.channel, r.status, r.rules) for r in world.rows(loan_id=SMS_LOAN)}
        assert statuses == {("sms", "blocked", "cn.opt_out"), ("credit_bureau_notice", "sent", "")}
        sms_to = [m["dest"] for m in world.smpp.messages]
        assert sms_to and all(SMS_PHONE not in dest for dest in sms_to)

        # the push provider reports a push read
        (push,) = world.rows(channel="push")
        ((provider_id,),) = _select(
            world.url, select(DeliveryRow.provider_id).where(DeliveryRow.outbox_id == push.id)
        )
        out = _post(api, "/webhooks/delivery", {"provider_id": provider_id, "status": "read"})
        assert (out["status"], out["outcome"]) == ("read", "read")
        assert _select(world.url, select(DeliveryRow.status).where(DeliveryRow.outbox_id == push.id)) == [
            ("read",)
        ]
        assert _select(
            world.url, select(ContactAttemptRow.outcome).where(ContactAttemptRow.outbox_id == push.id)
        ) == [("read",)]
