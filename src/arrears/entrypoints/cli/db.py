"""`arrears db`: upgrade the store's schema, show where it stands, check the ledger against its postings."""

from __future__ import annotations

import os

import typer

from arrears.adapters.store import display_url, engine_for, open_store, store_url, upgrade
from arrears.adapters.store.connection import require_existing_file
from arrears.adapters.store.migrating import new_revision
from arrears.adapters.store.overview import store_overview
from arrears.adapters.store.roles import OWNER_URL_ENV, setup_roles
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, err_console, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import UNDEFINED, Column, count, fitted_table
from arrears.entrypoints.cli.progress import RowProgress
from arrears.services.accounts import check_ledger
from arrears.services.unit_of_work import UnitOfWork

db_app = typer.Typer(
    help="The store (ARREARS_DB_URL, default sqlite:///arrears.db): migrations and checks.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_command(
    owner: str | None = typer.Option(
        None, "--owner", help="The owner's URL, who runs the migrations (default ARREARS_DB_OWNER_URL)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Run the migrations the store has not had yet, as the owner (ARREARS_DB_OWNER_URL) when one is set:
    every command does this itself when needed, except as an application role, which may not."""
    url = store_url(owner or os.environ.get(OWNER_URL_ENV) or None)
    result = upgrade(engine_for(url))
    if json_out:
        print_json(
            {
                "url": display_url(url),
                "before": result.before,
                "after": result.after,
                "products_added": result.products_added,
            }
        )
        return
    if result.before == result.after:
        console.print(f"{display_url(url)}: already at {result.after}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"{display_url(url)}: upgraded {result.before or '(empty)'} → {result.after}",
            highlight=False,
            soft_wrap=True,
        )
    if result.products_added:
        console.print(f"added {result.products_added} catalogue product(s)", highlight=False, soft_wrap=True)


@db_app.command("info")
def info_command(json_out: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Where the store is, its schema revision and how many rows each table holds."""
    require_existing_file()
    url = store_url()
    engine = open_store(url)
    with engine.connect() as connection:
        overview = store_overview(connection)
    revision, counts = overview.revision, overview.rows
    data = {"url": display_url(url), "revision": revision, "head": overview.head, "rows": counts}
    if json_out:
        print_json(data)
        return
    console.print(
        _("store {url} at revision {revision}").format(url=data["url"], revision=revision or UNDEFINED),
        highlight=False,
        soft_wrap=True,
    )
    rows = [[name, count(n)] for name, n in sorted(counts.items())]
    console.print(
        fitted_table([Column(_("table"), "key"), Column(_("rows"), "number")], rows, console=console)
    )


@db_app.command("check")
def check_command(
    loan: list[str] = typer.Option(None, "--loan", help="Check only this loan (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check that ledger postings agree with the instalments, payments and the ledger computation.

    Exit 1 (and each problem listed) if any loan disagrees.
    """
    require_existing_file()
    with UnitOfWork() as uow:
        total = len(loan) if loan else uow.loans.count()
        with RowProgress("checking loans", total, enabled=not json_out) as bar:
            report = check_ledger(uow, loan or None, progress=bar.advance)
    if json_out:
        print_json(report.to_dict())
    elif report.ok:
        console.print(
            f"{report.loans:,} loan(s) checked: postings agree with the ledger",
            highlight=False,
            soft_wrap=True,
        )
    else:
        for problem in report.problems:
            console.print(str(problem), highlight=False, soft_wrap=True)
        console.print(
            f"{len(report.problems)} problem(s) in {report.loans:,} loan(s) checked",
            highlight=False,
            soft_wrap=True,
        )
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


@db_app.command("revision")
def revision_command(
    message: str = typer.Argument(..., help="What the migration does, e.g. 'add outbox'."),
    empty: bool = typer.Option(False, "--empty", help="An empty migration instead of comparing the models."),
) -> None:
    """For developers: write a new migration comparing the models with the (upgraded) store."""
    url = store_url()
    open_store(url)
    for path in new_revision(message, url, autogenerate=not empty):
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)


@db_app.command("roles")
def roles_command(
    app_role: str = typer.Option(..., "--app-role", help="The role the application connects as."),
    owner: str | None = typer.Option(
        None,
        "--owner",
        help="The owner's URL: runs the migrations, owns the tables (default ARREARS_DB_OWNER_URL).",
    ),
    password_env: str | None = typer.Option(
        None,
        "--app-password-env",
        help="Name of an environment variable holding the application role's password (set or changed).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """PostgreSQL: upgrade the schema as the owner, create the application role if needed and grant it only
    what it uses — INSERT and SELECT on the audit log and ledger postings, SELECT on audit_head, no
    TRUNCATE, TRIGGER or ownership anywhere (docs/store.md). Idempotent."""
    owner_url = owner or os.environ.get(OWNER_URL_ENV)
    if not owner_url:
        raise InputError(f"give the owner's URL: --owner URL or {OWNER_URL_ENV}", field="--owner")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise InputError(f"environment variable {password_env} is not set", field="--app-password-env")
    report = setup_roles(owner_url, app_role, password)
    if json_out:
        print_json(report.to_dict())
    else:
        verb = "created" if report.created else "updated"
        console.print(
            f"{report.app_role} {verb}: owner {report.owner}, schema {report.schema}",
            highlight=False,
            soft_wrap=True,
        )
        rights = [[name, ", ".join(may) or "(nothing)"] for name, may in report.tables.items()]
        columns = [Column(_("table"), "key"), Column(_("{role} may").format(role=report.app_role))]
        console.print(fitted_table(columns, rights, console=console))
        console.print(
            f"the application connects as {report.app_role} (ARREARS_DB_URL); migrations run as {report.owner} "
            f"({OWNER_URL_ENV})",
            highlight=False,
            soft_wrap=True,
        )
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True)
