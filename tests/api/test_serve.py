"""`arrears serve --workers N`: uvicorn runs the app factory in each worker process, which builds its app
(store, config, limits) from the environment serve leaves it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from arrears.entrypoints.api import app_from_environment
from arrears.entrypoints.api.limits import ApiLimits
from arrears.services.auth import create_api_key
from arrears.services.unit_of_work import UnitOfWork
from tests.api.conftest import loan

SERVE_ENV = (*ApiLimits().to_env(), "ARREARS_DB_POOL_TIMEOUT", "ARREARS_CASEWORK_CONFIG")


def test_serve_with_workers_hands_each_worker_the_factory_and_the_limits(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    for name in SERVE_ENV:  # serve sets them for its workers; put them back afterwards
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("ARREARS_DB_URL", f"sqlite:///{tmp_path}/store.db")
    assert cli("db", "upgrade").code == 0  # serve opens an existing store only
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    result = cli("serve", "--dev", "--workers", "3", "--rate", "5", "--burst", "7", "--request-timeout", "4")
    assert result.code == 0, result.stderr
    [(app, kw)] = calls
    assert app == "arrears.entrypoints.api:app_from_environment"
    assert (kw["factory"], kw["workers"], kw["host"]) == (True, 3, "127.0.0.1")
    assert (os.environ["ARREARS_API_RATE"], os.environ["ARREARS_API_BURST"]) == ("5.0", "7")
    assert os.environ["ARREARS_DB_POOL_TIMEOUT"] == "4"
    worker_app = app_from_environment()  # what each worker builds
    assert worker_app.state.limits == ApiLimits(request_seconds=4.0, rate=5.0, burst=7)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_workers_serve_payments_and_keys(store_url: str, tmp_path: Path) -> None:
    with UnitOfWork(store_url) as uow:
        admin = {"Authorization": f"Bearer {create_api_key(uow, name='admin', role='admin').key}"}
        uow.commit()
    port = _free_port()
    env = {**os.environ, "ARREARS_DB_URL": store_url, "ARREARS_WEBHOOK_SECRET": "two-workers-secret"}
    command = [sys.executable, "-m", "arrears.entrypoints.cli", "serve", "--dev", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "2", "--no-access-log"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.stderr
            time.sleep(0.3)
        assert httpx.post(f"{base}/loans", json=loan("L1", "B1"), headers=admin).status_code == 201
        for i in range(6):  # new connections: the kernel spreads them over the workers
            raw = json.dumps(
                {"payment_id": f"P{i}", "loan_id": "L1", "paid_on": "2026-01-15", "amount": "1.00"}
            )
            signature = hmac.new(b"two-workers-secret", raw.encode(), hashlib.sha256).hexdigest()
            headers = {"X-Signature": f"sha256={signature}", "Idempotency-Key": f"k{i}"}
            r = httpx.post(f"{base}/webhooks/payments", content=raw, headers=headers)
            assert r.status_code == 200 and r.json()["recorded"], r.text
        assert httpx.get(f"{base}/accounts/L1", headers=admin).status_code == 200
    finally:
        server.terminate()
        server.wait(30)
