"""`arrears outbox list|show`: what the daily run planned and what dispatch made of it, personal data
masked. Registered on the `outbox` group next to `outbox approve` (entrypoints/cli/dispatch.py)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from arrears.entrypoints.cli.common import console, err_console, parse_as_of, print_json

LIST_COLUMNS = (
    ("id", "id"),
    ("day", "day"),
    ("loan_id", "loan"),
    ("borrower_id", "borrower"),
    ("borrower_name", "name"),
    ("step", "step"),
    ("channel", "channel"),
    ("status", "status"),
    ("rules", "rules"),
    ("attempts", "tries"),
    ("next_allowed_at", "next allowed"),
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
    shown = f"{len(rows)} of {total} row(s)" + (" (raise --limit for more)" if total > len(rows) else "")
    if json_out:
        print_json(rows)
        if total > len(rows):
            err_console.print(shown, highlight=False, soft_wrap=True)
        return
    table = Table(title="Outbox", caption=shown)
    for _, label in LIST_COLUMNS:
        table.add_column(label, justify="right" if label in ("id", "tries") else "left")
    for row in rows:
        table.add_row(
            *(_cell(_short(row.get(key)) if key in INSTANTS else row.get(key)) for key, _ in LIST_COLUMNS)
        )
    console.print(table)


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
    head.add_row("outbox", _cell(view["id"]), "status", _cell(view["status"]))
    head.add_row("key", _cell(view.get("idempotency_key")), "day", _cell(view["day"]))
    head.add_row(
        "loan",
        _cell(view["loan_id"]),
        "borrower",
        _cell(f"{view['borrower_id']} {borrower.get('name') or ''}"),
    )
    head.add_row("phone", _cell(borrower.get("phone")), "e-mail", _cell(borrower.get("email")))
    head.add_row("step", _cell(view["step"]), "channel", _cell(view["channel"]))
    head.add_row("template", _cell(view.get("template")), "segment", _cell(view.get("segment")))
    head.add_row("rules", _cell(view["rules"]), "attempts", _cell(view.get("attempts")))
    head.add_row(
        "next allowed", _cell(view.get("next_allowed_at")), "last error", _cell(view.get("last_error"))
    )
    head.add_row("created", _cell(view.get("created_at")), "updated", _cell(view.get("updated_at")))
    approval = view.get("approval")
    if approval:
        head.add_row(
            "approved by",
            _cell(f"{approval['approved_by']} ({approval['ref']})"),
            "law firm",
            _cell(f"{approval['law_firm']} at {approval['at']}"),
        )
    console.print(head)
    if view["deliveries"]:
        table = Table("provider", "provider id", "status", "sent at", "updated at", title="Deliveries")
        for d in view["deliveries"]:
            table.add_row(
                *(_cell(d[k]) for k in ("provider", "provider_id", "status", "sent_at", "updated_at"))
            )
        console.print(table)
    if view["contact_attempts"]:
        table = Table("at", "channel", "target", "outcome", "message", title="Contact attempts")
        for a in view["contact_attempts"]:
            table.add_row(*(_cell(a[k]) for k in ("at", "channel", "target", "outcome", "message_type")))
        console.print(table)
    if view["agent_tasks"]:
        table = Table("task", "reason", "status", "created", title="Agent tasks")
        for t in view["agent_tasks"]:
            table.add_row(*(_cell(t[k]) for k in ("id", "reason", "status", "created_at")))
        console.print(table)
    if view["audit"]:
        table = Table("seq", "at", "actor", "action", "detail", title="Audit log")
        for e in view["audit"]:
            detail = json.dumps(e["detail"], ensure_ascii=False)
            table.add_row(*(_cell(e[k]) for k in ("seq", "at", "actor", "action")), _cell(detail))
        console.print(table)


def _short(value: Any) -> Any:
    """An ISO instant to the second, for a table: 2026-03-31 03:01:02Z."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        return value[:10] + " " + value[11:19] + ("Z" if value.endswith("+00:00") else "")
    return value


def _cell(value: Any) -> str:
    """A table cell: lists joined, nothing as a dash, square brackets never taken for Rich markup."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))
