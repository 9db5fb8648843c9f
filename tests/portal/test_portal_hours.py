"""Preferred contact hours chosen in the portal: a compliance fact (preferred_hours) that narrows the
profile's contact hours for that borrower, at plan time and at send time alike (debtor_for → the hours rule)."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from arrears.adapters.profile_file import load_profile
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.decision import decide
from arrears.domain.compliance.facts import debtor_for, parse_hours
from arrears.domain.compliance.model import Attempt, Debtor
from arrears.domain.errors import InputError
from arrears.services.unit_of_work import UnitOfWork
from tests.portal.test_portal_http import link, passed
from tests.web.sample import Clock

SHANGHAI = zone("Asia/Shanghai")


def sms_at(hour: int, minute: int = 0) -> Attempt:
    return Attempt("sms", datetime(2026, 1, 26, hour, minute, tzinfo=SHANGHAI), target="138****5678")


@pytest.mark.parametrize(
    ("hour", "decision", "next_allowed"),
    [
        (8, "defer", "2026-01-26T09:00:00+08:00"),  # the profile allows 08:00, the borrower from 09:00
        (10, "allow", None),
        (12, "defer", "2026-01-27T09:00:00+08:00"),  # past the borrower's 12:00: tomorrow at 09:00
        (21, "defer", "2026-01-27T09:00:00+08:00"),
    ],
)
def test_preferred_hours_narrow_the_profiles_contact_hours(
    hour: int, decision: str, next_allowed: str | None
) -> None:
    debtor = Debtor("B1", ("Asia/Shanghai",), preferred_hours=parse_hours("09:00-12:00"))
    found = decide(load_profile("cn"), debtor, [], sms_at(hour))
    assert found.decision == decision
    assert found.next_allowed_at == (datetime.fromisoformat(next_allowed) if next_allowed else None)


def test_hours_outside_the_profiles_leave_the_profiles_window() -> None:
    debtor = Debtor("B1", ("Asia/Shanghai",), preferred_hours=parse_hours("06:00-07:30"))
    assert decide(load_profile("cn"), debtor, [], sms_at(10)).decision == "allow"
    for bad in ("9-12", "12:00-09:00", "09:00"):
        with pytest.raises(InputError):
            parse_hours(bad)


def test_the_portal_sets_the_fact_the_run_and_the_dispatcher_read(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    for start, end in (("08:00", "21:00"), ("18:00", "20:00")):  # the second replaces the first
        page = console.post(f"/p/{token}/hours", data={"csrf": csrf, "start": start, "end": end})
        assert page.status_code == 200
    bad = console.post(f"/p/{token}/hours?lang=zh-CN", data={"csrf": csrf, "start": "20:00", "end": "18:00"})
    assert bad.status_code == 400 and "开始时间须早于结束时间" in bad.text
    with UnitOfWork(sample_store) as uow:
        flags = uow.flags.for_borrowers(["B1"])["B1"]
    live = [f for f in flags if f.name == "preferred_hours" and f.cleared_at is None]
    assert [f.value for f in live] == ["18:00-20:00"]
    now = datetime(2026, 1, 26, 10, tzinfo=SHANGHAI)
    debtor = debtor_for("B1", ("Asia/Shanghai",), flags, now, now.date(), "L1", recorded=True)
    assert decide(load_profile("cn"), debtor, [], sms_at(10)).next_allowed_at == datetime(
        2026, 1, 26, 18, tzinfo=SHANGHAI
    )
