"""`arrears snapshot export` (the store as of a day → a snapshot directory) and `arrears snapshot plan`
(a policy over a snapshot directory on worker processes: what it would plan for every account).

A snapshot directory holds a portfolio in parts of at most a million accounts (arrears.engine.snapshot_dir),
so a national portfolio is planned part by part, every core busy (arrears.engine.snapshot_run). `plan`
reports what the policy plans *before* the compliance filter and writes nothing to the store: it is for
strategy managers sizing a policy on the whole book; `arrears run` is the daily run that checks each
contact against the jurisdiction's profile and writes the outbox.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import typer
from rich.table import Table

from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import console, parse_as_of, print_json

snapshot_app = typer.Typer(help="Snapshot directories: export the store, plan a policy over the parts.")


def register(app: typer.Typer) -> None:
    app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("export")
def export(
    as_of: str = typer.Option(..., "--as-of", help="What the store knew at the end of this day, YYYY-MM-DD."),
    out: Path = typer.Option(..., "--out", help="The snapshot directory to write (new or empty)."),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy file whose product settings travel with the snapshot."
    ),
    part_accounts: int = typer.Option(1_000_000, "--part-accounts", min=1, help="Accounts per part."),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write the store as of a day as a snapshot directory (account parts as Arrow IPC files)."""
    from arrears.adapters.store.catalog import settings_to_json
    from arrears.adapters.store.snapshot import snapshot
    from arrears.engine.portfolio import Portfolio
    from arrears.engine.snapshot_dir import write_portfolio_snapshot
    from arrears.entrypoints.cli.run import load_run_policy
    from arrears.services.unit_of_work import UnitOfWork

    day = parse_as_of(as_of)
    chosen = load_run_policy(policy)
    started = time.perf_counter()
    with UnitOfWork(db) as uow:
        tables = snapshot(uow.connection, day)
    manifest = write_portfolio_snapshot(
        Portfolio(dict(tables), dict(chosen.products)),
        out,
        part_accounts,
        as_of=day,
        encode_settings=settings_to_json,
    )
    figures = {
        "snapshot_dir": str(out),
        "as_of": day.isoformat(),
        "accounts": manifest.accounts,
        "parts": len(manifest.parts),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if json_out:
        print_json(figures)
    else:
        console.print(
            f"{manifest.accounts:,} accounts as of {day} in {len(manifest.parts)} part(s) → {out} "
            f"({figures['seconds']:.2f}s)",
            highlight=False,
        )


@snapshot_app.command("plan")
def plan(
    snapshot_dir: Path = typer.Argument(..., help="A snapshot directory (arrears snapshot export)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The day to plan (default and only allowed value: the snapshot's own day)."
    ),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy file (default policies/segmented.yaml)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where the planned actions go, a Parquet file per part (default SNAPSHOT-plan-DAY beside it).",
    ),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default), reference or spark."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: one per core)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What a policy plans for every account of a snapshot directory (before the compliance filter)."""
    from arrears.engine.evaluators import evaluator
    from arrears.engine.snapshot_dir import read_manifest
    from arrears.engine.snapshot_run import run_snapshot
    from arrears.entrypoints.cli.run import load_run_policy, policy_path
    from arrears.entrypoints.daily_run_bench import policy_loader, warm_up

    evaluator(engine)
    manifest = read_manifest(snapshot_dir)
    day = parse_as_of(as_of) if as_of else manifest.as_of
    if day is None:
        raise InputError("the snapshot does not say which day it holds: give --as-of", field="--as-of")
    if manifest.as_of is not None and day != manifest.as_of:
        raise InputError(
            f"the snapshot holds what was known on {manifest.as_of}; it cannot be planned as of {day} "
            "(export the store as of that day)",
            field="--as-of",
        )
    load_run_policy(policy)
    # beside the snapshot, not in it: a snapshot directory holds its parts and nothing else
    outbox = out or snapshot_dir.parent / f"{snapshot_dir.name}-plan-{day.isoformat()}"
    show = not json_out and console.is_terminal
    with (
        console.status(f"planning {manifest.accounts:,} accounts in {len(manifest.parts)} part(s) …")
        if show
        else nullcontext()
    ):
        done = run_snapshot(
            snapshot_dir,
            policy_loader(policy_path(policy).resolve()),
            day,
            outbox,
            engine=engine,
            workers=workers,
            warm_up=warm_up,  # the kernel compiled on a small generated portfolio before the clock starts
        )
    figures = {
        "as_of": day.isoformat(),
        "accounts": done.accounts,
        "actions": done.actions,
        "parts": done.parts,
        "workers": done.workers,
        "seconds": round(done.seconds, 3),
        "accounts_per_s": round(done.accounts_per_s),
        "segments": dict(sorted(done.segments.items())),
        "channels": dict(sorted(done.channels.items())),
        "accidental_late_payers": done.accidental_late_payers,
        "out": str(outbox),
    }
    if json_out:
        print_json(figures)
        return
    console.print(
        f"{done.accounts:,} accounts as of {day}: {done.actions:,} actions planned (before the compliance "
        f"filter) in {done.seconds:.2f}s on {done.workers} worker(s) = {done.accounts_per_s:,.0f} accounts/s "
        f"→ {outbox}",
        highlight=False,
    )
    table = Table("segment", "accounts", "channel", "actions")
    segs, chans = sorted(done.segments.items()), sorted(done.channels.items())
    for i in range(max(len(segs), len(chans))):
        s = segs[i] if i < len(segs) else ("", None)
        c = chans[i] if i < len(chans) else ("", None)
        table.add_row(
            s[0], f"{s[1]:,}" if s[1] is not None else "", c[0], f"{c[1]:,}" if c[1] is not None else ""
        )
    console.print(table)
    legal = done.accidental_late_payers
    console.print(
        f"accidental late payers: {legal.get('lawyer_letter', 0):,} lawyer's letter(s), "
        f"{legal.get('legal_tone', 0):,} action(s) in a legal tone",
        highlight=False,
    )
