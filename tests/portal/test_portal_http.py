"""The borrower's portal over HTTP: links (forged / expired / revoked / other borrower → the generic page and no
data), the step-up (last 4 of the ID number, locked after 5 wrong answers) and each form, through the app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from arrears.services import portal
from arrears.services.accounts import show_account
from arrears.services.unit_of_work import UnitOfWork
from tests.web.sample import TODAY, Clock

GENERIC = "This link does not work"


def link(store_url: str, clock: Clock, loan_id: str = "L1", ttl: timedelta = timedelta(days=7)) -> str:
    with UnitOfWork(store_url) as uow:
        issued = portal.issue_link(uow, loan_id, clock.now, ttl=ttl, by="test")
        uow.commit()
    return issued.token


def overdue_total(store_url: str, loan_id: str = "L1") -> str:
    with UnitOfWork(store_url) as uow:
        return str(show_account(uow, loan_id, TODAY).position.to_dict()["overdue"]["total"])  # type: ignore[index]


def passed(client: TestClient, token: str) -> str:
    """Pass the step-up; the page's CSRF field."""
    answer = client.post(f"/p/{token}/step-up", data={"answer": "1233"})
    assert answer.status_code == 303
    page = client.get(f"/p/{token}", headers={"accept-language": "en"})
    assert page.status_code == 200 and "Promise to pay" in page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_a_link_shows_the_balance_as_the_ledger_computes_it_and_nothing_more(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    page = console.get(f"/p/{token}", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert f'data-testid="overdue-total">{overdue_total(sample_store)}<' in page.text
    assert "Confirm it is you" in page.text
    assert "Promise to pay" not in page.text and "Messages sent to me" not in page.text
    assert "张三" not in page.text and "1233" not in page.text


@pytest.mark.parametrize("case", ["forged", "expired", "revoked", "other_cookie"])
def test_unusable_links_get_the_generic_page_and_no_data(
    console: TestClient, sample_store: str, clock: Clock, case: str
) -> None:
    token = link(sample_store, clock)
    if case == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "expired":
        clock.now += timedelta(days=8)
    elif case == "revoked":
        with UnitOfWork(sample_store) as uow:
            portal.revoke_links(uow, "L1", clock.now, by="test")
            uow.commit()
    else:  # another borrower's stepped-up cookie does not open L1's details or forms
        other = link(sample_store, clock, "L2")
        passed(console, other)
        cookie = console.cookies.get("arrears_portal", path=f"/p/{other}")
        page = console.post(
            f"/p/{token}/opt-out",
            data={"channel": "sms", "csrf": "x"},
            cookies={"arrears_portal": cookie or ""},
            headers={"accept-language": "en"},
        )
        assert page.status_code == 403 and GENERIC in page.text
        return
    page = console.get(f"/p/{token}", headers={"accept-language": "en"})
    assert page.status_code == 404
    assert GENERIC in page.text
    assert overdue_total(sample_store) not in page.text and "L1" not in page.text


def test_the_step_up_locks_the_link_after_five_wrong_answers(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    for n in range(4):
        page = console.post(f"/p/{token}/step-up", data={"answer": "0000"}, headers={"accept-language": "en"})
        assert page.status_code == 200 and f"Tries left: {4 - n}" in page.text
    page = console.post(f"/p/{token}/step-up", data={"answer": "0000"}, headers={"accept-language": "en"})
    assert GENERIC in page.text
    # even the right answer no longer opens it
    assert console.post(f"/p/{token}/step-up", data={"answer": "1233"}).status_code == 404
    with UnitOfWork(sample_store) as uow:
        steps = [e for e in portal.audit.entries(uow, subject="loan:L1") if e.action == "portal.step_up"]
    assert [e.detail["passed"] for e in steps] == [False] * 5
    assert steps[-1].detail["locked"] is True
    assert all("1233" not in str(e.detail) and "0000" not in str(e.detail) for e in steps)


def test_forms_need_the_step_up_and_the_csrf_field(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    assert console.post(f"/p/{token}/autodebit", data={"csrf": "x"}).status_code == 403
    passed(console, token)
    assert console.post(f"/p/{token}/autodebit", data={"csrf": "wrong"}).status_code == 403


def test_a_promise_a_dispute_an_autodebit_report_and_an_opt_out_are_recorded(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    en = {"accept-language": "en"}
    due = (TODAY + timedelta(days=3)).isoformat()
    too_late = (TODAY + timedelta(days=30)).isoformat()
    bad = console.post(
        f"/p/{token}/promise", data={"csrf": csrf, "amount": "100.00", "due_on": too_late}, headers=en
    )
    assert bad.status_code == 400 and "within 14 days" in bad.text
    ok = console.post(
        f"/p/{token}/promise", data={"csrf": csrf, "amount": "100.00", "due_on": due}, headers=en
    )
    assert ok.status_code == 200 and "promise to pay is recorded" in ok.text
    assert console.post(f"/p/{token}/autodebit", data={"csrf": csrf}, headers=en).status_code == 200
    disp = console.post(
        f"/p/{token}/dispute",
        data={"csrf": csrf, "category": "wrong_amount", "description": "I paid 500 on the 9th"},
        headers=en,
    )
    assert disp.status_code == 200 and "collection pauses" in disp.text
    assert (
        console.post(f"/p/{token}/opt-out", data={"csrf": csrf, "channel": "sms"}, headers=en).status_code
        == 200
    )
    with UnitOfWork(sample_store) as uow:
        assert uow.promises.has_pending(["L1"])
        assert [d["category"] for d in portal.disputes.list_disputes(uow, loan_ids=["L1"], today=TODAY)] == [
            "wrong_amount"
        ]
        assert uow.flags.open_ids("B1", "opt_out", "sms", "", None)
        assert uow.flags.open_ids("B1", "hardship", "", "L1", None)
        actions = {e.action for e in portal.audit.entries(uow, subject="loan:L1")}
    assert {
        "portal.open",
        "portal.step_up",
        "promise.make",
        "portal.autodebit_failed",
        "dispute.open",
    } <= actions


@pytest.mark.parametrize(
    ("query", "header", "says"),
    [
        ("?lang=zh-TW", "en", "確認是您本人"),
        ("", "zh-CN,zh;q=0.9", "确认是您本人"),
        ("", "zh-TW", "確認是您本人"),
        ("?lang=en", "zh-CN", "Confirm it is you"),
    ],
)
def test_the_page_speaks_the_borrowers_language(
    console: TestClient, sample_store: str, clock: Clock, query: str, header: str, says: str
) -> None:
    token = link(sample_store, clock)
    page = console.get(f"/p/{token}{query}", headers={"accept-language": header})
    assert page.status_code == 200 and says in page.text


def test_guessing_tokens_is_rate_limited_per_address(console: TestClient) -> None:
    codes = [console.get(f"/p/guess{n:017d}").status_code for n in range(30)]
    assert codes[:20] == [404] * 20  # the burst, each the generic page
    assert 429 in codes[20:]
    page = console.get("/p/guess", headers={"accept-language": "en"})
    assert page.status_code == 429 and GENERIC in page.text
