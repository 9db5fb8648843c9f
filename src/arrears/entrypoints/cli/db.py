"""`arrears db`: upgrade the store's schema, show where it stands, check the ledger against its postings."""

from __future__ import annotations

import typer
from rich.table import Table

from arrears.adapters.store import display_url, engine_for, open_store, store_url, upgrade
from arrears.adapters.store.migrating import current_revision, head_revision, new_revision
from arrears.adapters.store.models import Base
from arrears.adapters.store.repositories import row_counts
from arrears.entrypoints.cli.common import EXIT_FINDINGS, console, print_json
from arrears.entrypoints.cli.imports import RowProgress
from arrears.services.accounts import check_ledger
from arrears.services.unit_of_work import UnitOfWork

db_app = typer.Typer(
    help="The store (ARREARS_DB_URL, default sqlite:///arrears.db): migrations and checks.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade_command(json_out: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Run the migrations the store has not had yet (every command does this itself when needed)."""
    url = store_url()
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
    url = store_url()
    engine = open_store(url)
    with engine.connect() as connection:
        revision = current_revision(connection)
        counts = row_counts(connection, [m.class_ for m in Base.registry.mappers])
    data = {"url": display_url(url), "revision": revision, "head": head_revision(), "rows": counts}
    if json_out:
        print_json(data)
        return
    console.print(f"store {data['url']} at revision {revision}", highlight=False, soft_wrap=True)
    table = Table("table", "rows")
    for name, n in sorted(counts.items()):
        table.add_row(name, f"{n:,}")
    console.print(table)


@db_app.command("check")
def check_command(
    loan: list[str] = typer.Option(None, "--loan", help="Check only this loan (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check that ledger postings agree with the instalments, payments and the ledger computation.

    Exit 1 (and each problem listed) if any loan disagrees.
    """
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
