"""An API client on a fresh store (SQLite and PostgreSQL) and keys for every staff role."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from arrears.entrypoints.api import create_app
from arrears.services.auth import create_api_key
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork

WEBHOOK_SECRET = "test-webhook-secret"
PROVIDER_SECRET = "test-provider-secret"


@pytest.fixture
def api(store_url: str, tmp_path: Path) -> Iterator[TestClient]:
    config = CaseworkConfig(
        webhook_secret=WEBHOOK_SECRET,
        provider_secret=PROVIDER_SECRET,
        token_secret="test-token-secret",
        data_dir=tmp_path,
    )
    with TestClient(create_app(store_url, config)) as client:
        yield client


@pytest.fixture
def key(store_url: str) -> Callable[..., dict[str, str]]:
    """key(role, name=..., agency=...) → the Authorization header of a new API key."""

    def make(
        role: str, name: str | None = None, agency: str | None = None, **skills: tuple[str, ...]
    ) -> dict[str, str]:
        with UnitOfWork(store_url) as uow:
            new = create_api_key(uow, name=name or role, role=role, agency_id=agency, **skills)
            uow.commit()
        return {"Authorization": f"Bearer {new.key}"}

    return make


LOAN = {
    "loan_id": "L1",
    "borrower": {
        "id": "B1",
        "name": "张三",
        "phone": "13812345678",
        "id_number": "110101199003071233",
        "language": "zh",
    },
    "product": "baitiao-3",
    "currency": "CNY",
    "opened_on": "2025-12-10",
    "instalments": [
        {"seq": 1, "due": "2026-01-10", "principal": "1000.00"},
        {"seq": 2, "due": "2026-02-10", "principal": "1000.00"},
        {"seq": 3, "due": "2026-03-10", "principal": "1000.00"},
    ],
}


def loan(loan_id: str, borrower_id: str) -> dict[str, object]:
    return {**LOAN, "loan_id": loan_id, "borrower": {**LOAN["borrower"], "id": borrower_id}}  # type: ignore[dict-item]


def finished_job(api: TestClient, accepted: httpx.Response, headers: dict[str, str]) -> dict[str, Any]:
    """The job a 202 answer started, once it has finished (polled at its Location)."""
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    deadline = time.monotonic() + 60
    while True:
        job = api.get(location, headers=headers).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.05)
