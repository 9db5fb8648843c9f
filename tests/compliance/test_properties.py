"""Properties: no sequence of attempts that `decide` allows ever breaks a cap, and deferrals are exact.

Each example walks forward in time: every requested attempt is decided; an allowed one is made (with a
random outcome) and joins the history; a deferred one is made at its next_allowed_at, which must then
be allowed. At the end an independent brute-force oracle re-reads the whole history for violations.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain.compliance import Attempt, ContactEvent, Debtor, decide
from arrears.entrypoints.cli.compliance import load_profile

VOICE = {"call", "agent_call", "robocall"}
NUMBERS = ("13800000001", "13800000002")
request = st.tuples(
    st.integers(min_value=0, max_value=36 * 60),  # minutes after the previous attempt
    st.sampled_from(["call", "robocall", "agent_call", "sms"]),
    st.sampled_from(NUMBERS),
    st.sampled_from(["connected", "conversation", "no_answer", "busy", "voicemail", "failed", "delivered"]),
    st.sampled_from([None, "loan-1", "loan-2"]),
)


def _walk(profile_name: str, debtor: Debtor, start: datetime, requests: list[tuple]) -> list[ContactEvent]:
    profile = load_profile(profile_name)
    history: list[ContactEvent] = []
    at = start
    for gap, channel, target, outcome, debt in requests:
        at = at + timedelta(minutes=gap)
        attempt = Attempt(channel=channel, at=at, target=target, debt=debt, message_type="reminder")
        decision = decide(profile, debtor, history, attempt)
        if decision.decision == "block":
            continue
        if decision.decision == "defer":
            nxt = decision.next_allowed_at
            assert nxt is not None and nxt > at
            just_before = decide(profile, debtor, history, attempt.moved_to(nxt - timedelta(microseconds=1)))
            assert just_before.decision != "allow"
            attempt = attempt.moved_to(nxt)
            again = decide(profile, debtor, history, attempt)
            assert again.decision == "allow", again.to_dict()["reasons"]
            at = nxt
        if channel == "sms":
            outcome = "delivered"
        elif outcome == "delivered":
            outcome = "connected"
        history.append(attempt.as_event(outcome))
    return history


def _local_days(events: list[ContactEvent], tz: ZoneInfo) -> list[tuple[ContactEvent, object]]:
    return [(e, e.at.astimezone(tz).date()) for e in events]


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(request, min_size=1, max_size=30))
def test_cn_allowed_attempts_never_break_a_cap(requests: list[tuple]) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 3, 9, 7, 0, tzinfo=tz)
    history = _walk("cn", Debtor(timezones=("Asia/Shanghai",)), start, requests)
    days = _local_days(history, tz)
    connected = Counter(
        d for e, d in days if e.channel in VOICE and e.outcome in {"connected", "conversation"}
    )
    assert max(connected.values(), default=0) <= 3
    unanswered = Counter(
        (d, e.target)
        for e, d in days
        if e.channel in VOICE and e.outcome in {"no_answer", "busy", "voicemail", "failed"}
    )
    assert max(unanswered.values(), default=0) <= 6
    for e in history:
        local = e.at.astimezone(tz).time()
        assert (8, 0) <= (local.hour, local.minute) < (22, 0)
    calls = sorted((e.target, e.at) for e in history if e.channel in VOICE)
    for (t1, a1), (t2, a2) in itertools.pairwise(calls):
        assert t1 != t2 or a2 - a1 >= timedelta(minutes=30)


@SETTINGS
@given(st.lists(request, min_size=1, max_size=30), st.sampled_from(["us-reg-f", "us-ma"]), st.booleans())
def test_us_allowed_attempts_never_break_a_cap(requests: list[tuple], profile: str, autumn: bool) -> None:
    tz = ZoneInfo("America/New_York")
    # Start just before a daylight-saving change so that windows straddle it.
    start = datetime(2026, 10, 29, 7, 0, tzinfo=tz) if autumn else datetime(2026, 3, 5, 7, 0, tzinfo=tz)
    debtor = Debtor(
        timezones=("America/New_York",), validation_notice_sent_at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    history = _walk(profile, debtor, start, requests)
    days = _local_days(history, tz)
    all_days = sorted({d for _, d in days})
    cap = 7 if profile == "us-reg-f" else 2
    counted = VOICE if profile == "us-reg-f" else VOICE | {"sms"}
    for debt in ("loan-1", "loan-2"):
        mine = [d for e, d in days if e.channel in counted and e.debt in (None, debt)]
        for first in all_days:
            window = [d for d in mine if first <= d <= first + timedelta(days=6)]
            assert len(window) <= cap, (debt, first, window)
        talks = [(e.at, d) for e, d in days if e.outcome == "conversation" and e.debt in (None, debt)]
        for e, d in days:
            if e.channel not in VOICE or e.debt not in (None, debt):
                continue
            for when, day in talks:
                assert not (when < e.at and d <= day + timedelta(days=6)), (e, when)
    for e in history:
        local = e.at.astimezone(tz).time()
        assert (8, 0) <= (local.hour, local.minute) < (21, 0)


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=20 * 24 * 60), min_size=0, max_size=12),
    st.integers(min_value=0, max_value=30 * 24 * 60),
)
def test_next_allowed_at_is_exact_for_unordered_histories(offsets: list[int], probe: int) -> None:
    """Even with events on both sides of the attempt, the deferral lands on the first allowed instant."""
    tz = ZoneInfo("America/New_York")
    base = datetime(2026, 2, 25, 0, 0, tzinfo=tz)
    profile = load_profile("us-reg-f")
    debtor = Debtor(
        timezones=("America/New_York",), validation_notice_sent_at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    history = [ContactEvent("call", base + timedelta(minutes=m), "no_answer") for m in offsets]
    attempt = Attempt("call", base + timedelta(minutes=probe), target=NUMBERS[0])
    decision = decide(profile, debtor, history, attempt)
    if decision.decision == "defer":
        nxt = decision.next_allowed_at
        assert nxt is not None
        assert decide(profile, debtor, history, attempt.moved_to(nxt)).decision == "allow"
        # Nothing in between is allowed: probe 40 evenly spaced instants and the one just before.
        span = nxt - attempt.at
        probes = [attempt.at + span * k / 40 for k in range(40)] + [nxt - timedelta(microseconds=1)]
        for t in probes:
            assert decide(profile, debtor, history, attempt.moved_to(t)).decision != "allow", t
