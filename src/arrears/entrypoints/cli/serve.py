"""`arrears serve` runs the REST API (uvicorn); `arrears apikey create|revoke` manages staff and system keys."""

from __future__ import annotations

from pathlib import Path

import typer

from arrears.entrypoints.cli.common import console, err_console, print_json
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
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json, docs at /docs) on the store at ARREARS_DB_URL.

    Refuses to start while a secret or the lender's identity is missing or an example value, unless --dev."""
    import uvicorn

    from arrears.adapters.channels.config import load_channels_config
    from arrears.entrypoints.api import create_app
    from arrears.services.cases import load_config
    from arrears.services.production import serve_check

    casework = load_config(config)
    dev_line = serve_check(host, dev, casework, load_channels_config(channels))
    if dev_line:
        err_console.print(dev_line, highlight=False, soft_wrap=True)
    app = create_app(config=casework)
    with UnitOfWork():  # upgrade the store before the first request
        pass
    uvicorn.run(app, host=host, port=port, log_level="info")


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
