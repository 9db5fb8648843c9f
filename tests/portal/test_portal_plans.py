"""Self-serve plans: the offers the plan rules allow today (a settlement only from 60 days past due), accepted
in the portal through the plan service: within the portal's limit active at once with the new schedule shown,
above it waiting in the supervisors' approval queue."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient

from arrears.domain.checkout import PaidNotice
from arrears.domain.ledger import compute_position
from arrears.domain.loans import Instalment, Loan
from arrears.domain.plan_offers import offers
from arrears.domain.plans import PlanRules
from arrears.domain.portal import token_hash
from arrears.services import checkout, plans, portal
from arrears.services.accounts import show_account
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.portal.test_portal_http import link, passed
from tests.web.sample import TODAY, Clock

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


class StubProvider:
    """A provider that accepts every checkout (the HTTP protocol is tested in test_portal_pay.py)."""

    def create_checkout(
        self, order: object, subject: str, notify_url: str, return_url: str
    ) -> tuple[str, str]:
        return "T1", "https://provider.test/checkout/T1"


def test_what_borrowers_do_in_the_portal_are_contact_outcomes_the_kpis_count(
    console: TestClient, sample_store: str, clock: Clock, cli: Callable[..., CliResult]
) -> None:
    one = link(sample_store, clock, "L1")
    csrf = passed(console, one)
    assert console.post(f"/p/{one}/autodebit", data={"csrf": csrf}).status_code == 200
    with UnitOfWork(sample_store) as uow:  # L2 pays all it owes through the portal's checkout
        two = uow.portal_links.get(token_hash(link(sample_store, clock, "L2")))
        assert two is not None
        owed = show_account(uow, "L2", TODAY).position.outstanding.total
        checkout.start_checkout(
            uow, two, owed, TODAY, clock.now, StubProvider(), notify_url="n", return_url="r?{order}"
        )
        (order,) = uow.checkout_orders.of_loan("L2")
        paid = PaidNotice(order.order_id, "T1", owed, "CNY", clock.now, "N1")
        assert checkout.book_notice(uow, paid, CaseworkConfig())["recorded"] is True
        uow.commit()
    with UnitOfWork(sample_store) as uow:
        portal_contacts = [
            (c.loan_id, c.outcome)
            for c in uow.activity.contacts(clock.now - timedelta(hours=1), clock.now + timedelta(hours=1))
            if c.channel == "portal"
        ]
        stored = uow.portal_links.get(token_hash(one))
        assert stored is not None  # "messages sent to me" are not the borrower's own acts
        assert all(
            c.channel != "portal" for c in portal.messages(uow, stored, clock.now + timedelta(minutes=1))
        )
    assert portal_contacts == [("L1", "autodebit"), ("L2", "paid")]
    done = cli("kpi", "--from", TODAY.isoformat(), "--to", TODAY.isoformat(), "--json")
    assert done.code == 0, done.stderr
    kpis = json.loads(done.stdout)
    assert kpis["delinquent_at_start"] == 3
    assert (kpis["self_served"], kpis["self_serve_rate"]) == (2, 0.6667)
    assert (kpis["cured_through_portal"], kpis["portal_cure_rate"]) == (1, 0.3333)  # L2 paid in full
