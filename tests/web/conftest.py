"""The console on a sample store (tests/web/sample.py), SQLite and PostgreSQL, with a clock the test sets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from arrears.entrypoints.api import create_app
from arrears.services.cases import CaseworkConfig
from tests.web.sample import PASSWORD, Clock, build


@pytest.fixture
def sample_store(store_url: str) -> str:
    build(store_url)
    return store_url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_for(tmp_path: Path, clock: Clock) -> Callable[[str], object]:
    def make(url: str) -> object:
        config = CaseworkConfig(
            webhook_secret="test-webhook-secret",
            provider_secret="test-provider-secret",
            token_secret="test-token-secret",
            data_dir=tmp_path,
        )
        app = create_app(url, config)
        app.state.clock = clock
        return app

    return make


@pytest.fixture
def console(sample_store: str, app_for: Callable[[str], object]) -> Iterator[TestClient]:
    with TestClient(app_for(sample_store), follow_redirects=False) as client:  # type: ignore[arg-type]
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the form (its CSRF cookie and field); the answer to the POST."""
    client.cookies.clear()
    form = client.get("/login")
    return client.post(
        "/login", data={"username": name, "password": password, "csrf": csrf_of(form.text), "next": "/"}
    )
