"""PIPL requests over the API: the admin exports what is held about a person and erases it (after the
retention period, or before it on a valid request); both audited under the caller; other roles 403."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import loan

Keys = Callable[..., dict[str, str]]


def test_an_admin_exports_and_erases_a_borrower_and_both_are_audited(
    api: TestClient, key: Keys, store_url: str
) -> None:
    admin = key("admin", name="dpo")
    assert api.post("/loans", json=loan("L1", "B1"), headers=admin).status_code == 201

    held = api.get("/borrowers/B1/privacy-export", headers=admin)
    assert held.status_code == 200, held.text
    out = held.json()
    assert out["identity"]["name"] == "张三" and out["identity"]["id_number"] == "110101199003071233"
    assert out["contact"]["phone"] == "13812345678"
    assert [x["id"] for x in out["loans"]] == ["L1"]

    # The loan is open: the retention period has not even started.
    early = api.post("/borrowers/B1/erasure", json={"reason": "asked by phone"}, headers=admin)
    assert early.status_code == 422 and early.json()["field"] == "borrower"
    assert "a loan of theirs is still open" in early.json()["detail"]

    done = api.post(
        "/borrowers/B1/erasure",
        json={"reason": "PIPL §47 request of 2026-12-01", "force_before_retention": True},
        headers=admin,
    )
    assert done.status_code == 200, done.text
    assert done.json()["erased"] is True and done.json()["forced"] is True
    after = api.get("/borrowers/B1/privacy-export", headers=admin).json()
    assert "张三" not in str(after) and "13812345678" not in str(after)
    assert [x["id"] for x in after["loans"]] == ["L1"]  # the ledger stays

    with UnitOfWork(store_url) as uow:
        logged = [(e.action, e.actor) for e in audit.entries(uow, subject="borrower:B1")]
    assert [x for x in logged if x[0].startswith("pii.")] == [
        ("pii.export", "admin:dpo"),
        ("pii.erase", "admin:dpo"),
        ("pii.export", "admin:dpo"),
    ]


def test_only_an_admin_may_export_or_erase(api: TestClient, key: Keys) -> None:
    admin = key("admin")
    assert api.post("/loans", json=loan("L1", "B1"), headers=admin).status_code == 201
    for role in ("supervisor", "agent", "compliance", "strategist"):
        headers = key(role)
        assert api.get("/borrowers/B1/privacy-export", headers=headers).status_code == 403
        erase = api.post("/borrowers/B1/erasure", json={"reason": "x"}, headers=headers)
        assert erase.status_code == 403
    assert api.get("/borrowers/B9/privacy-export", headers=admin).status_code == 404
