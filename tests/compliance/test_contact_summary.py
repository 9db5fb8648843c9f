"""The column-wise contact-history summaries (engine/contact_summary.py) equal the reference `summarise`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain.compliance import Attempt, ContactEvent, Debtor, PlannedContact, decide_batch, summarise
from arrears.domain.compliance.batch import lookback
from arrears.domain.compliance.profile import CapRule
from arrears.domain.compliance.rules import gates
from arrears.engine.contact_summary import summaries_for
from arrears.entrypoints.cli.compliance import load_profile

PHONE, WORK, OTHER = "13800000001", "13800000009", "13800000002"
LOANS = ("L1", "L2", None)
ZONES = (("Asia/Shanghai",), ("America/New_York",), ("America/Los_Angeles",), ())
past = st.tuples(
    st.integers(min_value=-12 * 24 * 60, max_value=2 * 24 * 60),  # minutes from the planned instant
    st.sampled_from(["call", "robocall", "agent_call", "sms", "email", "letter"]),
    st.sampled_from([PHONE, WORK, OTHER]),
    st.sampled_from(["connected", "conversation", "no_answer", "busy", "voicemail", "delivered", "unknown"]),
    st.sampled_from([None, "reminder", "validation_notice", "bureau_notice"]),
    st.sampled_from(LOANS),
)
person = st.tuples(
    st.sampled_from(ZONES),
    st.booleans(),  # WORK is a work number
    st.lists(past, max_size=14),
    st.lists(
        st.tuples(
            st.sampled_from(["call", "robocall", "agent_call", "sms", "email"]),
            st.sampled_from([PHONE, WORK]),
            st.sampled_from(["L1", "L2"]),
            st.integers(min_value=0, max_value=23 * 60 + 59),
        ),
        min_size=1,
        max_size=3,
    ),
)


def _build(
    profile_name: str, people: list[tuple]
) -> tuple[list[PlannedContact], list[ContactEvent], list[str]]:
    planned, events, owners = [], [], []
    day = datetime(2026, 3, 9, tzinfo=UTC)
    for i, (zones, work, history, attempts) in enumerate(people):
        debtor = Debtor(id=f"b{i}", timezones=zones, work_numbers=frozenset({WORK}) if work else frozenset())
        first = attempts[0][3]
        for minutes, channel, target, outcome, mtype, loan in history:
            at = day + timedelta(minutes=first + minutes)
            events.append(ContactEvent(channel, at, outcome, target, "debtor", mtype, loan))
            owners.append(debtor.id)
        for channel, target, loan, minute in attempts:
            at = (day + timedelta(minutes=minute)).astimezone(ZoneInfo(zones[0] if zones else "UTC"))
            attempt = Attempt(channel, at, target=target, message_type="reminder", debt=loan)
            planned.append(
                PlannedContact(
                    f"{loan}", debtor, attempt, summarise(load_profile(profile_name), debtor, [], attempt)
                )
            )
    return planned, events, owners


def _vectorised(
    profile_name: str, planned: list[PlannedContact], events: list[ContactEvent], owners: list[str]
):
    """The production path: the history as the store hands it over (Arrow), through `summaries_for`."""
    history = pa.table(
        {
            "borrower_id": pa.array(owners, pa.string()),
            "loan_id": pa.array([e.debt for e in events], pa.string()),
            "channel": pa.array([e.channel for e in events], pa.string()),
            "at": pa.array([e.at for e in events], pa.timestamp("us", tz="UTC")),
            "outcome": pa.array([e.outcome for e in events], pa.string()),
            "target": pa.array([e.target for e in events], pa.string()),
            "message_type": pa.array([e.message_type for e in events], pa.string()),
        }
    )
    return summaries_for(load_profile(profile_name), planned, history)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cn", "cn-strict", "us-reg-f", "us-ma"]), st.lists(person, min_size=1, max_size=5))
def test_column_wise_summaries_equal_the_reference(profile_name: str, people: list[tuple]) -> None:
    profile = load_profile(profile_name)
    planned, events, owners = _build(profile_name, people)
    got = _vectorised(profile_name, planned, events, owners)
    for row, summary in zip(planned, got, strict=True):
        history = [e for e, o in zip(events, owners, strict=True) if o == row.debtor.id]
        oracle = summarise(profile, row.debtor, history, row.attempt)
        for rule in profile.rules:
            if isinstance(rule, CapRule) and gates(rule.applies_to, row.attempt, row.debtor):
                assert summary.counts.get(rule.id, 0) == oracle.counts.get(rule.id, 0), (
                    rule.id,
                    row,
                    history,
                )
        assert {k: v.at for k, v in summary.last_event.items()} == {
            k: v.at for k, v in oracle.last_event.items()
        }
        for rule_id, event in summary.last_event.items():
            assert (event.channel, event.outcome, event.target, event.debt) == (
                oracle.last_event[rule_id].channel,
                oracle.last_event[rule_id].outcome,
                oracle.last_event[rule_id].target,
                oracle.last_event[rule_id].debt,
            )
        assert sorted(e.at for e in summary.notices) == sorted(e.at for e in oracle.notices)
        # and so the batch decides as it would from the reference summary
        mine = decide_batch(profile, [PlannedContact(row.account_id, row.debtor, row.attempt, summary)])
        ref = decide_batch(profile, [PlannedContact(row.account_id, row.debtor, row.attempt, oracle)])
        assert mine[0].decision.decision == ref[0].decision.decision
        assert mine[0].decision.rules == ref[0].decision.rules


def test_three_connected_calls_and_unknown_outcomes_are_counted() -> None:
    """Literal: 3 connected calls this morning and 6 robocalls whose outcome nobody could read. An unknown
    outcome may have been either, so it counts toward both caps: 9 toward the connected-call cap and 6
    toward the 6-unanswered-per-number cap."""
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 3, 10, 10, 0, tzinfo=tz)
    debtor = Debtor(id="b", timezones=("Asia/Shanghai",))
    connected = [ContactEvent("call", at - timedelta(minutes=m), "connected", PHONE) for m in (30, 60, 90)]
    unknown = [
        ContactEvent("robocall", at - timedelta(minutes=m), "unknown", PHONE) for m in range(5, 65, 10)
    ]
    events = connected + unknown
    attempt = Attempt("robocall", at, target=PHONE, message_type="reminder", debt="L1")
    planned = [PlannedContact("L1", debtor, attempt, summarise(load_profile("cn"), debtor, [], attempt))]
    (summary,) = _vectorised("cn", planned, events, ["b"] * len(events))
    assert summary.counts["cn.calls.connected_per_day"] == 9
    assert summary.counts["cn.calls.unanswered_per_number_per_day"] == 6
    (decision,) = decide_batch(load_profile("cn"), [PlannedContact("L1", debtor, attempt, summary)])
    assert decision.decision.decision == "defer"
    assert set(decision.decision.rules) >= {
        "cn.calls.connected_per_day",
        "cn.calls.unanswered_per_number_per_day",
    }


def test_lookback_covers_every_window() -> None:
    assert lookback(load_profile("cn")) == timedelta(days=3)
    assert lookback(load_profile("us-reg-f")) == timedelta(days=9)
    assert lookback(load_profile("us-ma")) == timedelta(days=32)
