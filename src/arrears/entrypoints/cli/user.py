"""`arrears user create|list|disable|enable`: the staff who sign in to the web console (docs/console.md)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.table import Table

from arrears.entrypoints.cli.console import console, print_json

user_app = typer.Typer(
    help="Console users (argon2 password hashes, roles as the API's).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")


@user_app.command("create")
def create(
    name: str = typer.Argument(..., help="The sign-in name (the audit log's actor)."),
    role: str = typer.Option(
        ..., "--role", help="admin, strategist, agent, supervisor, compliance or agency."
    ),
    agency: str = typer.Option(None, "--agency", help="The agency an agency user is confined to."),
    skills: list[str] = typer.Option(
        [],
        "--skills",
        help="Agent skills: languages (zh, en …) and buckets (M1 …), comma-separated or repeated.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Create a user; the password is read from stdin (its first line), never from the command line."""
    from arrears.domain.errors import InputError
    from arrears.domain.staff import NewStaffUser
    from arrears.services.audit import default_actor
    from arrears.services.staff import create_user
    from arrears.services.unit_of_work import UnitOfWork

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("no password on stdin", field="password")
    words = [w.strip() for s in skills for w in s.split(",") if w.strip()]
    buckets = tuple(w for w in words if w[:1].upper() == "M" and w[1:2].isdigit())
    languages = tuple(w for w in words if w not in buckets)
    new = NewStaffUser(name, role, agency, languages, buckets)
    with UnitOfWork() as uow:
        user = create_user(uow, new, password, default_actor(), datetime.now(UTC))
        uow.commit()
    out = {
        "name": user.name,
        "role": user.role,
        "agency": user.agency_id,
        "languages": sorted(user.languages),
        "buckets": sorted(user.buckets),
    }
    if json_out:
        print_json(out)
    else:
        console.print(f"user {user.name} ({user.role}) created", highlight=False)


@user_app.command("list")
def list_users(json_out: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Every user with role, agency, skills and state (no password hashes)."""
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        users = uow.staff.all()
    now = datetime.now(UTC)
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "agency": u.agency_id,
            "languages": sorted(u.languages),
            "buckets": sorted(u.buckets),
            "disabled": u.disabled,
            "locked": bool(u.locked_until and u.locked_until > now),
        }
        for u in users
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("name", "role", "agency", "skills", "state")
    for r in rows:
        state = "disabled" if r["disabled"] else "locked" if r["locked"] else "active"
        skills = ", ".join([*r["languages"], *r["buckets"]])  # type: ignore[list-item]
        table.add_row(str(r["name"]), str(r["role"]), str(r["agency"] or ""), skills, state)
    console.print(table)


def _set(name: str, disabled: bool) -> None:
    from arrears.services.audit import default_actor
    from arrears.services.staff import set_disabled
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        set_disabled(uow, name, disabled, default_actor())
        uow.commit()
    console.print(f"user {name} {'disabled' if disabled else 'enabled'}", highlight=False)


@user_app.command("disable")
def disable(name: str = typer.Argument(..., help="The user.")) -> None:
    """Disable a user at once (their sessions end)."""
    _set(name, True)


@user_app.command("enable")
def enable(name: str = typer.Argument(..., help="The user.")) -> None:
    """Enable a disabled user again."""
    _set(name, False)
