"""`arrears serve` runs the REST API (uvicorn); `arrears apikey create|revoke` manages staff and system keys."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from arrears.entrypoints.cli.console import console, err_console, print_json
from arrears.services import audit
from arrears.services.auth import create_api_key, revoke_api_key
from arrears.services.unit_of_work import UnitOfWork

apikey_app = typer.Typer(help="API keys for staff and systems (stored hashed).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    config: str = typer.Option(
        None,
        "--config",
        help="Case-work config YAML (limits, SLA, secrets; default ARREARS_CASEWORK_CONFIG).",
    ),
    channels: Path | None = typer.Option(
        None, "--channels", help="channels.yaml with the lender's identity (default ARREARS_CHANNELS)."
    ),
    dev: bool = typer.Option(
        False, "--dev", help="Development setup: example secrets and lender allowed, loopback only."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (each its own app)."),
    request_timeout: float = typer.Option(
        None,
        "--request-timeout",
        min=0.1,
        max=3600,
        help="Seconds a request may use the store, statement timeout included; then 503 (default 10).",
    ),
    rate: float = typer.Option(
        None, "--rate", min=0, help="Requests per second per API key and worker; 0: no limit (default 20)."
    ),
    burst: int = typer.Option(None, "--burst", min=1, help="Requests an API key may burst (default 60)."),
    heavy_slots: int = typer.Option(
        None, "--heavy-slots", min=1, help="Heavy reads (lists) running at once per worker (default 1)."
    ),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log every request."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) on the store at ARREARS_DB_URL.

    Refuses to start while a secret or the lender's identity is missing or an example value, unless --dev."""
    import uvicorn

    from arrears.adapters.casework_file import CONFIG_ENV, load_config
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.store.limits import POOL_TIMEOUT_ENV
    from arrears.entrypoints.api import create_app
    from arrears.entrypoints.api.limits import ApiLimits
    from arrears.entrypoints.startup_checks import serve_check

    casework = load_config(config)
    dev_line = serve_check(host, dev, casework, load_channels_config(channels))
    if dev_line:
        err_console.print(dev_line, highlight=False, soft_wrap=True)
    chosen = {"request_seconds": request_timeout, "rate": rate, "burst": burst, "heavy_slots": heavy_slots}
    limits = replace(ApiLimits.from_env(), **{k: v for k, v in chosen.items() if v is not None})
    if workers > 1:  # each worker process builds its app from the environment it inherits
        os.environ.update(limits.to_env())
        if not os.environ.get(POOL_TIMEOUT_ENV):  # a connection waited for no longer than a request may run
            os.environ[POOL_TIMEOUT_ENV] = str(max(1, math.ceil(limits.request_seconds)))
        if config:
            os.environ[CONFIG_ENV] = str(Path(config).resolve())
    with UnitOfWork():  # upgrade the store before the first request
        pass
    common: dict[str, Any] = {"host": host, "port": port, "log_level": "info"}
    if not access_log:
        common["access_log"] = False
    if workers == 1:
        uvicorn.run(create_app(config=casework, api_limits=limits), **common)
    else:
        uvicorn.run("arrears.entrypoints.api:app_from_environment", factory=True, workers=workers, **common)


@apikey_app.command("create")
def create(
    role: str = typer.Option(
        ..., "--role", help="admin, strategist, agent, supervisor, compliance or agency."
    ),
    name: str = typer.Option(None, "--name", help="Who the key belongs to (the audit log's actor)."),
    agency: str = typer.Option(None, "--agency", help="The agency an agency key is confined to."),
    language: list[str] = typer.Option([], "--language", help="Agent skill: a language (repeatable)."),
    bucket: list[str] = typer.Option([], "--bucket", help="Agent skill: a bucket such as M1 (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    with UnitOfWork() as uow:
        new = create_api_key(
            uow,
            name=name or agency or role,
            role=role,
            agency_id=agency,
            languages=tuple(language),
            buckets=tuple(bucket),
        )
        audit.append(
            uow,
            audit.default_actor(),
            "apikey.create",
            f"apikey:{new.id}",
            {"role": role, "agency": agency, "name": new.name},
        )
        uow.commit()
    if json_out:
        print_json(
            {"id": new.id, "key": new.key, "name": new.name, "role": new.role, "agency": new.agency_id}
        )
    else:
        console.print(f"key {new.id} ({new.role}, {new.name}) — shown once:", highlight=False)
        print(new.key)


@apikey_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (the part after ak_).")) -> None:
    """Revoke a key at once."""
    with UnitOfWork() as uow:
        if not revoke_api_key(uow, key_id):
            from arrears.domain.errors import NotFound

            raise NotFound(f"no active key {key_id!r}")
        audit.append(uow, audit.default_actor(), "apikey.revoke", f"apikey:{key_id}", {})
        uow.commit()
    console.print(f"key {key_id} revoked", highlight=False)
