"""`arrears outbox list|show`: what the daily run planned and what dispatch made of it, personal data
masked. Registered on the `outbox` group next to `outbox approve` (entrypoints/cli/dispatch.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import typer
from rich.table import Table

from arrears.entrypoints.cli.console import console, err_console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, cell, count, fitted_table

# What `outbox list` shows, in order; at 80 columns the last few give way (drop: highest first).
LIST_COLUMNS = (
    ("id", Column("id", "key", justify="right")),
    ("day", Column("day", "key")),
    ("loan_id", Column("loan", "key")),
    ("borrower_id", Column("borrower", "key", drop=3)),
    ("borrower_name", Column("name", drop=4)),
    ("step", Column("step")),
    ("channel", Column("channel", drop=2)),
    ("status", Column("status")),
    ("rules", Column("rules", drop=6)),
    ("attempts", Column("tries", "number", drop=7)),
    ("next_allowed_at", Column("next allowed", "key", drop=5)),
)
INSTANTS = ("next_allowed_at", "created_at", "updated_at")


def list_command(
    status: str | None = typer.Option(None, "--status", help="Only rows with this status."),
    borrower: str | None = typer.Option(None, "--borrower", help="Only this borrower's rows."),
    loan: str | None = typer.Option(None, "--loan", help="Only this loan's rows."),
    day: str | None = typer.Option(
        None, "--day", help="Only rows planned by the run of this day, YYYY-MM-DD."
    ),
    channel: str | None = typer.Option(None, "--channel", help="Only rows for this channel (sms, email, …)."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many rows (oldest first)."),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list of rows."),
) -> None:
    """Outbox rows in the order the runs wrote them, with status, compliance rules and retries."""
    from arrears.services.outbox import check_status, list_outbox
    from arrears.services.unit_of_work import UnitOfWork

    check_status(status, "--status")
    on_day = parse_as_of(day, "--day") if day is not None else None
    with UnitOfWork(db) as uow:
        rows, total = list_outbox(
            uow, status=status, borrower_id=borrower, loan_id=loan, day=on_day, channel=channel, limit=limit
        )
    shown = _("{shown} of {total} row(s)").format(shown=count(len(rows)), total=count(total))
    if total > len(rows):
        shown += " " + _("(raise --limit for more)")
    if json_out:
        print_json(rows)
        if total > len(rows):
            err_console.print(shown, highlight=False, soft_wrap=True)
        return
    columns = [replace(column, header=_(column.header)) for _key, column in LIST_COLUMNS]
    cells = [
        [cell(_short(row.get(key)) if key in INSTANTS else row.get(key)) for key, _column in LIST_COLUMNS]
        for row in rows
    ]
    console.print(fitted_table(columns, cells, console=console, title=_("Outbox"), caption=shown))


def show_command(
    outbox_id: int = typer.Argument(..., metavar="ID", help="The outbox row's id (see outbox list)."),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """One row: what was planned, the approval, deliveries, contact attempts and audit entries."""
    from arrears.services.outbox import outbox_detail
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(db) as uow:
        view = outbox_detail(uow, outbox_id)
    if json_out:
        print_json(view)
        return
    render_detail(view)


def render_detail(view: dict[str, Any]) -> None:
    borrower = view.get("borrower") or {}
    head = Table.grid(padding=(0, 2))
    head.add_row("outbox", cell(view["id"]), "status", cell(view["status"]))
    head.add_row("key", cell(view.get("idempotency_key")), "day", cell(view["day"]))
    head.add_row(
        "loan",
        cell(view["loan_id"]),
        "borrower",
        cell(f"{view['borrower_id']} {borrower.get('name') or ''}"),
    )
    head.add_row("phone", cell(borrower.get("phone")), "e-mail", cell(borrower.get("email")))
    head.add_row("step", cell(view["step"]), "channel", cell(view["channel"]))
    head.add_row("template", cell(view.get("template")), "segment", cell(view.get("segment")))
    head.add_row("rules", cell(view["rules"]), "attempts", cell(view.get("attempts")))
    head.add_row(
        "next allowed", cell(view.get("next_allowed_at")), "last error", cell(view.get("last_error"))
    )
    head.add_row("created", cell(view.get("created_at")), "updated", cell(view.get("updated_at")))
    approval = view.get("approval")
    if approval:
        head.add_row(
            "approved by",
            cell(f"{approval['approved_by']} ({approval['ref']})"),
            "law firm",
            cell(f"{approval['law_firm']} at {approval['at']}"),
        )
    console.print(head)
    if view["deliveries"]:
        table = Table("provider", "provider id", "status", "sent at", "updated at", title="Deliveries")
        for d in view["deliveries"]:
            table.add_row(
                *(cell(d[k]) for k in ("provider", "provider_id", "status", "sent_at", "updated_at"))
            )
        console.print(table)
    if view["contact_attempts"]:
        table = Table("at", "channel", "target", "outcome", "message", title="Contact attempts")
        for a in view["contact_attempts"]:
            table.add_row(*(cell(a[k]) for k in ("at", "channel", "target", "outcome", "message_type")))
        console.print(table)
    if view["agent_tasks"]:
        table = Table("task", "reason", "status", "created", title="Agent tasks")
        for t in view["agent_tasks"]:
            table.add_row(*(cell(t[k]) for k in ("id", "reason", "status", "created_at")))
        console.print(table)
    if view["audit"]:
        table = Table("seq", "at", "actor", "action", "detail", title="Audit log")
        for e in view["audit"]:
            detail = json.dumps(e["detail"], ensure_ascii=False)
            table.add_row(*(cell(e[k]) for k in ("seq", "at", "actor", "action")), cell(detail))
        console.print(table)


def _short(value: Any) -> Any:
    """An ISO instant to the second, for a table: 2026-03-31 03:01:02Z."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[:10] + " " + value[11:19] + ("Z" if value.endswith("+00:00") else "")
    return value
