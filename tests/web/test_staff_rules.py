"""The console's rules in the domain, as properties: lock-out, session expiry, when a called case returns,
and every case outcome read as a contact outcome the compliance caps count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.agent_calls import CONTACT_OUTCOME, next_action_on
from arrears.domain.cases import OUTCOME_CODES, QueueEntry, Skills, agent_queue
from arrears.domain.compliance.channels import VOICE_OUTCOMES
from arrears.domain.staff import PAGES, STAFF_ROLES, Lockout, SessionRules, StaffUser
from arrears.services.auth import Principal

NOW = datetime(2026, 1, 24, 14, 30, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=60 * 24 * 3)


@given(failures=st.integers(min_value=1, max_value=50), later=minutes)
def test_a_lock_starts_at_the_fifth_failure_in_a_row_and_lasts_fifteen_minutes(
    failures: int, later: int
) -> None:
    rules = Lockout()
    until = rules.after_failure(failures, NOW)
    assert (until is not None) == (failures >= 5)
    if until is not None:
        user = StaffUser("u", "agent", "h", locked_until=until)
        assert rules.locked(user, NOW + timedelta(minutes=later)) == (later < 15)


@given(idle=minutes, age=minutes)
def test_a_session_lives_while_used_within_30_minutes_and_never_past_12_hours(idle: int, age: int) -> None:
    created = NOW - timedelta(minutes=age)
    last_seen = max(created, NOW - timedelta(minutes=idle))
    alive = SessionRules().alive(created, last_seen, NOW)
    assert alive == ((NOW - last_seen) < timedelta(minutes=30) and age < 12 * 60)


@given(
    outcome=st.sampled_from(OUTCOME_CODES),
    today=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    promised=st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
)
def test_a_called_case_leaves_todays_queue_and_a_ptp_returns_after_its_date(outcome, today, promised) -> None:
    back = next_action_on(outcome, today, promised)
    assert back > today
    if outcome == "promise_to_pay" and promised is not None:
        assert back > promised


def test_every_case_outcome_is_a_voice_outcome_the_rules_know() -> None:
    assert set(CONTACT_OUTCOME) == set(OUTCOME_CODES)
    assert set(CONTACT_OUTCOME.values()) <= VOICE_OUTCOMES


def test_every_page_names_only_known_roles() -> None:
    assert all(roles <= set(STAFF_ROLES) for roles in PAGES.values())


entries = st.lists(
    st.builds(
        QueueEntry,
        case_id=st.integers(min_value=1, max_value=10_000),
        assigned_to=st.sampled_from([None, "me", "other"]),
        language=st.sampled_from([None, "zh", "en"]),
        bucket=st.sampled_from(["M1", "M2", "M3"]),
        expected_recovery=st.integers(min_value=0, max_value=50),
        next_action_on=st.none() | st.dates(min_value=date(2026, 1, 20), max_value=date(2026, 1, 28)),
    ),
    max_size=120,
    unique_by=lambda e: e.case_id,
)


class _Candidates:
    """The store's side of the desk's queue page, as its SQL reads (theirs or unassigned, due by today,
    theirs first, then by expected recovery, then id)."""

    def __init__(self, cases: list[QueueEntry]) -> None:
        self.all = cases

    def queue_candidates(self, agent: str, today: date, limit: int, offset: int) -> list[QueueEntry]:
        ok = [
            c
            for c in self.all
            if c.assigned_to in (agent, None) and (c.next_action_on is None or c.next_action_on <= today)
        ]
        ok.sort(key=lambda c: (c.assigned_to != agent, -c.expected_recovery, c.case_id))
        return ok[offset : offset + limit]


@given(
    cases=entries, limit=st.integers(min_value=1, max_value=40), page=st.integers(min_value=1, max_value=7)
)
def test_the_desks_paged_queue_is_the_domains_queue(cases, limit, page) -> None:
    from types import SimpleNamespace

    from arrears.services import desk

    who = Principal("me", "agent", skills=Skills(frozenset({"zh"}), frozenset({"M1", "M2"})))
    today = date(2026, 1, 24)
    fake = SimpleNamespace(desk=_Candidates(cases))
    saved, desk.PAGE = desk.PAGE, page  # small pages: the paging itself is exercised
    try:
        paged = desk.queue_page(fake, who, today, limit)  # type: ignore[arg-type]
    finally:
        desk.PAGE = saved
    assert paged == agent_queue(cases, "me", who.skills, today)[:limit]
