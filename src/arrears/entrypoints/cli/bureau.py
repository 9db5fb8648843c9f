"""`arrears bureau export --month YYYY-MM --format metro2|cn --out FILE`: the monthly credit-bureau file
(docs/bureau.md)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from arrears.entrypoints.cli.console import console, print_json

bureau_app = typer.Typer(
    help="Credit-bureau reporting: the monthly Metro 2 or PBOC file.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(bureau_app, name="bureau")


@bureau_app.command("export")
def export(
    month: str = typer.Option(..., "--month", help="The month reported (its last day), YYYY-MM."),
    format: str = typer.Option(..., "--format", help="metro2 (us profile) or cn (PBOC account record)."),
    out: Path = typer.Option(
        ..., "--out", help="The file to write (replaced only when the export succeeds)."
    ),
    notice_days: int | None = typer.Option(
        None,
        "--notice-days",
        min=0,
        help="Days a bureau notice must precede negative reporting (default: bureau_notice_days of the "
        "case-work configuration, 10).",
    ),
    furnisher_id: str = typer.Option(
        os.environ.get("ARREARS_BUREAU_FURNISHER_ID", "UNASSIGNED"),
        "--furnisher-id",
        help="The furnisher's identification number the bureau assigned (ARREARS_BUREAU_FURNISHER_ID).",
    ),
    reporter_name: str = typer.Option(
        os.environ.get("ARREARS_BUREAU_REPORTER", "ARREARS LENDER"),
        "--reporter-name",
        help="The reporter's name in the Metro 2 header (ARREARS_BUREAU_REPORTER).",
    ),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write the month's bureau file: every loan's state at the month's end (held records reported current
    until the borrower was told); re-exporting a month marks changed records as corrections."""
    from arrears.adapters.casework_file import load_config
    from arrears.domain.bureau import month_end
    from arrears.domain.errors import InputError
    from arrears.services.bureau import Reporter, export_file
    from arrears.services.unit_of_work import UnitOfWork

    month_end(month)  # a bad month is one line naming --month before any work
    if format not in ("metro2", "cn"):
        raise InputError(f"unknown bureau format {format!r} (use metro2 or cn)", field="--format")
    if out.parent and not out.parent.is_dir():
        raise InputError(f"no such directory: {out.parent}", field="--out")
    days = notice_days if notice_days is not None else load_config().bureau_notice_days
    reporter = Reporter(furnisher_id=furnisher_id, name=reporter_name)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with UnitOfWork(db) as uow:
            chunks, summary = export_file(uow, month, format, days, "cli", reporter)
            with partial.open("wb") as f:
                for chunk in chunks:
                    f.write(chunk)
            partial.replace(out)  # the file appears whole, and only with the export recorded
            uow.commit()
    finally:
        partial.unlink(missing_ok=True)
    figures = {**summary.to_dict(), "out": str(out)}
    if json_out:
        print_json(figures)
    else:
        console.print(
            f"{summary.records:,} records for {month} ({format}) → {out}: {summary.negative:,} negative, "
            f"{summary.held:,} held until the borrower is told, {summary.disputed:,} disputed, "
            f"{summary.corrections:,} corrections",
            highlight=False,
        )
