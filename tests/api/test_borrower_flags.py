"""`GET|POST /borrowers/{id}/flags` on SQLite and PostgreSQL: set → get → clear with the caller as `by`,
the role walls (who may set which facts, who may clear), an agency confined to its borrowers and their
placed loans, and problem+json 403 / 404 / 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import loan
from tests.api.test_walls import PROBLEM, setup_two_agencies

Keys = Callable[..., dict[str, str]]
PHONE = "13812345678"


def _post(api: TestClient, who: dict[str, str], borrower: str = "B1", **body: Any) -> Any:
    return api.post(f"/borrowers/{borrower}/flags", json={"reason": "on the phone", **body}, headers=who)


def test_set_get_clear_through_the_api(api: TestClient, key: Keys, store_url: str) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)
    compliance = key("compliance", "zhao")
    r = _post(api, compliance, action="set", flag="work_number", value="02166668888")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "action": "set",
        "borrower_id": "B1",
        "flag": "work_number",
        "ids": [1],
        "changed": True,
    }
    r = _post(api, compliance, action="set", flag="hardship", debt="L1", until="2199-12-31",
              effective_at="2026-01-05T09:00:00+08:00")  # fmt: skip
    assert r.status_code == 200, r.text
    again = _post(api, compliance, action="set", flag="work_number", value="02166668888")
    assert (again.status_code, again.json()["changed"]) == (200, False)

    r = api.get("/borrowers/B1/flags", headers=key("supervisor"))
    assert r.status_code == 200, r.text
    view = r.json()
    assert set(view) == {"borrower", "at", "in_force", "history"}
    assert view["borrower"]["phone"] == "138****5678"
    assert PHONE not in r.text and "02166668888" not in r.text and "张三" not in r.text
    rows = {x["flag"]: x for x in view["in_force"]}
    assert rows["work_number"]["value"] == "021****8888"
    assert (rows["work_number"]["set_by"], rows["work_number"]["source"]) == ("compliance:zhao", "api")
    assert (rows["hardship"]["debt"], rows["hardship"]["until"]) == ("L1", "2199-12-31")
    assert rows["hardship"]["effective_at"] == "2026-01-05T01:00:00+00:00"

    r = _post(api, key("supervisor", "li"), action="clear", flag="hardship", debt="L1", reason="back at work")
    assert r.status_code == 200, r.text
    assert r.json()["ids"] == [2]
    view = api.get("/borrowers/B1/flags", headers=admin).json()
    assert [x["flag"] for x in view["in_force"]] == ["work_number"]
    cleared = next(x for x in view["history"] if x["flag"] == "hardship")
    assert (cleared["in_force"], cleared["cleared_by"], cleared["clear_reason"]) == (
        False,
        "supervisor:li",
        "back at work",
    )
    with UnitOfWork(store_url) as uow:
        entries = audit.entries(uow, subject="borrower:B1")
        assert audit.verify(uow).ok
    assert [(e.action, e.actor) for e in entries] == [
        ("borrower.flag.set", "compliance:zhao"),
        ("borrower.flag.set", "compliance:zhao"),
        ("borrower.flag.clear", "supervisor:li"),
    ]
    assert all(e.detail["source"] == "api" for e in entries)


def test_roles_who_may_read_set_and_clear(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)
    agent = key("agent", "wang")
    # an agent records what restricts contact, heard on a call ...
    for body in (
        {"flag": "cease"},
        {"flag": "opt_out", "channel": "sms"},
        {"flag": "attorney", "value": "金诚律师事务所"},
        {"flag": "work_number", "value": "02166668888"},
        {"flag": "employer_prohibits_contact"},
    ):
        r = _post(api, agent, action="set", **body)
        assert r.status_code == 200, (body, r.text)
    assert api.get("/borrowers/B1/flags", headers=agent).status_code == 200
    # ... but neither what allows contact again or needs checking, nor any clear
    for body in (
        {"action": "set", "flag": "consent", "channel": "sms"},
        {"action": "set", "flag": "deceased"},
        {"action": "set", "flag": "hardship", "debt": "L1"},
        {"action": "clear", "flag": "cease"},
    ):
        r = _post(api, agent, **body)
        assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM), (body, r.text)
        assert "may not" in r.json()["detail"]
    # strategists and borrowers: neither read nor write
    token = api.post("/auth/borrower-tokens", json={"borrower_id": "B1"}, headers=admin).json()["token"]
    for who in (key("strategist"), {"Authorization": f"Bearer {token}"}):
        assert api.get("/borrowers/B1/flags", headers=who).status_code == 403
        assert _post(api, who, action="set", flag="cease").status_code == 403
    assert api.get("/borrowers/B1/flags").status_code == 401
    # compliance, supervisor and admin: every fact, and clears
    for role in ("compliance", "supervisor", "admin"):
        who = key(role)
        assert _post(api, who, action="set", flag="deceased", borrower="B2").status_code == 200
        assert _post(api, who, action="clear", flag="deceased", borrower="B2").status_code == 200
    assert len(api.get("/borrowers/B2/flags", headers=admin).json()["history"]) == 3


def test_an_agency_sees_and_sets_only_its_borrowers(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)  # L1 (B1) with AG1, L2 (B2) with AG2, L3 (B3) nowhere
    assert api.post("/loans", json=loan("L4", "B1"), headers=admin).status_code == 201  # B1's, not placed
    compliance = key("compliance")
    for debt in ("L1", "L4"):
        assert _post(api, compliance, action="set", flag="dispute", debt=debt).status_code == 200
    ag1 = key("agency", "ag1", agency="AG1")
    r = _post(api, ag1, action="set", flag="cease", channel="agent_call")
    assert r.status_code == 200, r.text
    view = api.get("/borrowers/B1/flags", headers=ag1).json()
    # the facts about B1 as a whole and about L1, not about L4 (not placed with AG1)
    assert sorted((x["flag"], x["debt"]) for x in view["history"]) == [("cease", None), ("dispute", "L1")]
    assert len(api.get("/borrowers/B1/flags", headers=compliance).json()["history"]) == 3
    for borrower in ("B2", "B3", "B9"):  # another agency's, unplaced, unknown: all 404, nothing to probe
        r = api.get(f"/borrowers/{borrower}/flags", headers=ag1)
        assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)
        assert _post(api, ag1, borrower=borrower, action="set", flag="cease").status_code == 404
    assert _post(api, ag1, action="set", flag="dispute", debt="L1").status_code == 403
    assert _post(api, ag1, action="clear", flag="cease", channel="agent_call").status_code == 403


def test_bad_input_is_a_problem_naming_the_field(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    setup_two_agencies(api, admin)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"action": "set", "flag": "snooze"}, 422, "flag"),
        ({"action": "set", "flag": "deceased", "channel": "sms"}, 422, "channel"),
        ({"action": "set", "flag": "opt_out"}, 422, "channel"),
        ({"action": "set", "flag": "work_number"}, 422, "value"),
        ({"action": "set", "flag": "cease", "until": "2026-05-01"}, 422, "until"),
        ({"action": "set", "flag": "hardship", "debt": "L9"}, 422, "debt"),
        ({"action": "set", "flag": "hardship", "debt": "L2"}, 422, "debt"),  # B2's loan
        ({"action": "set", "flag": "cease", "reason": "  "}, 422, "reason"),
        ({"action": "set", "flag": "cease", "reason": ""}, 422, "reason"),
        ({"action": "set", "flag": "cease", "effective_at": "2026-01-05T09:00:00"}, 422, "effective_at"),
        ({"action": "remove", "flag": "cease"}, 422, "action"),
        ({"action": "clear", "flag": "cease"}, 422, "flag"),  # not in force
        ({"action": "clear", "flag": "hardship", "until": "2026-05-01"}, 422, "until"),
        ({"action": "set", "flag": "cease", "by": "someone else"}, 422, "by"),  # the caller is `by`
    ]
    for body, status, field in cases:
        r = api.post("/borrowers/B1/flags", json={"reason": "r", **body}, headers=admin)
        assert (r.status_code, r.headers["content-type"]) == (status, PROBLEM), (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    r = api.post("/borrowers/B1/flags", json={"action": "set", "flag": "cease"}, headers=admin)
    assert (r.status_code, r.json()["field"]) == (422, "reason")
    r = _post(api, admin, borrower="B9", action="set", flag="cease")
    assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)
    assert api.get("/borrowers/B9/flags", headers=admin).status_code == 404
    assert api.get("/borrowers/B1/flags", headers=admin).json()["history"] == []  # nothing was written
