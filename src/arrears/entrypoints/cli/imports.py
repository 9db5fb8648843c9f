"""`arrears import loans|payments|events|flags FILE`: CSV or Parquet into the store, all or nothing.

Bad rows are listed (file:row: field 'column': reason; the first 20 and a count) and nothing is written,
exit 2 — unless --skip-bad, which writes the good rows and the bad ones to FILE.rejects.csv, and exits 1 when
it rejected any (0 only when every row was good). A file that cannot be read at all is exit 2 either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from arrears.entrypoints.cli.console import EXIT_BAD_INPUT, EXIT_FINDINGS, console, err_console, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import count, figures
from arrears.entrypoints.cli.progress import RowProgress
from arrears.services.imports import ERRORS_SHOWN, ImportRejected, ImportResult, import_file
from arrears.services.unit_of_work import UnitOfWork

import_app = typer.Typer(
    help="Import loans (one row per instalment), payments (and reversals), account events or borrower flags.",
    no_args_is_help=True,
)

BIG_FILE = 2_000_000  # bytes: above this a progress bar is worth showing


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


def run_import(kind: str, file: Path, *, skip_bad: bool, json_out: bool, encoding: str = "utf-8") -> None:
    """Import FILE as `kind`; print the summary (or the errors and exit 2); exit 1 if --skip-bad rejected rows."""
    big = file.is_file() and file.stat().st_size >= BIG_FILE
    try:
        with UnitOfWork() as uow, RowProgress(f"import {kind}", enabled=big and not json_out) as bar:
            result = import_file(uow, kind, file, skip_bad=skip_bad, encoding=encoding, progress=bar)
    except ImportRejected as rejected:
        for error in rejected.errors[:ERRORS_SHOWN]:
            err_console.print(
                str(error.as_input_error(rejected.file or str(file))),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        more = len(rejected.errors) - ERRORS_SHOWN
        if more > 0:
            err_console.print(f"... and {more} more error(s)", highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] {rejected}", highlight=False, soft_wrap=True)
        if json_out:
            print_json(_rejected_summary(kind, rejected))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if json_out:
        print_json(result.to_dict())
    else:
        _print_summary(result)
    if result.rejected:
        raise typer.Exit(EXIT_FINDINGS)


def _rejected_summary(kind: str, rejected: ImportRejected) -> dict[str, Any]:
    return {
        "kind": kind,
        "file": rejected.file,
        "rows": rejected.rows_read,
        "written": 0,
        "duplicates": 0,
        "rejected": len({e.row for e in rejected.errors}),
        "errors": [e.to_dict() for e in rejected.errors[:ERRORS_SHOWN]],
        "error_count": len(rejected.errors),
    }


# What an import's own counts are called in text output (the JSON keeps the keys).
DETAILS = {"set": "flags set", "cleared": "flags cleared"}


def _print_summary(result: ImportResult) -> None:
    pairs = [
        (_("rows read"), count(result.rows_read)),
        (_("written"), count(result.written)),
        *((_(DETAILS.get(name, name)), count(n)) for name, n in result.details.items()),
        (_("duplicates"), count(result.duplicates)),
        (_("rejected"), count(result.rejected)),
        (_("seconds"), f"{result.seconds:,.2f}"),
    ]
    console.print(figures(pairs, console=console, title=escape(result.source)))
    for error in result.errors[:ERRORS_SHOWN]:
        err_console.print(
            str(error.as_input_error(result.source)), highlight=False, markup=False, soft_wrap=True
        )
    more = len(result.errors) - ERRORS_SHOWN
    if more > 0:
        err_console.print(f"... and {more} more error(s)", highlight=False, soft_wrap=True)
    if result.rejects_file:
        console.print(
            _("rejected rows and reasons: {file}").format(file=result.rejects_file),
            highlight=False,
            soft_wrap=True,
        )


FILE_ARG = typer.Argument(..., help="CSV (header row; UTF-8 unless --encoding) or Parquet file.")
ENCODING = typer.Option(
    "utf-8",
    "--encoding",
    help="Text encoding of a CSV file: utf-8, gbk, gb18030, gb2312, big5, utf-16, latin-1, or auto "
    "(UTF-8, else GB18030). A byte-order mark wins.",
)
SKIP_BAD = typer.Option(False, "--skip-bad", help="Write the good rows; bad ones go to FILE.rejects.csv.")
JSON_OUT = typer.Option(False, "--json", help="Print a JSON summary (rows, written, duplicates, ...).")


@import_app.command("loans")
def import_loans_command(
    file: Path = FILE_ARG, skip_bad: bool = SKIP_BAD, json_out: bool = JSON_OUT, encoding: str = ENCODING
) -> None:
    """Loans, one row per instalment (loan_id, borrower_id, product, currency, seq, due_date, principal ...)."""
    run_import("loans", file, skip_bad=skip_bad, json_out=json_out, encoding=encoding)


@import_app.command("payments")
def import_payments_command(
    file: Path = FILE_ARG, skip_bad: bool = SKIP_BAD, json_out: bool = JSON_OUT, encoding: str = ENCODING
) -> None:
    """Payments (payment_id, loan_id, paid_on, amount; a row with `reverses` reverses that payment)."""
    run_import("payments", file, skip_bad=skip_bad, json_out=json_out, encoding=encoding)


@import_app.command("events")
def import_events_command(
    file: Path = FILE_ARG, skip_bad: bool = SKIP_BAD, json_out: bool = JSON_OUT, encoding: str = ENCODING
) -> None:
    """Account events (event_id, loan_id, kind, on, optional at and detail as JSON text)."""
    run_import("events", file, skip_bad=skip_bad, json_out=json_out, encoding=encoding)


@import_app.command("flags")
def import_flags_command(
    file: Path = FILE_ARG, skip_bad: bool = SKIP_BAD, json_out: bool = JSON_OUT, encoding: str = ENCODING
) -> None:
    """Borrower compliance facts (borrower_id, flag, action set|clear, channel, debt, value, until, by, reason)."""
    run_import("flags", file, skip_bad=skip_bad, json_out=json_out, encoding=encoding)
