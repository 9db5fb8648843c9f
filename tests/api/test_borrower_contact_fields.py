"""A new borrower created with a loan through the API carries every contact field the importer takes:
e-mail and the postal address letters are sent to (both sealed at rest, like the rest)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from arrears.services.unit_of_work import UnitOfWork

ADDRESS = "北京市朝阳区建国路88号2单元301室"


def test_the_api_takes_an_address_and_an_email_with_a_new_borrower(
    api: TestClient, key: Callable[..., dict[str, str]], store_url: str
) -> None:
    body = {
        "loan_id": "LA1",
        "product": "baitiao-30d",
        "currency": "CNY",
        "borrower": {"id": "BA1", "name": "王五", "email": "ww@example.org", "address": ADDRESS},
        "instalments": [{"seq": 1, "due": "2026-02-15", "principal": "100.00"}],
    }
    response = api.post("/loans", json=body, headers=key("admin"))
    assert response.status_code == 201, response.text
    with UnitOfWork(store_url) as uow:
        borrower = uow.borrowers.get("BA1")
    assert borrower is not None and (borrower.email, borrower.address) == ("ww@example.org", ADDRESS)
