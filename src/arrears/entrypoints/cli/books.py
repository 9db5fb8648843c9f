"""The books on the command line: `arrears import lines`, `arrears lines show|list`, `arrears account history`,
`arrears books show|list|rule`, `arrears events list|deliver` (docs/books.md)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from arrears.domain.errors import InputError, NotFound
from arrears.domain.money import format_minor
from arrears.entrypoints.cli.account import account_app
from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.imports import import_app
from arrears.services.unit_of_work import UnitOfWork

lines_app = typer.Typer(help="Credit lines: limit, used, available, frozen or not.", no_args_is_help=True)
books_app = typer.Typer(help="Charge-offs, recoveries and their balanced postings.", no_args_is_help=True)
events_app = typer.Typer(help="Outbound events to the lender's webhook: list, deliver.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lines_app, name="lines")
    app.add_typer(books_app, name="books")
    app.add_typer(events_app, name="events")


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their line numbers (the header is line 1)."""
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            return [(reader.line_num, {k.strip(): (v or "") for k, v in row.items() if k}) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a UTF-8 CSV file: {exc}", file=str(path)) from None


@import_app.command("lines")
def import_lines_command(
    path: Path = typer.Argument(..., help="CSV: line_id, borrower_id, currency, limit[, loan_ids (a;b;c)]."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Credit lines and the loans under them; all or nothing (exit 2 naming the line and field)."""
    from arrears.services.credit_lines import import_lines

    rows = read_csv(path)
    with UnitOfWork() as uow:
        result = import_lines(uow, rows, str(path))
    if json_out:
        print_json(result.to_dict())
    else:
        console.print(
            f"{result.lines_added} line(s) added, {result.lines_updated} updated, "
            f"{result.loans_attached} loan(s) put under a line"
        )


@lines_app.command("show")
def show_line(
    line_id: str = typer.Argument(..., help="The line id."),
    as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A line's limit, used (its loans' outstanding principal) and available, and whether it is frozen."""
    from arrears.services.credit_lines import position, position_dict

    day = parse_as_of(as_of) if as_of else date.today()
    with UnitOfWork() as uow:
        view = position_dict(position(uow, line_id, day), day)
    if json_out:
        print_json(view)
        return
    grid = Table.grid(padding=(0, 2))
    for key in ("line_id", "borrower_id", "status", "frozen_on", "limit", "used", "available"):
        grid.add_row(key, str(view[key] if view[key] is not None else "—"))
    grid.add_row("loans", ", ".join(view["loans"]) or "—")
    console.print(grid)


@lines_app.command("list")
def list_lines(
    status: str = typer.Option(None, "--status", help="active | frozen | closed"),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """Every line with its status."""
    with UnitOfWork() as uow:
        found = uow.credit_lines.all(status=status)
    rows = [
        {
            "line_id": x.id,
            "borrower_id": x.borrower_id,
            "limit": format_minor(x.limit, x.currency),
            "status": x.status,
            "frozen_on": x.frozen_on.isoformat() if x.frozen_on else None,
        }
        for x in found
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("line", "borrower", "limit", "status", "frozen on")
    for r in rows:
        table.add_row(r["line_id"], r["borrower_id"], r["limit"], r["status"], r["frozen_on"] or "—")
    console.print(table)


@account_app.command("history")
def account_history(
    loan_id: str = typer.Argument(..., help="The loan id."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """Every change of the account's bucket, pause, charge-off and cure, with its day and cause."""
    from arrears.services.books import history

    with UnitOfWork() as uow:
        if not uow.loans.exists(loan_id):
            raise NotFound(f"no loan {loan_id!r}")
        changes = history(uow, loan_id)
    rows = [
        {
            "on": c.on.isoformat(),
            "change": c.kind,
            "from": c.from_bucket,
            "to": c.to_bucket,
            "dpd": c.dpd,
            "cause": c.cause,
        }
        for c in changes
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("day", "change", "from", "to", "DPD", "cause")
    for r in rows:
        table.add_row(r["on"], r["change"], r["from"] or "—", r["to"], str(r["dpd"]), r["cause"])
    console.print(table)


def _books_view(entry: dict[str, Any], currency: str = "CNY") -> dict[str, Any]:
    co = entry["charge_off"]
    return {
        "loan_id": co.loan_id,
        "charged_off_on": co.on.isoformat(),
        "dpd": co.dpd,
        "status": entry["status"],
        "closed_on": entry["closed_on"].isoformat() if entry["closed_on"] else None,
        "written_off": co.amounts.to_dict(currency, with_total=True),
        "balances": {k: format_minor(v, currency) for k, v in sorted(entry["balances"].items())},
        "transactions": [
            {
                "on": t.on.isoformat(),
                "kind": t.kind,
                "ref": t.ref,
                "entries": [
                    {"account": e.account, "amount": format_minor(e.amount, currency)} for e in t.entries
                ],
            }
            for t in entry["transactions"]
        ],
    }


@books_app.command("show")
def books_show(
    loan_id: str = typer.Argument(..., help="The loan id."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """A charged-off loan's charge-off, recoveries, waivers, reversal and the balance of each account."""
    from arrears.services.books import charge_off_books

    with UnitOfWork() as uow:
        found = charge_off_books(uow, [loan_id])
        currency = uow.loans.get(loan_id).settings.currency if found else "CNY"
    if not found:
        raise NotFound(f"loan {loan_id!r} has not been charged off")
    view = _books_view(found[0], currency)
    if json_out:
        print_json(view)
        return
    console.print(
        f"{view['loan_id']}: charged off {view['charged_off_on']} at {view['dpd']} DPD, "
        f"{view['written_off']['total']} written off — {view['status']}"
    )
    table = Table("day", "kind", "ref", "account", "amount")
    for t in view["transactions"]:
        for e in t["entries"]:
            table.add_row(t["on"], t["kind"], t["ref"], e["account"], e["amount"])
    console.print(table)


@books_app.command("list")
def books_list(json_out: bool = typer.Option(False, "--json", help="Print one JSON array.")) -> None:
    """Every charge-off with its status and what is still written off."""
    from arrears.services.books import charge_off_books

    with UnitOfWork() as uow:
        found = charge_off_books(uow)
    rows = [_books_view(e) for e in found]
    if json_out:
        print_json([{k: v for k, v in r.items() if k != "transactions"} for r in rows])
        return
    table = Table("loan", "charged off", "DPD", "written off", "status", "closed")
    for r in rows:
        table.add_row(
            r["loan_id"],
            r["charged_off_on"],
            str(r["dpd"]),
            r["written_off"]["total"],
            r["status"],
            r["closed_on"] or "—",
        )
    console.print(table)


@books_app.command("rule")
def books_rule(
    after_dpd: int = typer.Option(
        ..., "--after-dpd", help="Charge off when DPD is more than this (default 180)."
    ),
    product: str = typer.Option(
        None, "--product", help="A product code (default: every product without one)."
    ),
) -> None:
    """Set a product's charge-off threshold (per product; default more than 180 days past due, M7+)."""
    from arrears.domain.charge_off import ChargeOffRule

    ChargeOffRule(after_dpd)  # checks it
    with UnitOfWork() as uow:
        if product is not None and product not in uow.products.codes():
            raise InputError(f"unknown product {product!r}", field="--product")
        uow.books.set_charge_off_rule(product, after_dpd)
        uow.commit()
    console.print(f"{product or 'every other product'}: charged off when more than {after_dpd} days past due")


@events_app.command("list")
def events_list(
    loan_id: str = typer.Option(None, "--loan", help="Only this loan's events."),
    status: str = typer.Option(None, "--status", help="pending | delivered | dead"),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """The outbound events and what became of each."""
    from arrears.services.events import listing

    rows = [
        {
            "id": e.key,
            "type": e.kind,
            "loan_id": e.loan_id,
            "on": e.on.isoformat(),
            "status": e.status,
            "attempts": e.attempts,
            "delivered_at": e.delivered_at.isoformat() if e.delivered_at else None,
            "last_error": e.last_error,
        }
        for e in listing(None, loan_id=loan_id, status=status)
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("event", "status", "attempts", "last error")
    for r in rows:
        table.add_row(r["id"], r["status"], str(r["attempts"]), r["last_error"] or "")
    console.print(table)


@events_app.command("deliver")
def events_deliver(
    config: Path = typer.Option(None, "--config", help="channels.yaml (events.url, events.secret)."),
    dev: bool = typer.Option(False, "--dev", help="Allow a development secret, for a receiver on 127.0.0.1."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """POST every due event to the lender's webhook, HMAC-signed; failures are tried again with backoff."""
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.event_webhook import sender_from_config
    from arrears.services.events import deliver

    sender = sender_from_config(load_channels_config(config).section("events"), dev=dev)
    report = deliver(None, sender)
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(f"{report.delivered} delivered, {report.retried} to try again, {report.dead} dead")
