"""`arrears borrower flag|show`: a borrower's compliance facts (cease, opt-outs, notices, holds ...), set and
cleared one at a time through services.borrower_facts (validated, audited), and listed masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from arrears.domain.compliance.document import parse_instant
from arrears.domain.compliance.facts import FLAG_NAMES
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.common import console, parse_as_of, print_json
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


def render(view: dict[str, Any]) -> None:
    borrower = view["borrower"]
    head = Table.grid(padding=(0, 2))
    head.add_row("borrower", _cell(borrower.get("id")), "name", _cell(borrower.get("name")))
    head.add_row("phone", _cell(borrower.get("phone")), "time zone", _cell(borrower.get("timezone")))
    head.add_row("as of", _cell(_short(view["at"])), "", "")
    console.print(head)
    in_force = Table("id", "flag", "channel", "debt", "value", "until", "since", "set by", "reason",
                     "source", title="In force")  # fmt: skip
    for r in view["in_force"]:
        in_force.add_row(
            *(_cell(r[k]) for k in ("id", "flag", "channel", "debt", "value", "until")),
            _cell(_short(r["effective_at"])),
            *(_cell(r[k]) for k in ("set_by", "reason", "source")),
        )
    if not view["in_force"]:
        in_force.caption = "none"
    console.print(in_force)
    history = Table("id", "flag", "channel", "debt", "value", "from", "set by", "reason", "cleared",
                    "cleared by", "why cleared", "in force", title="History")  # fmt: skip
    for r in view["history"]:
        history.add_row(
            *(_cell(r[k]) for k in ("id", "flag", "channel", "debt", "value")),
            _cell(_short(r["effective_at"])),
            _cell(r["set_by"]),
            _cell(r["reason"]),
            _cell(_short(r["cleared_at"])),
            _cell(r["cleared_by"]),
            _cell(r["clear_reason"]),
            "yes" if r["in_force"] else "no",
        )
    if not view["history"]:
        history.caption = "no facts recorded"
    console.print(history)


def _short(instant: str | None) -> str | None:
    """An ISO instant to the minute (2026-03-31T11:00+08:00 → 2026-03-31 11:00+08:00)."""
    if not instant:
        return instant
    return datetime.fromisoformat(instant).isoformat(timespec="minutes").replace("T", " ")


def _cell(value: object) -> str:
    return "—" if value is None or value == "" else escape(str(value))
