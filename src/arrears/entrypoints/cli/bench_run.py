"""`arrears bench run --accounts N --engine E [--json]`: the daily run's throughput over a snapshot directory.

The generated portfolio is written once as a snapshot directory (default `.bench/snapshot-N-seed1` here,
re-used while its manifest matches) and the run is timed part by part in a fresh process, so the peak
RSS reported is the run's own and not the generator's.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from arrears.entrypoints.cli.bench import bench_app
from arrears.entrypoints.cli.console import console, err_console, print_json

SEED = 1


def register(app: typer.Typer) -> None:
    """`run` is added to the `bench` group that bench.py registers."""


@bench_app.command("run")
def bench_run(
    accounts: int = typer.Option(100_000, "--accounts", min=1, help="Accounts (loans) in the portfolio."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb, reference or spark."),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy file (default policies/segmented.yaml)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    part_accounts: int = typer.Option(
        1_000_000, "--part-accounts", min=1, help="Accounts per part of the snapshot directory."
    ),
    snapshot_dir: Path | None = typer.Option(
        None, "--snapshot-dir", help="Where the snapshot is kept (default .bench/snapshot-N-seed1)."
    ),
    memory_map: bool = typer.Option(
        False,
        "--memory-map",
        help="Map the snapshot's files instead of reading them (the snapshot is then kept uncompressed).",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=0,
        help="Worker processes over the parts (default: one per core for duckdb; 0 = part by part).",
    ),
) -> None:
    """Ledger + features + segments + steps + outbox (Parquet) for N generated accounts, timed."""
    from arrears.engine.evaluators import evaluator
    from arrears.engine.snapshot_dir import COMPRESSION, MAPPED_COMPRESSION
    from arrears.entrypoints.cli.run import load_run_policy, policy_path
    from arrears.entrypoints.daily_run_bench import (
        MeasurementFailed,
        bench_snapshot_dir,
        measure_in_child,
        write_generated_snapshot,
    )

    evaluator(engine)  # an unknown engine is bad input before anything is drawn
    policy_file = policy_path(policy)
    load_run_policy(policy)  # checked here, so a bad file is reported before anything is drawn
    directory = snapshot_dir or bench_snapshot_dir(Path.cwd(), accounts, SEED, uncompressed=memory_map)
    manifest = write_generated_snapshot(
        directory,
        accounts,
        part_accounts=part_accounts,
        seed=SEED,
        quiet=json_out,
        compression=MAPPED_COMPRESSION if memory_map else COMPRESSION,
    )
    show = not json_out and console.is_terminal
    with (
        console.status(f"measuring {engine} over {len(manifest.parts)} part(s) …") if show else nullcontext()
    ):
        try:
            result = measure_in_child(
                directory, policy_file.resolve(), engine, memory_map=memory_map, workers=workers
            )
        except MeasurementFailed as err:
            err_console.print(str(err), highlight=False, markup=False)
            raise typer.Exit(1) from None
    if json_out:
        print_json({**result.to_dict(), "snapshot_dir": str(directory)})
    else:
        console.print(
            f"{result.engine}: {result.accounts:,} accounts in {result.parts} part(s)"
            f"{f' on {result.workers} workers' if result.workers else ''}, {result.seconds:.2f}s = "
            f"{result.accounts_per_s:,.0f} accounts/s ({result.actions:,} actions, "
            f"reading {result.read_seconds:.2f}s, peak RSS {result.peak_rss_mb:,.0f} MB)",
            highlight=False,
            soft_wrap=True,
        )
