"""The daily run's batch decisions agree with `decide` (the oracle) on generated accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain.compliance import (
    Attempt,
    ContactEvent,
    Debtor,
    PlannedContact,
    decide,
    decide_batch,
    summarise,
)
from arrears.domain.compliance.decision import make_facts, verdicts_at
from arrears.entrypoints.cli.compliance import load_profile

NUMBERS = ("13800000001", "13800000002")
event = st.tuples(
    st.integers(min_value=1, max_value=9 * 24 * 60),  # minutes before the planned instant
    st.sampled_from(["call", "robocall", "sms", "email"]),
    st.sampled_from(NUMBERS),
    st.sampled_from(["connected", "conversation", "no_answer", "busy", "delivered"]),
    st.sampled_from([None, "reminder", "validation_notice", "bureau_notice"]),
)
rarely = st.sampled_from([False, False, False, False, False, True])
debtors = st.builds(
    Debtor,
    cease=rarely,
    disputed=rarely,
    hardship=rarely,
    unreachable=st.booleans(),
    opted_out=st.sampled_from(
        [frozenset(), frozenset({"sms"}), frozenset({"email", "sms", "push", "in_app"})]
    ),
)
account = st.tuples(
    debtors,
    st.lists(event, max_size=12),
    st.sampled_from(["call", "agent_call", "sms", "email", "credit_bureau"]),
    st.sampled_from(NUMBERS),
    st.sampled_from(["debtor", "debtor", "debtor", "third_party"]),
    st.sampled_from(["reminder", "third_party_locate", "payment_confirmation", None]),
    st.integers(min_value=0, max_value=23 * 60 + 59),  # planned local minute of the day
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cn", "us-reg-f", "us-ma"]), st.lists(account, min_size=1, max_size=8))
def test_batch_agrees_with_decide(profile_name: str, accounts: list[tuple]) -> None:
    profile = load_profile(profile_name)
    zone = "Asia/Shanghai" if profile_name == "cn" else "America/New_York"
    day = datetime(2026, 3, 9, tzinfo=ZoneInfo(zone))
    rows, cases = [], []
    for i, (debtor, events, channel, target, target_kind, message_type, minute) in enumerate(accounts):
        debtor = Debtor(
            id=f"d{i}",
            timezones=(zone,),
            cease=debtor.cease,
            disputed=debtor.disputed,
            hardship=debtor.hardship,
            unreachable=debtor.unreachable,
            opted_out=debtor.opted_out,
            validation_notice_sent_at=datetime(2026, 1, 2, tzinfo=UTC) if i % 4 else None,
        )
        at = day + timedelta(minutes=minute)
        history = [
            ContactEvent(ch, at - timedelta(minutes=m), outcome, tgt, "debtor", mt)
            for m, ch, tgt, outcome, mt in events
        ]
        attempt = Attempt(channel, at, target=target, target_kind=target_kind, message_type=message_type)
        rows.append(PlannedContact(f"a{i}", debtor, attempt, summarise(profile, debtor, history, attempt)))
        cases.append((debtor, history, attempt))
    results = decide_batch(profile, rows)
    for (debtor, history, attempt), batch in zip(cases, results, strict=True):
        oracle = decide(profile, debtor, history, attempt)
        got = batch.decision
        assert got.decision == oracle.decision, (got.to_dict(), oracle.to_dict())
        if batch.needs_history:
            assert got.next_allowed_at is None
            objecting = {v.rule for v in verdicts_at(make_facts(profile, debtor, history), attempt)}
            assert objecting <= set(got.rules), (history, attempt, debtor)
        else:
            assert got.rules == oracle.rules, (history, attempt, debtor)
            assert got.next_allowed_at == oracle.next_allowed_at


def test_batch_of_literal_rows() -> None:
    """Three accounts at 21:30 Beijing time: one fine, one over the connected-call cap, one disputed."""
    profile = load_profile("cn")
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 3, 10, 21, 30, tzinfo=tz)
    debtor = Debtor(timezones=("Asia/Shanghai",))
    busy = [ContactEvent("call", at - timedelta(hours=h), "connected", "13800000001") for h in (1, 2, 3)]
    rows = []
    for account, d, history in (
        ("fine", debtor, []),
        ("capped", debtor, busy),
        ("disputed", Debtor(timezones=("Asia/Shanghai",), disputed=True), []),
    ):
        attempt = Attempt("call", at, target="13800000001")
        rows.append(PlannedContact(account, d, attempt, summarise(profile, d, history, attempt)))
    out = {r.account_id: r for r in decide_batch(profile, rows)}
    assert out["fine"].decision.decision == "allow"
    assert out["capped"].decision.decision == "defer" and out["capped"].needs_history
    assert out["capped"].decision.rules == ("cn.calls.connected_per_day",)
    assert rows[1].summary.counts["cn.calls.connected_per_day"] == 3
    assert out["disputed"].decision.rules == ("cn.dispute_hold",)
    # The dispatcher, which has the history, dates the deferral exactly.
    exact = decide(profile, debtor, busy, rows[1].attempt)
    assert exact.next_allowed_at == datetime(2026, 3, 11, 8, 0, tzinfo=tz)
