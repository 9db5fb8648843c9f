"""`arrears audit verify` walks the hash chain; `arrears audit show` lists recent rows."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from arrears.entrypoints.cli.common import EXIT_FINDINGS, console, print_json
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(json_out: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Exit 0 with the row count if the chain is intact; exit 1 naming the first changed or missing row."""
    with UnitOfWork() as uow:
        verdict = audit.verify(uow)
    if json_out:
        print_json(verdict.to_dict())
    elif verdict.ok:
        console.print(f"audit log intact: {verdict.count:,} row(s)", highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]audit log broken:[/] {verdict.reason}", highlight=False, soft_wrap=True)
    if not verdict.ok:
        raise typer.Exit(EXIT_FINDINGS)


@audit_app.command("show")
def show(
    subject: str = typer.Option(None, "--subject", help="Only rows about this subject."),
    limit: int = typer.Option(20, "--limit", min=1, help="The newest N rows."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The newest audit rows (who did what to which subject, when)."""
    with UnitOfWork() as uow:
        rows = audit.entries(uow, subject=subject, limit=limit)
    if json_out:
        print_json(
            [
                {
                    "seq": r.seq,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "detail": r.detail,
                    "hash": r.hash,
                }
                for r in rows
            ]
        )
        return
    table = Table("seq", "at (UTC)", "actor", "action", "subject", "detail")
    for r in rows:
        table.add_row(
            str(r.seq),
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.actor,
            r.action,
            r.subject,
            json.dumps(r.detail, ensure_ascii=False),
        )
    console.print(table)
