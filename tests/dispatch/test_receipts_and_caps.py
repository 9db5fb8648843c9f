"""Receipts, IVR outcomes, replies (opt-out, plan request), the CLI, and several PostgreSQL workers against
the cn daily call cap for one borrower."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, insert, select

from arrears.adapters.store.dispatch_models import (
    AgentTaskRow,
    BorrowerFlagRow,
    ContactAttemptRow,
    DeliveryRow,
)
from arrears.adapters.store.models import AccountEventRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.entrypoints.cli import dispatch as dispatch_cli
from arrears.services.dispatch import dispatch
from arrears.services.receipts import record_delivery, record_reply
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import in_process
from tests.dispatch.conftest import SEND_AT, World

SMS_LOAN, SMS_BORROWER, SMS_PHONE = "L0000000022", "B000000016", "18189061837"
PUSH_ONLY = {"ARREARS_SMPP_HOST": "", "ARREARS_EMAIL_HOST": ""}


def _select(url: str, query: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return list(c.execute(query).all())
    finally:
        engine.dispose()


def test_delivery_receipts_update_the_delivery_and_the_contact_outcome(world: World) -> None:
    dispatch(world.dispatcher(config=world.config(**PUSH_ONLY)))
    (push,) = world.rows(channel="push")
    (provider_id,) = [
        d[0]
        for d in _select(world.url, select(DeliveryRow.provider_id).where(DeliveryRow.outbox_id == push.id))
    ]
    with UnitOfWork(world.url) as uow:
        assert (
            record_delivery(
                uow, {"provider_id": provider_id, "status": "delivered", "at": "2026-03-31T11:00:05+08:00"}
            )
            == "delivered"
        )
        uow.commit()
    (delivery,) = _select(world.url, select(DeliveryRow).where(DeliveryRow.outbox_id == push.id))
    assert delivery.status == "delivered" and delivery.detail["receipts"] == [
        {"status": "delivered", "at": "2026-03-31T11:00:05+08:00"}
    ]
    (attempt,) = _select(world.url, select(ContactAttemptRow).where(ContactAttemptRow.outbox_id == push.id))
    assert attempt.outcome == "delivered" and attempt.channel == "push"


def test_an_ivr_press_1_opens_an_agent_task(world: World) -> None:
    sms = world.rows(loan_id=SMS_LOAN, channel="sms")[0]
    _robocalls(world, sms, 1)
    dispatch(world.dispatcher(config=world.config(**PUSH_ONLY)))
    (call,) = world.rows(channel="robocall")
    assert call.status == "sent"
    assert world.http.by_path("/ivr")[0]["body"]["to"] == SMS_PHONE
    with UnitOfWork(world.url) as uow:
        record_delivery(uow, {"idempotency_key": call.idempotency_key, "status": "pressed_1"})
        record_delivery(
            uow, {"idempotency_key": call.idempotency_key, "status": "pressed_1"}
        )  # twice: one task
        uow.commit()
    tasks = _select(
        world.url,
        select(AgentTaskRow.loan_id, AgentTaskRow.reason, AgentTaskRow.status).where(
            AgentTaskRow.reason != "agency"
        ),
    )
    assert [tuple(t) for t in tasks] == [(SMS_LOAN, "ivr_pressed_1", "open")]
    (attempt,) = _select(
        world.url, select(ContactAttemptRow.outcome).where(ContactAttemptRow.outbox_id == call.id)
    )
    assert attempt[0] == "conversation"


def test_replies_opt_out_and_ask_for_a_plan(world: World) -> None:
    with UnitOfWork(world.url) as uow:
        assert record_reply(uow, {"from": "+86" + SMS_PHONE, "text": " 退订 "}).action == "opt_out"
        assert record_reply(uow, {"from": SMS_PHONE, "text": "ｔｄ"}).action == "opt_out"  # full-width TD
        plan = record_reply(uow, {"from": SMS_PHONE, "text": "分期", "at": "2026-03-31T12:00:00+08:00"})
        assert record_reply(uow, {"from": SMS_PHONE, "text": "好的"}).action == "none"
        assert record_reply(uow, {"from": "13000000000", "text": "STOP"}).action == "unknown_sender"
        uow.commit()
    assert plan.action == "plan_request" and plan.loans == [SMS_LOAN]
    assert [
        tuple(r)
        for r in _select(
            world.url,
            select(BorrowerFlagRow.borrower_id, BorrowerFlagRow.channel).where(
                BorrowerFlagRow.name == "opt_out"
            ),
        )
    ] == [(SMS_BORROWER, "sms")]
    events = _select(
        world.url,
        select(AccountEventRow.loan_id, AccountEventRow.kind).where(AccountEventRow.kind == "plan_request"),
    )
    assert [tuple(e) for e in events] == [(SMS_LOAN, "plan_request")]
    # The dispatcher's compliance check reads the opt-out: the SMS is blocked, the letter still goes.
    dispatch(world.dispatcher())
    statuses = {(r.channel, r.status, r.rules) for r in world.rows(loan_id=SMS_LOAN)}
    assert statuses == {("sms", "blocked", "cn.opt_out"), ("credit_bureau_notice", "sent", "")}


def _robocalls(world: World, like: Any, n: int) -> list[int]:
    rows = []
    for i in range(n):
        values = {c.name: getattr(like, c.name) for c in OutboxRow.__table__.columns if c.name != "id"}
        values.update(
            idempotency_key=f"{like.loan_id}:{like.as_of}:robocall_{i}:robocall",
            step_id=f"robocall_{i}",
            channel="robocall",
            template="robocall/reminder",
            status="pending",
            rules="",
        )
        rows.append(values)
    engine = create_engine(world.url)
    try:
        with engine.begin() as c:
            c.execute(insert(OutboxRow), rows)
            return [r[0] for r in c.execute(select(OutboxRow.id).where(OutboxRow.channel == "robocall"))]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_several_workers_never_exceed_the_daily_call_cap_for_one_borrower(world: World) -> None:
    if not world.url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL")
    world.http.reply = {"status": "answered"}  # every robocall connects: the cap counts connected calls
    sms = world.rows(loan_id=SMS_LOAN, channel="sms")[0]
    _robocalls(world, sms, 8)
    config = world.config(**PUSH_ONLY)

    def widen_the_race(claimed: list[int]) -> None:
        time.sleep(0.02)  # every worker holds its row while the others try theirs

    sent_per_round = []
    for k in range(6):  # 11:00, 11:31, 12:02 ... : past the 30-minute redial interval each time
        before = len(world.http.by_path("/ivr"))
        d = world.dispatcher(
            now=SEND_AT + timedelta(minutes=31 * k), config=config, on_claimed=widen_the_race
        )
        dispatch(d, workers=4, batch=1)
        sent_per_round.append(len(world.http.by_path("/ivr")) - before)
    assert sent_per_round == [1, 1, 1, 0, 0, 0]
    calls = world.rows(channel="robocall")
    assert sorted(r.status for r in calls) == ["deferred"] * 5 + ["sent"] * 3
    assert all("cn.calls.connected_per_day" in r.rules.split(",") for r in calls if r.status == "deferred")
    assert {r.next_allowed_at for r in calls if r.status == "deferred"} == {
        SEND_AT.replace(hour=0) + timedelta(days=1)
    }
    connected = _select(
        world.url,
        select(ContactAttemptRow.at).where(
            ContactAttemptRow.borrower_id == SMS_BORROWER, ContactAttemptRow.outcome == "connected"
        ),
    )
    assert len(connected) == 3


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    def build() -> typer.Typer:
        app = typer.Typer(pretty_exceptions_enable=False)
        dispatch_cli.register(app)
        return app

    runner = in_process(build, capsys, monkeypatch)

    def run(*args: str) -> tuple[int, str, str]:
        result = runner(*args)
        return result.code, result.stdout, result.stderr

    return run


def test_cli_dispatch_approve_and_receipts(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    cli = _cli(monkeypatch, capsys)
    code, out, err = cli(
        "dispatch", "--once", "--dev", "--limit", "5", "--as-of-time", "2026-03-31T11:00:00+08:00", "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    assert first["claimed"] == 5 and first["sent"] == 5
    code, out, _ = cli("dispatch", "--once", "--dev", "--as-of-time", "2026-03-31T11:00:00+08:00", "--json")
    assert json.loads(out)["claimed"] == 55  # 60 ready, 5 already done; the lawyer's letter awaits approval
    (letter,) = world.rows(channel="lawyer_letter")
    code, out, err = cli("outbox", "approve", str(letter.id), "--by", "王律师", "--ref", "LR-9", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "id": letter.id,
        "status": "pending",
        "approved_by": "王律师",
        "ref": "LR-9",
        "law_firm": "示例律师事务所",
    }
    code, _, err = cli("outbox", "approve", str(letter.id), "--by", "王律师", "--ref", "LR-9")
    assert code == 2 and "is pending, not awaiting_approval" in err
    replies = tmp_path / "replies.csv"
    replies.write_text(
        f"from,text,at\n{SMS_PHONE},TD,2026-03-31T12:00:00+08:00\n{SMS_PHONE},还款计划,\n", encoding="utf-8"
    )
    code, out, err = cli("receipts", "reply", str(replies), "--json")
    assert code == 0, err
    assert json.loads(out) == {"records": 2, "unknown": 0, "by_outcome": {"opt_out": 1, "plan_request": 1}}
    receipts = tmp_path / "receipts.json"
    (push,) = world.rows(channel="push")
    receipts.write_text(
        json.dumps(
            {
                "records": [
                    {"idempotency_key": push.idempotency_key, "status": "read"},
                    {"provider_id": "nope", "status": "delivered"},
                ]
            }
        ),
        encoding="utf-8",
    )
    code, out, err = cli("receipts", "delivery", str(receipts), "--json")
    assert code == 0, err
    assert json.loads(out) == {"records": 2, "unknown": 1, "by_outcome": {"read": 1}}
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"idempotency_key": push.idempotency_key, "status": "exploded"}]), encoding="utf-8"
    )
    code, _, err = cli("receipts", "delivery", str(bad))
    assert code == 2 and "unknown status 'exploded'" in err and "Traceback" not in err
