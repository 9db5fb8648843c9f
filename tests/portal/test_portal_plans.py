"""Self-serve plans: the offers the plan rules allow today (a settlement only from 60 days past due), accepted
in the portal through the plan service: within the portal's limit active at once with the new schedule shown,
above it waiting in the supervisors' approval queue."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient

from arrears.domain.ledger import compute_position
from arrears.domain.loans import Instalment, Loan
from arrears.domain.plan_offers import offers
from arrears.domain.plans import PlanRules
from arrears.services import plans, portal
from arrears.services.unit_of_work import UnitOfWork
from tests.portal.test_portal_http import link, passed
from tests.web.sample import Clock

EN = {"accept-language": "en"}


def test_offers_are_what_the_plan_rules_allow_with_their_instalments() -> None:
    loan = Loan("X", (Instalment(1, date(2026, 1, 10), 300_000, 0),))
    at_14 = offers(compute_position(loan, date(2026, 1, 24)), PlanRules(), 0)
    assert [(o.id, o.needs_approval) for o in at_14] == [
        ("extension-7", False),
        ("extension-14", False),
        ("extension-30", True),
        ("reinstalment-3", False),
        ("reinstalment-6", True),
    ]
    three = next(o for o in at_14 if o.id == "reinstalment-3")
    assert [(str(due), amount) for due, amount in three.instalments] == [
        ("2026-02-23", 100_700),
        ("2026-03-23", 100_700),
        ("2026-04-23", 100_700),
    ]
    at_70 = offers(compute_position(loan, date(2026, 3, 21)), PlanRules(), 0)
    settle = next(o for o in at_70 if o.id == "settlement-10")
    assert settle.needs_approval and settle.concession == 31_050  # 10 % of 3,000.00 + 105.00 late fee
    assert [(str(due), amount) for due, amount in settle.instalments] == [("2026-04-04", 279_450)]
    assert offers(compute_position(loan, date(2026, 1, 24)), PlanRules(), 1) == []  # one plan open already


def test_three_instalments_chosen_online_start_at_once_and_the_new_schedule_shows(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    page = console.get(f"/p/{token}", headers=EN)
    assert 'value="reinstalment-3"' in page.text and 'value="settlement-10"' not in page.text
    chosen = console.post(f"/p/{token}/plan", data={"csrf": csrf, "offer": "reinstalment-3"}, headers=EN)
    assert chosen.status_code == 200 and "Your plan is in place" in chosen.text
    dues = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", chosen.text)
    assert dues == ["2026-02-23", "2026-03-23", "2026-04-23"]
    with UnitOfWork(sample_store) as uow:
        (plan,) = plans.plans_of(uow, ["L1"])
        assert (plan["status"], plan["requested_by"]) == ("active", "portal:B1")
    again = console.post(f"/p/{token}/plan", data={"csrf": csrf, "offer": "extension-7"}, headers=EN)
    assert again.status_code == 400 and "this offer is not available" in again.text


def test_an_offer_above_the_portal_limit_waits_for_a_supervisor(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    chosen = console.post(f"/p/{token}/plan", data={"csrf": csrf, "offer": "reinstalment-6"}, headers=EN)
    assert chosen.status_code == 200 and "a supervisor will review it" in chosen.text
    with UnitOfWork(sample_store) as uow:
        (waiting,) = uow.plans.awaiting_approval(10)
        assert waiting.loan_id == "L1"
        done = plans.approve_plan(uow, waiting.id, PlanRules(), "super1", "supervisor")
        uow.commit()
    assert done["status"] == "active"
    assert (
        'data-testid="plan-status">My plan: reinstalment · active<'
        in console.get(f"/p/{token}", headers=EN).text
    )


def test_an_unknown_offer_is_refused_and_nothing_is_booked(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    bad = console.post(f"/p/{token}/plan", data={"csrf": csrf, "offer": "settlement-90"}, headers=EN)
    assert bad.status_code == 400
    with UnitOfWork(sample_store) as uow:
        assert plans.plans_of(uow, ["L1"]) == []
        assert portal.audit.entries(uow, subject="loan:L1")[-1].action != "plan.propose"
