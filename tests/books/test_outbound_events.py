"""Outbound events: the signature a receiver checks, the backoff, and at-least-once delivery until dead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from arrears.domain.outbound_events import MAX_ATTEMPTS, OutboundEvent, next_attempt, signature, verify
from arrears.services.events import DeliveryFailed, deliver
from arrears.services.unit_of_work import UnitOfWork

AT = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)
EVENT = OutboundEvent("account.cured", "L1", date(2026, 3, 31), {"loan_id": "L1", "dpd": 0})


def test_the_signature_covers_body_and_time_and_goes_stale() -> None:
    body = EVENT.body()
    header = signature("s" * 20, body, AT)
    assert header.startswith(f"t={int(AT.timestamp())},v1=")
    assert verify("s" * 20, body, header, AT + timedelta(minutes=4))
    assert not verify("s" * 20, body, header, AT + timedelta(minutes=6))  # a replay, too old
    assert not verify("s" * 20, body.replace(b"L1", b"L2"), header, AT)  # the body changed
    assert not verify("t" * 20, body, header, AT)  # another secret
    assert not verify("s" * 20, body, "garbage", AT)


def test_backoff_doubles_from_30_seconds_up_to_6_hours_then_gives_up() -> None:
    delays = [next_attempt(n, AT) for n in range(1, MAX_ATTEMPTS + 1)]
    assert [d - AT for d in delays[:4] if d is not None] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
    ]
    assert delays[-1] is None  # the 8th failure is the last


def test_an_event_is_tried_until_delivered_and_a_refused_one_ends_dead(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        assert uow.outbound_events.add([EVENT], AT) == 1
        assert uow.outbound_events.add([EVENT], AT) == 0  # one row per key: a re-run adds nothing
        uow.commit()
    clock = [AT]
    tries: list[str] = []

    def refuse(event: OutboundEvent, now: datetime) -> None:
        tries.append(event.key)
        raise DeliveryFailed("HTTP 500")

    for _ in range(MAX_ATTEMPTS):
        report = deliver(store_url, refuse, now=lambda: clock[0])
        clock[0] += timedelta(hours=7)  # past any backoff
    assert len(tries) == MAX_ATTEMPTS and report.dead == 1
    with UnitOfWork(store_url) as uow:
        (dead,) = uow.outbound_events.all()
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", MAX_ATTEMPTS, "HTTP 500")
    assert deliver(store_url, refuse, now=lambda: clock[0]).to_dict() == {
        "delivered": 0,
        "retried": 0,
        "dead": 0,
    }
