"""`arrears apikey create / revoke` through the Typer app (serve.register), and the key works on the API."""

from __future__ import annotations

import json

import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arrears.entrypoints.cli import serve


def test_apikey_create_and_revoke(api: TestClient, store_url: str) -> None:
    app = typer.Typer()
    serve.register(app)
    runner = CliRunner()
    r = runner.invoke(app, ["apikey", "create", "--role", "strategist", "--name", "zhou", "--json"])
    assert r.exit_code == 0, r.output
    made = json.loads(r.output)
    assert (made["role"], made["name"]) == ("strategist", "zhou") and made["key"].startswith("ak_")
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert api.get("/runs", headers=headers).status_code == 200
    assert runner.invoke(app, ["apikey", "revoke", made["id"]]).exit_code == 0
    assert api.get("/runs", headers=headers).status_code == 401
    r = runner.invoke(app, ["apikey", "create", "--role", "agency"])
    assert r.exit_code != 0
