"""The console over HTTP: sign-in, sessions, CSRF, lock-out, roles and scopes, and each page."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from arrears.services.unit_of_work import UnitOfWork
from tests.web.conftest import csrf_of, sign_in
from tests.web.sample import TODAY, Clock, at


def test_pages_need_a_session_and_redirect_to_login(console: TestClient) -> None:
    for path in ("/desk", "/accounts/L1", "/approvals", "/outbox", "/strategy", "/compliance"):
        answer = console.get(path, headers={"accept": "text/html"})  # as a browser asks
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=" + path)


def test_sign_in_sets_a_strict_session_cookie_and_lands_on_the_roles_page(console: TestClient) -> None:
    answer = sign_in(console, "agent1")
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "arrears_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert console.get("/").headers["location"] == "/desk"
    page = console.get("/desk")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers


def test_a_wrong_password_is_refused_and_five_lock_the_user(console: TestClient) -> None:
    for _ in range(4):
        assert sign_in(console, "agent1", "wrong password!!").status_code == 401
    locked = sign_in(console, "agent1", "wrong password!!")
    assert (locked.status_code == 401 and "locked" in locked.text) or "锁定" in locked.text
    assert sign_in(console, "agent1").status_code == 401  # the right password, but locked


def test_a_login_form_without_its_csrf_token_is_refused(console: TestClient) -> None:
    console.get("/login")
    answer = console.post("/login", data={"username": "agent1", "password": "correct horse battery"})
    assert answer.status_code == 403


def test_a_post_without_the_sessions_csrf_token_is_refused(console: TestClient) -> None:
    sign_in(console, "super1")
    answer = console.post(
        "/approvals/letters/1", data={"decision": "approve", "ref": "LR-1", "csrf": "forged"}
    )
    assert answer.status_code == 403
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        assert uow.outbox.get(1).status == "awaiting_approval"  # type: ignore[union-attr]


def test_an_idle_session_expires(console: TestClient, clock: Clock) -> None:
    sign_in(console, "agent1")
    clock.now += timedelta(minutes=31)
    assert console.get("/desk").status_code == 303


def test_the_api_keeps_its_accounts_route(console: TestClient) -> None:
    answer = console.get("/accounts/L1", headers={"X-API-Key": "ak_nope_nope"})
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"


def test_sign_out_ends_the_session(console: TestClient) -> None:
    sign_in(console, "agent1")
    page = console.get("/desk")
    assert console.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert console.get("/desk").status_code == 303


def test_roles_open_only_their_pages(console: TestClient) -> None:
    sign_in(console, "agent1")
    assert console.get("/approvals").status_code == 403
    assert console.get("/strategy").status_code == 403
    sign_in(console, "strat1")
    assert console.get("/desk").status_code == 403
    assert console.get("/strategy").status_code == 200
    sign_in(console, "comp1")
    assert console.get("/compliance").status_code == 200
    assert console.get("/approvals").status_code == 403


def test_an_agency_user_sees_only_its_accounts_masked(console: TestClient) -> None:
    sign_in(console, "agency1")
    own = console.get("/accounts/L3")
    assert own.status_code == 200 and "王*" in own.text and "王五" not in own.text
    assert "137****5678" in own.text and "13712345678" not in own.text
    assert console.get("/accounts/L2").status_code == 404  # placed with another agency
    assert console.get("/accounts/L1").status_code == 404  # not placed
    desk = console.get("/desk")
    assert "/accounts/L3" in desk.text and "/accounts/L2" not in desk.text
    reveal = console.post("/accounts/L3/reveal", data={"csrf": csrf_of(own.text)})
    assert reveal.status_code == 404
    opened = console.post(
        "/accounts/L3/disputes",
        data={"csrf": csrf_of(own.text), "category": "harassment", "description": "called at night"},
    )
    assert 'id="dispute-opened"' in opened.text
    other = console.post(
        "/accounts/L2/disputes",
        data={"csrf": csrf_of(own.text), "category": "harassment", "description": "x"},
    )
    assert other.status_code == 404
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        (complaint,) = [uow.disputes.get(i) for i in uow.disputes.ids(loan_ids=["L3"])]
    assert complaint is not None and complaint.kind == "complaint" and complaint.agency_id == "AG1"


def test_the_desk_lists_cases_in_priority_order_with_their_call_tasks(console: TestClient) -> None:
    sign_in(console, "agent1")
    desk = console.get("/desk").text
    order = [desk.index(f"/accounts/{loan}") for loan in ("L1", "L2", "L3")]
    assert order == sorted(order)  # the largest expected recovery first
    assert desk.count("坐席外呼") >= 3 or desk.count("agent_call") >= 3


def test_the_account_page_shows_the_ledger_as_account_show(console: TestClient, cli, clock: Clock) -> None:
    sign_in(console, "agent1")
    page = console.get("/accounts/L1").text
    shown = json.loads(cli("account", "show", "L1", "--as-of", TODAY.isoformat(), "--json").stdout)
    assert f'id="overdue-total" class="num">{shown["overdue"]["total"]}<' in page
    assert f'id="dpd">{shown["dpd"]}<' in page
    assert "张*" in page and "张三" not in page


def test_revealing_the_borrower_is_audited(console: TestClient) -> None:
    sign_in(console, "agent1")
    page = console.get("/accounts/L1")
    shown = console.post("/accounts/L1/reveal", data={"csrf": csrf_of(page.text)})
    assert shown.status_code == 200 and "张三" in shown.text and "13812345678" in shown.text
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        views = [e for e in uow.audit.entries(subject="borrower:B1") if e.action == "pii.view"]
    assert views and views[-1].actor == "agent:agent1"


def test_a_call_at_22_30_is_deferred_and_at_08_00_allowed_then_a_ptp_clears_the_task(
    console: TestClient, clock: Clock
) -> None:
    clock.now = at(TODAY, 22, 30)
    sign_in(console, "agent1")
    page = console.get("/accounts/L1")
    assert "decision-defer" in page.text and "2026-01-25 08:00" in page.text
    refused = console.post(
        "/accounts/L1/calls",
        data={"csrf": csrf_of(page.text), "outcome": "right_party_contact", "note": "too late"},
    )
    assert 'id="call-refused"' in refused.text
    clock.now = at(TODAY + timedelta(days=1), 8, 0)
    sign_in(console, "agent1")  # the evening's session has expired overnight
    page = console.get("/accounts/L1")
    assert "decision-allow" in page.text
    done = console.post(
        "/accounts/L1/calls",
        data={
            "csrf": csrf_of(page.text),
            "outcome": "promise_to_pay",
            "amount": "1000.00",
            "due_on": "2026-01-30",
            "note": "will pay Friday",
        },
    )
    assert 'id="call-recorded"' in done.text, done.text
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        assert uow.agent_tasks.open_for(["L1"]) == []
        assert [p.status for p in uow.promises.of_loans(["L1"])] == ["pending"]
        contacts = [e for e in uow.audit.entries(subject="loan:L1") if e.action == "contact"]
    assert contacts[-1].detail["channel"] == "agent_call" and contacts[-1].detail["outcome"] == "conversation"
    desk = console.get("/desk").text
    assert "/accounts/L1" not in desk and "/accounts/L2" in desk


def test_a_supervisor_approves_a_letter_with_a_reference_and_sees_its_pdf(console: TestClient) -> None:
    sign_in(console, "super1")
    page = console.get("/approvals")
    assert 'id="letter-1"' in page.text
    pdf = console.get("/approvals/letters/1/preview.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    answer = console.post(
        "/approvals/letters/1", data={"csrf": csrf_of(page.text), "decision": "approve", "ref": "LR-2026-001"}
    )
    assert answer.status_code == 303
    rejected = console.post(
        "/approvals/letters/3", data={"csrf": csrf_of(page.text), "decision": "reject", "ref": "LR-2026-002"}
    )
    assert rejected.status_code == 303
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        assert uow.outbox.get(1).status == "pending"  # type: ignore[union-attr]
        assert uow.outbox.get(3).status == "cancelled"  # type: ignore[union-attr]
    missing_ref = console.post(
        "/approvals/letters/5", data={"csrf": csrf_of(page.text), "decision": "approve", "ref": " "}
    )
    assert missing_ref.status_code == 200 and "reference" in missing_ref.text


def test_operations_strategy_and_compliance_pages_render(console: TestClient) -> None:
    sign_in(console, "admin1")
    outbox = console.get("/outbox?status=awaiting_approval")
    assert outbox.status_code == 200 and "lawyer_letter_d11" in outbox.text
    assert console.get("/outbox?status=nonsense").status_code == 400
    listed = console.get("/outbox")
    assert 'id="placement-L3"' in listed.text
    recalled = console.post("/outbox/placements/L3/recall", data={"csrf": csrf_of(listed.text)})
    assert recalled.status_code == 303
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        assert uow.agencies.holder("L3", TODAY) is None
    strategy = console.get("/strategy?from=2026-01-01&to=2026-01-24")
    assert strategy.status_code == 200 and "jd-baitiao-11day.yaml" in strategy.text
    compliance = console.get("/compliance?from=2026-01-20&to=2026-01-24&borrower=B1")
    assert compliance.status_code == 200 and 'id="audit-verdict"' in compliance.text


def test_the_language_is_chosen_and_remembered(console: TestClient) -> None:
    sign_in(console, "agent1")
    assert "我的队列" in console.get("/desk").text
    answer = console.get("/lang/en?next=/desk")
    assert answer.status_code == 303 and answer.headers["location"] == "/desk"
    assert "My queue" in console.get("/desk").text
    assert console.get("/lang/en?next=//evil.example").headers["location"] == "/"


def test_docs_are_served_from_the_apps_own_assets(console: TestClient) -> None:
    docs = console.get("/docs")
    assert docs.status_code == 200 and "/static/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert console.get("/static/swagger-ui-bundle.js").status_code == 200


def test_a_plan_over_the_agents_limit_waits_for_a_supervisors_approval(console: TestClient) -> None:
    sign_in(console, "agent1")
    page = console.get("/accounts/L2")
    proposed = console.post(
        "/accounts/L2/plans", data={"csrf": csrf_of(page.text), "kind": "extension", "days": "45"}
    )
    assert proposed.status_code == 200 and "待审批" in proposed.text  # over the agent's 30 days
    sign_in(console, "super1")
    approvals = console.get("/approvals")
    (plan_id,) = [p.id for p in _plans(console, "L2")]
    assert f'id="plan-{plan_id}"' in approvals.text
    answer = console.post(
        f"/approvals/plans/{plan_id}",
        data={"csrf": csrf_of(approvals.text), "decision": "approve", "ref": "PLAN-7"},
    )
    assert answer.status_code == 303
    assert [p.status for p in _plans(console, "L2")] == ["active"]


def _plans(console: TestClient, loan_id: str) -> list:
    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        return list(uow.plans.of_loans([loan_id]))


def test_the_desk_lists_the_open_field_visits_with_addresses_masked(console: TestClient) -> None:
    from datetime import UTC, datetime

    with UnitOfWork(console.app.state.store_url) as uow:  # type: ignore[attr-defined]
        uow.visits.add(
            {
                "idempotency_key": "L1:2026-03-11:home_visit:visit",
                "loan_id": "L1", "borrower_id": uow.loans.record("L1").borrower_id, "region": "上海",
                "team": "field-上海", "day": datetime(2026, 3, 11).date(),
                "window_start": datetime(2026, 3, 11, 1, tzinfo=UTC), "window_end": datetime(2026, 3, 11, 10, tzinfo=UTC),
                "two_person": True, "recording": True, "status": "open",
            }
        )  # fmt: skip
        uow.commit()
    sign_in(console, "agent1")
    desk = console.get("/desk").text
    assert 'id="visits"' in desk and "field-上海" in desk and 'id="visit-1"' in desk
