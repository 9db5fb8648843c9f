"""`arrears dispatch`, `arrears outbox list|show|approve` and `arrears receipts delivery|reply`: the outbox
goes out, can be looked at, legal review lets a lawyer's letter go, and what comes back is recorded."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from arrears.domain.errors import ArrearsError, InputError
from arrears.entrypoints.cli import outbox
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, err_console, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import count, figures, number

outbox_app = typer.Typer(help="The outbox of planned actions: list, show, approve.", no_args_is_help=True)
outbox_app.command("list")(outbox.list_command)
outbox_app.command("show")(outbox.show_command)
receipts_app = typer.Typer(help="Delivery receipts and inbound replies from providers.", no_args_is_help=True)

POLL_SECONDS = 5.0


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch_command)
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(receipts_app, name="receipts")


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    from arrears.domain.compliance.document import parse_instant

    return parse_instant(value, "--as-of-time")


def dispatch_command(
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Workers: processes on PostgreSQL (one thread on SQLite)."
    ),
    once: bool = typer.Option(False, "--once", help="One pass over what is ready now, then stop."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Claim at most this many rows."),
    as_of_time: str | None = typer.Option(
        None, "--as-of-time", help="Send as if it were this instant (ISO 8601 with offset); default now."
    ),
    channels: Path | None = typer.Option(
        None, "--channels", help="channels.yaml (default ARREARS_CHANNELS)."
    ),
    profile: str = typer.Option("cn", "--profile", help="Compliance profile re-checked at send time."),
    config_file: str | None = typer.Option(
        None, "--config", help="Case-work config YAML with provider_secret (default ARREARS_CASEWORK_CONFIG)."
    ),
    dev: bool = typer.Option(
        False,
        "--dev",
        help="Development setup: example secrets and lender allowed, local channel peers only.",
    ),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Send what the outbox holds: claim, re-check compliance, render, send once, record.

    Refuses to start while provider_secret, the lender's identity or a channel credential is missing or an
    example value, unless --dev. Exit 1 when rows wait on channels that are not configured."""
    from arrears.adapters.casework_file import load_config
    from arrears.adapters.channels.config import build_channels, close_channels, load_channels_config
    from arrears.adapters.profile_file import load_profile
    from arrears.bootstrap import make_dispatcher
    from arrears.entrypoints.startup_checks import dispatch_check, unconfigured_summary

    fixed = _instant(as_of_time)
    config = load_channels_config(channels)
    dev_line = dispatch_check(dev, load_config(config_file), config)
    if dev_line:
        err_console.print(dev_line, highlight=False, soft_wrap=True)
    dispatcher = make_dispatcher(
        db,
        build_channels(config),
        config,
        load_profile(profile),
        now=(lambda: fixed) if fixed else (lambda: datetime.now(UTC)),
    )
    show_progress = not json_out and sys.stdout.isatty()
    waiting: dict[str, int] = {}
    refused: list[int] = []  # passes whose audit checkpoint was refused (the log does not extend the last)
    try:
        total = _loop(dispatcher, workers, limit, once or fixed is not None, show_progress, waiting, refused)
    finally:
        close_channels(dispatcher.channels)
    data = total.to_dict()
    data["unconfigured_channels"] = sorted(waiting)
    data["unconfigured_rows"] = dict(sorted(waiting.items()))
    if json_out:
        print_json(data)
    else:
        outcomes = ("claimed", "sent", "cancelled", "deferred", "blocked", "failed", "dead")
        pairs = [(_(outcome), count(data[outcome])) for outcome in outcomes]
        pairs += [
            (_("seconds"), number(data["seconds"])),
            (_("sent per second"), number(data["per_second"], 1)),
            (_("workers"), count(data["workers"])),
        ]
        console.print(figures(pairs, console=console, title=_("Dispatch")))
    if waiting:
        err_console.print(
            f"[bold red]cannot send:[/] channels not configured: {unconfigured_summary(waiting)} — configure "
            "them in channels.yaml or ARREARS_<SECTION>_<KEY> (docs/channels.md)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_FINDINGS)
    if refused:
        raise typer.Exit(EXIT_FINDINGS)


def _unconfigured(dispatcher: Any) -> dict[str, int]:
    """Rows this pass is about to claim whose channel has no adapter, by channel."""
    from arrears.services.outbox import ready_by_channel
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(dispatcher.url) as uow:
        return ready_by_channel(uow, dispatcher.now(), dispatcher.channels)


def _loop(
    dispatcher: Any,
    workers: int,
    limit: int | None,
    once: bool,
    show_progress: bool,
    waiting: dict[str, int],
    refused: list[int],
) -> Any:
    """Dispatch until nothing is ready (--once, or a fixed --as-of-time), else poll as a daemon.
    `waiting` collects the rows found ready for channels that are not configured (most seen per channel);
    after each pass the audit log's head is checkpointed outside the database (`refused` counts the passes
    whose checkpoint was refused: the log no longer extends the previous one)."""
    from arrears.entrypoints.cli.audit import checkpoint_after
    from arrears.entrypoints.startup_checks import unconfigured_summary
    from arrears.services.dispatch import DispatchReport, dispatch

    total = DispatchReport(workers=workers)
    started = time.perf_counter()
    left = limit
    while True:
        stuck = _unconfigured(dispatcher)
        if stuck and not once and set(stuck) - set(waiting):  # the daemon says so once per channel
            err_console.print(
                f"warning: channels not configured: {unconfigured_summary(stuck)} — those rows wait",
                highlight=False,
                soft_wrap=True,
            )
        for name, n in stuck.items():
            waiting[name] = max(waiting.get(name, 0), n)
        if show_progress:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("dispatching", total=None)
                report = dispatch(
                    dispatcher,
                    workers=workers,
                    limit=left,
                    on_progress=lambda n, t=task: progress.advance(t, n),
                )
        else:
            report = dispatch(dispatcher, workers=workers, limit=left)
        if not checkpoint_after(dispatcher.url):
            refused.append(total.claimed + report.claimed)
        total.merge(report)
        total.workers = report.workers
        if left is not None:
            left -= report.claimed
        if once or (left is not None and left <= 0):
            break
        time.sleep(POLL_SECONDS)  # the daemon: wait for new rows or retries coming due
    total.seconds = time.perf_counter() - started
    return total


@outbox_app.command("approve")
def approve_command(
    outbox_id: int = typer.Argument(..., metavar="ID", help="The outbox row awaiting approval."),
    by: str = typer.Option(..., "--by", help="Who approved (the legal reviewer)."),
    ref: str = typer.Option(..., "--ref", help="The approval reference printed on the letter."),
    channels: Path | None = typer.Option(None, "--channels", help="channels.yaml (the lender's law firm)."),
    db: str | None = typer.Option(None, "--db", help="Store URL."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Record the legal review of a row (a lawyer's letter) and release it to dispatch."""
    from arrears.adapters.channels.config import load_channels_config
    from arrears.services.receipts import approve
    from arrears.services.unit_of_work import UnitOfWork

    law_firm = str(load_channels_config(channels).lender["law_firm"])
    with UnitOfWork(db) as uow:
        approve(uow, outbox_id, by, ref, law_firm)
        uow.commit()
    result = {"id": outbox_id, "status": "pending", "approved_by": by, "ref": ref, "law_firm": law_firm}
    if json_out:
        print_json(result)
    else:
        console.print(
            f"outbox {outbox_id} approved by {by} ({ref}), law firm {law_firm}: pending", highlight=False
        )


def _apply(kind: str, file: Path, db: str | None, json_out: bool) -> None:
    from arrears.services.receipts import read_records, record_delivery, record_reply
    from arrears.services.unit_of_work import UnitOfWork

    records = read_records(file)
    counts: dict[str, int] = {}
    unknown = 0
    with UnitOfWork(db) as uow:
        for i, record in enumerate(records, start=1):
            where = f"record {i}"
            try:
                if kind == "delivery":
                    outcome = record_delivery(uow, record, where)
                else:
                    outcome = record_reply(uow, record, where).action
            except InputError as err:
                raise InputError(err.message, file=str(file), line=i + 1, field=err.field) from None
            except ArrearsError:  # a receipt for a message this store never sent
                unknown += 1
                continue
            counts[outcome] = counts.get(outcome, 0) + 1
        uow.commit()
    result = {"records": len(records), "unknown": unknown, "by_outcome": dict(sorted(counts.items()))}
    if json_out:
        print_json(result)
    else:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
        console.print(f"{len(records)} {kind} record(s): {parts}; unknown {unknown}", highlight=False)


@receipts_app.command("delivery")
def delivery_command(
    file: Path = typer.Argument(..., help="CSV or JSON: provider_id or idempotency_key, status, at."),
    db: str | None = typer.Option(None, "--db", help="Store URL."),
    json_out: bool = typer.Option(False, "--json", help="Print counts as JSON."),
) -> None:
    """Apply delivery receipts and IVR outcomes (answered, voicemail, no_answer, pressed_1 ...)."""
    _apply("delivery", file, db, json_out)


@receipts_app.command("reply")
def reply_command(
    file: Path = typer.Argument(..., help="CSV or JSON: from, text, at, channel (default sms)."),
    db: str | None = typer.Option(None, "--db", help="Store URL."),
    json_out: bool = typer.Option(False, "--json", help="Print counts as JSON."),
) -> None:
    """Apply inbound replies: 退订 / TD / STOP opt out of the channel; PLAN / 分期 asks for a repayment plan."""
    _apply("reply", file, db, json_out)
