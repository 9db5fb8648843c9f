"""Borrower facts and contact history through the production paths, on SQLite and PostgreSQL: a few literal
accounts (白条 30-day purchases of ¥800.00, borrowers in Shanghai), a policy of a step or two, the daily
run (which judges each planned contact at 10:00 local time) and dispatch (which checks again at send time),
with the outbox rows expected beside each scenario. Profile cn.

The policies here have no paused segment on purpose: the shipped ones pause a disputed account before
planning anything, and these tests are about what the compliance filter does to what was planned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from arrears.adapters.store.dispatch_models import DeliveryRow
from arrears.domain.ledger import compute_position
from arrears.domain.policy import Policy
from arrears.services.unit_of_work import UnitOfWork
from tests.run.conftest import World, literal_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 31)  # the run's day (a Tuesday)


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


def policy(tmp_path: Path, *steps: str) -> Policy:
    """One segment, one ladder of these steps (YAML flow mappings)."""
    text = (
        "name: contact-rules\nversion: 1\ncompliance_profile: cn\n"
        "segments:\n  - {name: everyone, ladder: steps}\n"
        "ladders:\n  steps:\n" + "".join(f"    - {step}\n" for step in steps)
    )
    return literal_policy(text, tmp_path)


def loans(*rows: tuple[str, str]) -> str:
    """(loan number, due date) → one ¥800.00 白条 purchase each, borrower B<n>, phone 138000000<nn>."""
    return "\n".join(
        f"L{n},B{n},baitiao-30d,CNY,1,{due},800.00,,张{n},138000000{int(n):02d},b{n}@example.cn,Asia/Shanghai,zh-CN"
        for n, due in rows
    )


def table(world: World) -> list[str]:
    """The outbox as `loan step status rules`, one line per row in plan order."""
    return [" ".join(filter(None, (r.loan_id, r.step_id, r.status, r.rules))) for r in world.outbox()]


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.strip().splitlines()]


def channels_reached(world: World) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in world.attempts():
        out.setdefault(a.borrower_id, set()).add(a.channel)
    return out


def call(loan: str, borrower: str, phone: str, when: datetime, outcome: str, channel: str) -> dict[str, Any]:
    return {
        "loan_id": loan,
        "borrower_id": borrower,
        "channel": channel,
        "target": phone,
        "at": when,
        "outcome": outcome,
        "message_type": "reminder",
    }


REMINDERS = (
    "{id: reminder_sms_d1, offset: 1, channel: sms, template: sms/reminder, tone: regular}",
    "{id: reminder_push_d1, offset: 1, channel: push, template: push/reminder, tone: regular}",
    "{id: reminder_email_d1, offset: 1, channel: email, template: email/reminder, tone: regular}",
)


def test_cease_stops_everything_and_a_channel_cease_or_opt_out_stops_only_that_channel(
    scenario: Callable[..., World], tmp_path: Path
) -> None:
    world = scenario(loans(*((str(n), "2026-03-30") for n in range(1, 6))), policy(tmp_path, *REMINDERS))
    world.flag("B1", "cease", at(7))
    world.flag("B2", "cease", at(7), channel="sms")
    world.flag("B3", "opt_out", at(7), channel="push")
    world.run(DAY)
    # Blocked when planned, from the facts in force at 10:00.
    assert table(world) == lines("""
        L1 reminder_sms_d1   blocked cn.cease
        L1 reminder_push_d1  blocked cn.cease
        L1 reminder_email_d1 blocked cn.cease
        L2 reminder_sms_d1   blocked cn.opt_out
        L2 reminder_push_d1  pending
        L2 reminder_email_d1 pending
        L3 reminder_sms_d1   pending
        L3 reminder_push_d1  blocked cn.opt_out
        L3 reminder_email_d1 pending
        L4 reminder_sms_d1   pending
        L4 reminder_push_d1  pending
        L4 reminder_email_d1 pending
        L5 reminder_sms_d1   pending
        L5 reminder_push_d1  pending
        L5 reminder_email_d1 pending
    """)
    world.flag("B5", "cease", at(10, 30))  # after the run, before the dispatch: the send-time check holds it
    world.dispatch(at(11))
    assert table(world) == lines("""
        L1 reminder_sms_d1   blocked cn.cease
        L1 reminder_push_d1  blocked cn.cease
        L1 reminder_email_d1 blocked cn.cease
        L2 reminder_sms_d1   blocked cn.opt_out
        L2 reminder_push_d1  sent
        L2 reminder_email_d1 sent
        L3 reminder_sms_d1   sent
        L3 reminder_push_d1  blocked cn.opt_out
        L3 reminder_email_d1 sent
        L4 reminder_sms_d1   sent
        L4 reminder_push_d1  sent
        L4 reminder_email_d1 sent
        L5 reminder_sms_d1   blocked cn.cease
        L5 reminder_push_d1  blocked cn.cease
        L5 reminder_email_d1 blocked cn.cease
    """)
    assert channels_reached(world) == {
        "B2": {"push", "email"},
        "B3": {"sms", "email"},
        "B4": {"sms", "push", "email"},
    }
    delivered = {r[0] for r in world.select(select(DeliveryRow.idempotency_key))}
    assert not [k for k in delivered if k.startswith(("L1:", "L5:"))]
    assert sorted(m["body"]["to"] for m in world.http.by_path("/sms")) == ["13800000003", "13800000004"]
    assert sorted(m["To"] for m in world.smtp.messages) == ["b2@example.cn", "b3@example.cn", "b4@example.cn"]


def test_a_disputed_debt_is_blocked_when_planned(scenario: Callable[..., World], tmp_path: Path) -> None:
    world = scenario(
        loans(("6", "2026-03-30"), ("7", "2026-03-30"), ("8", "2026-03-30")), policy(tmp_path, REMINDERS[0])
    )
    world.events("event_id,loan_id,kind,on\nE6,L6,dispute_opened,2026-03-30\n", tmp_path)  # the account
    world.flag("B7", "dispute", at(7), debt="L7")  # the borrower's facts
    world.run(DAY)
    assert table(world) == lines("""
        L6 reminder_sms_d1 blocked cn.dispute_hold
        L7 reminder_sms_d1 blocked cn.dispute_hold
        L8 reminder_sms_d1 pending
    """)
    world.dispatch(at(11))
    assert table(world)[-1] == "L8 reminder_sms_d1 sent"
    assert channels_reached(world) == {"B8": {"sms"}}


def test_three_connected_calls_this_morning_defer_the_planned_call_until_tomorrow(
    scenario: Callable[..., World], tmp_path: Path
) -> None:
    robocall = "{id: robocall_d2, offset: 2, channel: robocall, template: robocall/reminder, tone: regular}"
    world = scenario(loans(("9", "2026-03-29"), ("10", "2026-03-29")), policy(tmp_path, robocall))
    morning = [at(8, 30), at(9, 0), at(9, 30)]  # an agent's calls, before the run plans at 10:00
    world.contacts(
        [call("L9", "B9", "13800000009", t, "connected", "agent_call") for t in morning]
        + [call("L10", "B10", "13800000010", t, "connected", "agent_call") for t in morning[:2]]
    )
    world.run(DAY)
    # Deferred when planned: the cap's window is the local day, so tomorrow from 08:00 (when the hours open).
    assert table(world) == lines("""
        L10 robocall_d2 pending
        L9  robocall_d2 deferred cn.calls.connected_per_day,cn.hours
    """)
    (deferred,) = world.outbox(loan_id="L9")
    assert deferred.next_allowed_at == at(8, day=DAY + timedelta(days=1))
    world.dispatch(at(11))  # not claimed before its time
    assert table(world) == lines("""
        L10 robocall_d2 sent
        L9  robocall_d2 deferred cn.calls.connected_per_day,cn.hours
    """)
    assert [m["body"]["to"] for m in world.http.by_path("/ivr")] == ["13800000010"]
    world.dispatch(at(9, day=DAY + timedelta(days=1)))
    assert [r.status for r in world.outbox()] == ["sent", "sent"]
    assert [m["body"]["to"] for m in world.http.by_path("/ivr")] == ["13800000010", "13800000009"]


def test_unknown_call_outcomes_count_toward_every_call_cap(
    scenario: Callable[..., World], tmp_path: Path
) -> None:
    robocall = "{id: robocall_d2, offset: 2, channel: robocall, template: robocall/reminder, tone: regular}"
    world = scenario(loans(*((str(n), "2026-03-29") for n in range(11, 15))), policy(tmp_path, robocall))
    world.run(DAY)
    assert {r.status for r in world.outbox()} == {"pending"}
    # Between the run and the dispatch, robocalls to each borrower's number through another dialer: the
    # IVR never reported what became of B11's and B13's (unknown), B12's and B14's rang out (no_answer).
    dials = {"B11": ("unknown", 6), "B12": ("no_answer", 6), "B13": ("unknown", 3), "B14": ("no_answer", 3)}
    world.contacts(
        [
            call(
                f"L{b[1:]}",
                b,
                f"138000000{b[1:]}",
                at(10, 0) + timedelta(minutes=30 * k),
                outcome,
                "robocall",
            )
            for b, (outcome, n) in dials.items()
            for k in range(n)
        ]
    )
    world.dispatch(at(14))
    got = {r.loan_id: (r.status, set(r.rules.split(",")) - {""}) for r in world.outbox()}
    unanswered, connected, hours = (
        "cn.calls.unanswered_per_number_per_day",
        "cn.calls.connected_per_day",
        "cn.hours",  # tomorrow's window opens at midnight, the hours at 08:00
    )
    assert got == {
        # an unknown outcome may have been an unanswered dial or a connected call: it counts for both
        "L11": ("deferred", {unanswered, connected, hours}),
        "L12": ("deferred", {unanswered, hours}),
        "L13": ("deferred", {connected, hours}),
        "L14": ("sent", set()),
    }
    tomorrow = at(8, day=DAY + timedelta(days=1))
    assert {r.next_allowed_at for r in world.outbox() if r.status == "deferred"} == {tomorrow}
    assert [m["body"]["to"] for m in world.http.by_path("/ivr")] == ["13800000014"]


def test_a_late_message_quotes_the_day_it_goes_out_and_expires_after_valid_for(
    scenario: Callable[..., World], tmp_path: Path
) -> None:
    world = scenario(
        loans(("15", "2026-03-28"), ("16", "2026-03-28")),
        policy(
            tmp_path,
            "{id: reminder_sms_d3, offset: 3, channel: sms, template: sms/reminder, tone: regular, valid_for: 5}",
            "{id: reminder_push_d3, offset: 3, channel: push, template: push/reminder, tone: regular, valid_for: 1}",
        ),
    )
    # Planned on 31 March (3 days past due, ¥801.20); the dispatcher is down until 2 April. L16 is paid in
    # full on 1 April.
    world.run(DAY)
    world.run(DAY + timedelta(days=1))
    with UnitOfWork(world.url) as uow:
        owed = compute_position(uow.loans.get("L16"), DAY + timedelta(days=1)).overdue.total
    assert owed == 80160  # ¥800.00 and four days of late fee
    world.pay("L16", DAY + timedelta(days=1), owed, "PAY-16")
    world.run(DAY + timedelta(days=2))
    world.dispatch(at(11, day=DAY + timedelta(days=2)))
    assert table(world) == lines("""
        L15 reminder_sms_d3  sent
        L15 reminder_push_d3 expired
        L16 reminder_sms_d3  cancelled
        L16 reminder_push_d3 cancelled
    """)
    errors = {(r.loan_id, r.step_id): r.last_error for r in world.outbox()}
    assert errors[("L15", "reminder_push_d3")] == "not sent by 2026-03-31T16:00:00+00:00: valid for 1 day(s)"
    assert errors[("L16", "reminder_sms_d3")] == "nothing overdue any more (paid)"
    # The SMS quotes 2 April: 5 days past due and five days of the 0.05 % late fee on ¥800.00.
    (sms,) = world.http.by_path("/sms")
    assert "您于2026年3月28日到期的借款已逾期5天，当前应还¥802.00。" in sms["body"]["text"]
    with UnitOfWork(world.url) as uow:
        now = compute_position(uow.loans.get("L15"), DAY + timedelta(days=2))
        planned = compute_position(uow.loans.get("L15"), DAY)
    assert (now.dpd, now.overdue.total, planned.dpd, planned.overdue.total) == (5, 80200, 3, 80120)
    assert world.http.by_path("/push") == []
