"""`arrears borrower flag|show`: a borrower's compliance facts (cease, opt-outs, notices, holds ...), set and
cleared one at a time through services.borrower_facts (validated, audited), and listed masked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import typer
from rich.table import Table

from arrears.domain.compliance.document import parse_instant
from arrears.domain.compliance.facts import FLAG_NAMES
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, cell, fitted_table
from arrears.services import borrower_facts
from arrears.services.unit_of_work import UnitOfWork

borrower_app = typer.Typer(help="Borrowers' compliance facts: set, clear, show.", no_args_is_help=True)

# The service's field names → this command's options, so an error names what the user typed.
_OPTIONS = {
    "channel": "--channel",
    "debt": "--debt",
    "value": "--value",
    "until": "--until",
    "by": "--by",
    "reason": "--reason",
    "effective_at": "--effective-at",
    "clear": "--clear",
}
DB = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db).")


def register(app: typer.Typer) -> None:
    app.add_typer(borrower_app, name="borrower")


@borrower_app.command("flag")
def flag_command(
    borrower_id: str = typer.Argument(..., metavar="BORROWER_ID", help="The borrower's id."),
    set_name: str | None = typer.Option(
        None, "--set", metavar="NAME", help=f"Record this fact ({', '.join(FLAG_NAMES)})."
    ),
    clear_name: str | None = typer.Option(None, "--clear", metavar="NAME", help="End this fact."),
    channel: str | None = typer.Option(
        None, "--channel", help="Only this channel (cease, opt_out, consent)."
    ),
    until: str | None = typer.Option(None, "--until", help="Last day in force, YYYY-MM-DD (hardship)."),
    debt: str | None = typer.Option(None, "--debt", metavar="LOAN_ID", help="Only this debt (loan id)."),
    value: str | None = typer.Option(
        None, "--value", help="The attorney, or the work number; with --clear: only the fact with it."
    ),
    effective_at: str | None = typer.Option(
        None, "--effective-at", help="In force from (set) or ended at (clear), ISO 8601 with offset; now."
    ),
    by: str | None = typer.Option(None, "--by", help="Who records it (required)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (required)."),
    db: str | None = DB,
    json_out: bool = typer.Option(False, "--json", help="Print what changed as one JSON object."),
) -> None:
    """Set or clear one compliance fact of a borrower; every change is recorded in the audit log."""
    if (set_name is None) == (clear_name is None):
        raise InputError("give exactly one of --set NAME or --clear NAME", field="--set/--clear")
    for option, given in (("--by", by), ("--reason", reason)):
        if not (given or "").strip():
            raise InputError("is required (who and why are recorded with every fact)", field=option)
    name = (set_name or clear_name or "").strip()
    last_day = parse_as_of(until, "--until") if until is not None else None
    at = parse_instant(effective_at, "--effective-at") if effective_at is not None else None
    if clear_name is not None and last_day is not None:
        raise InputError("only --set takes an end date", field="--until")
    with UnitOfWork(db) as uow:
        try:
            change = _apply(uow, borrower_id, name, clear_name is not None, by or "", reason or "",
                            channel or "", debt or "", value, last_day, at)  # fmt: skip
        except InputError as err:
            option = "--clear" if clear_name is not None else "--set"
            raise InputError(err.message, field=_OPTIONS.get(err.field or "", option)) from None
        uow.commit()
    if json_out:
        print_json(change.to_dict())
        return
    what = name + (f" on {channel}" if channel else "") + (f" for {debt}" if debt else "")
    ids = ", ".join(str(i) for i in change.ids)
    if change.action == "clear":
        message = f"borrower {borrower_id}: cleared {what} (flag {ids})"
    elif change.changed:
        message = f"borrower {borrower_id}: set {what} (flag {ids})"
    else:
        message = f"borrower {borrower_id}: {what} is already in force (flag {ids}); nothing changed"
    console.print(message, highlight=False, markup=False, soft_wrap=True)


def _apply(
    uow: UnitOfWork,
    borrower_id: str,
    name: str,
    clear: bool,
    by: str,
    reason: str,
    channel: str,
    debt: str,
    value: str | None,
    until: date | None,
    at: datetime | None,
) -> borrower_facts.FlagChange:
    if debt and uow.borrowers.get(borrower_id) is not None and not uow.loans.exists(debt):
        raise InputError(f"unknown loan {debt!r}", field="debt")
    if clear:
        return borrower_facts.clear_flag(
            uow, borrower_id, name, by=by, reason=reason, source="cli", channel=channel, debt=debt,
            value=value, at=at,
        )  # fmt: skip
    return borrower_facts.set_flag(
        uow, borrower_id, name, by=by, reason=reason, source="cli", channel=channel, debt=debt,
        value=value or "", until=until, effective_at=at,
    )  # fmt: skip


@borrower_app.command("show")
def show_command(
    borrower_id: str = typer.Argument(..., metavar="BORROWER_ID", help="The borrower's id."),
    db: str | None = DB,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (in_force, history)."),
) -> None:
    """The facts in force and every fact ever recorded, with who / when / why (personal data masked)."""
    with UnitOfWork(db) as uow:
        view = borrower_facts.show(uow, borrower_id)
    if json_out:
        print_json(view)
        return
    render(view)


# The columns of `borrower show`; on a narrow terminal the highest `drop` gives way first.
IN_FORCE = (
    Column("id", "key", justify="right"),
    Column("flag"),
    Column("channel", drop=3),
    Column("debt", "key", drop=4),
    Column("value", drop=5),
    Column("until", "key", drop=2),
    Column("since", "key"),
    Column("set by", drop=6),
    Column("reason", drop=1),
    Column("source", drop=7),
)
HISTORY = (
    Column("id", "key", justify="right"),
    Column("flag"),
    Column("channel", drop=5),
    Column("debt", "key", drop=6),
    Column("value", drop=7),
    Column("from", "key"),
    Column("set by", drop=8),
    Column("reason", drop=3),
    Column("cleared", "key", drop=1),
    Column("cleared by", drop=9),
    Column("why cleared", drop=4),
    Column("in force", drop=2),
)


def render(view: dict[str, Any]) -> None:
    borrower = view["borrower"]
    head = Table.grid(padding=(0, 2))
    head.add_row(_("borrower"), cell(borrower.get("id")), _("name"), cell(borrower.get("name")))
    head.add_row(_("phone"), cell(borrower.get("phone")), _("time zone"), cell(borrower.get("timezone")))
    head.add_row(_("as of"), cell(_short(view["at"])), "", "")
    console.print(head)
    rows = [
        [
            *(cell(r[k]) for k in ("id", "flag", "channel", "debt", "value", "until")),
            cell(_short(r["effective_at"])),
            *(cell(r[k]) for k in ("set_by", "reason", "source")),
        ]
        for r in view["in_force"]
    ]
    columns = [replace(c, header=_(c.header)) for c in IN_FORCE]
    caption = None if rows else _("none")
    console.print(fitted_table(columns, rows, console=console, title=_("In force"), caption=caption))
    rows = [
        [
            *(cell(r[k]) for k in ("id", "flag", "channel", "debt", "value")),
            cell(_short(r["effective_at"])),
            cell(r["set_by"]),
            cell(r["reason"]),
            cell(_short(r["cleared_at"])),
            cell(r["cleared_by"]),
            cell(r["clear_reason"]),
            _("yes") if r["in_force"] else _("no"),
        ]
        for r in view["history"]
    ]
    columns = [replace(c, header=_(c.header)) for c in HISTORY]
    caption = None if rows else _("no facts recorded")
    console.print(fitted_table(columns, rows, console=console, title=_("History"), caption=caption))


def _short(instant: str | None) -> str | None:
    """An ISO instant to the minute (2026-03-31T11:00+08:00 → 2026-03-31 11:00+08:00)."""
    if not instant:
        return instant
    return datetime.fromisoformat(instant).isoformat(timespec="minutes").replace("T", " ")
