"""`arrears portal link|revoke`: the borrower's portal links (docs/portal.md)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import typer

from arrears.entrypoints.cli.console import console, print_json

BASE_URL_ENV = (
    "ARREARS_PORTAL_BASE_URL"  # services.portal.BASE_URL_ENV (not imported: CLI start-up stays light)
)
DEV_BASE_URL = "http://127.0.0.1:8000"

portal_app = typer.Typer(help="The borrower's portal: signed links to one loan's page.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(portal_app, name="portal")


def base_url(dev: bool) -> str:
    """ARREARS_PORTAL_BASE_URL, or the local server's with --dev; refused otherwise."""
    from arrears.domain.errors import InputError

    found = os.environ.get(BASE_URL_ENV, "").strip()
    if found:
        if not found.startswith(("https://", "http://")):
            raise InputError(f"{BASE_URL_ENV} must start with https:// or http://", field=BASE_URL_ENV)
        return found
    if dev:
        return DEV_BASE_URL
    raise InputError(f"set {BASE_URL_ENV} (the portal's public address), or pass --dev", field=BASE_URL_ENV)


@portal_app.command("link")
def link(
    loan_id: str = typer.Argument(..., help="The loan the link opens."),
    ttl: str = typer.Option("7d", "--ttl", help="How long it works: 7d, 12h, 30m (at most 90d)."),
    dev: bool = typer.Option(False, "--dev", help=f"Use {DEV_BASE_URL} when {BASE_URL_ENV} is unset."),
    json_out: bool = typer.Option(False, "--json", help='Print {"url": ..., "expires_at": ...}.'),
) -> None:
    """Make a new link to the loan's portal page and print it."""
    from arrears.domain.portal import parse_ttl
    from arrears.services.audit import default_actor
    from arrears.services.portal import issue_link
    from arrears.services.unit_of_work import UnitOfWork

    base = base_url(dev)
    lifetime = parse_ttl(ttl)
    with UnitOfWork() as uow:
        issued = issue_link(uow, loan_id, datetime.now(UTC), ttl=lifetime, by=default_actor())
        uow.commit()
    out = {"url": issued.url(base), "expires_at": issued.expires_at.isoformat()}
    if json_out:
        print_json(out)
    else:
        console.print(f"{out['url']}  (until {out['expires_at']})", highlight=False, soft_wrap=True)


@portal_app.command("revoke")
def revoke(loan_id: str = typer.Argument(..., help="The loan whose links stop working.")) -> None:
    """Revoke every live link of a loan."""
    from arrears.services.audit import default_actor
    from arrears.services.portal import revoke_links
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        count = revoke_links(uow, loan_id, datetime.now(UTC), by=default_actor())
        uow.commit()
    console.print(f"{count} link(s) of {loan_id} revoked", highlight=False)
