"""The daily run's benchmark drivers: measured throughput of the engines on generated portfolios (no timing
asserts anywhere), for `arrears bench run` and benchmarks/daily_run.py.

`write_generated_snapshot` draws a synthetic portfolio (arrears.sim) into a snapshot directory
(engine/snapshot_dir.py); `measure_snapshot` times the daily run over one, part by part;
`measure_in_child` runs it in a fresh process, so that the peak RSS it reports is the run's own:

    python -m arrears.entrypoints.daily_run_bench measure SNAPSHOT_DIR --engine duckdb --policy policies/segmented.yaml

prints the Measurement as one JSON line.

They compose the layers (the generator, the store, the policy files and the engine), so they live with
the entrypoints: the engine itself knows none of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq

from arrears.adapters.policy_file import load_policy
from arrears.domain.errors import InputError
from arrears.domain.policy.model import Policy
from arrears.engine.evaluators import evaluator
from arrears.engine.portfolio import Portfolio, take_accounts
from arrears.engine.snapshot_dir import (
    COMPRESSION,
    Manifest,
    read_manifest,
    read_parts,
    reusable,
    write_drawn_snapshot,
)
from arrears.engine.snapshot_run import peak_rss_mb, run_snapshot

MODULE = "arrears.entrypoints.daily_run_bench"  # run as `python -m MODULE measure ...` by measure_in_child
BENCH_AS_OF = date(2026, 3, 31)
LOANS_PER_BORROWER = 1.5  # what the synthetic generator produces on average (1.52)


class MeasurementFailed(RuntimeError):
    """The measuring process died: its message ends with the tail of that process's stderr."""


@dataclass
class Measurement:
    engine: str
    accounts: int
    seconds: float
    actions: int
    peak_rss_mb: float
    parts: int = 1
    read_seconds: float = 0.0  # of `seconds`: reading the snapshot's parts (summed over the workers)
    workers: int = 0  # worker processes (0: part by part in the measuring process)

    @property
    def accounts_per_s(self) -> float:
        return self.accounts / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "accounts": self.accounts,
            "seconds": round(self.seconds, 3),
            "accounts_per_s": round(self.accounts_per_s),
            "actions": self.actions,
            "peak_rss_mb": round(self.peak_rss_mb),
            "parts": self.parts,
            "read_seconds": round(self.read_seconds, 3),
            "workers": self.workers,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Measurement:
        return cls(
            engine=str(raw["engine"]),
            accounts=int(raw["accounts"]),  # type: ignore[call-overload]
            seconds=float(raw["seconds"]),  # type: ignore[arg-type]
            actions=int(raw["actions"]),  # type: ignore[call-overload]
            peak_rss_mb=float(raw["peak_rss_mb"]),  # type: ignore[arg-type]
            parts=int(raw.get("parts", 1)),  # type: ignore[call-overload]
            workers=int(raw.get("workers", 0)),  # type: ignore[call-overload]
            read_seconds=float(raw.get("read_seconds", 0.0)),  # type: ignore[arg-type]
        )


def generated_portfolio(accounts: int, seed: int = 1, as_of: date = BENCH_AS_OF) -> Portfolio:
    """A synthetic portfolio with exactly `accounts` loans, in the engine's layout."""
    from arrears.sim.portfolio import generate_portfolio

    borrowers = max(1, int(accounts / LOANS_PER_BORROWER) + 10)
    while True:
        portfolio = generate_portfolio(borrowers, seed, as_of).engine_portfolio()
        if portfolio.account_count >= accounts:
            return take_accounts(portfolio, accounts)
        borrowers += max(10, (accounts - portfolio.account_count) * 2)  # an unlucky draw: a few more


def write_generated_snapshot(
    out_dir: str | Path,
    accounts: int,
    *,
    part_accounts: int = 1_000_000,
    seed: int = 1,
    as_of: date = BENCH_AS_OF,
    quiet: bool = False,
    processes: int | None = None,
    compression: str | None = COMPRESSION,
) -> Manifest:
    """A synthetic portfolio of `accounts` loans as a snapshot directory, drawn part by part by the
    generator (engine/snapshot_dir.py's write_drawn_snapshot), with a progress bar on a terminal's stderr
    unless `quiet`. A directory whose manifest names the same draw is re-used as it is."""
    existing = reusable(
        out_dir, accounts, part_accounts=part_accounts, seed=seed, as_of=as_of, compression=compression
    )
    if existing is not None:
        return existing
    from arrears.entrypoints.cli.progress import RowProgress

    with RowProgress("snapshot", enabled=not quiet) as bar:
        return write_drawn_snapshot(
            out_dir,
            accounts,
            generated_portfolio,
            as_of=as_of,
            part_accounts=part_accounts,
            seed=seed,
            progress=bar,
            processes=processes,
            compression=compression,
        )


def policy_loader(policy_file: str | Path) -> partial[Policy]:
    """The policy file's loader, as the run's worker processes take it (a picklable callable)."""
    return partial(load_policy, Path(policy_file))


def bench_snapshot_dir(root: Path, accounts: int, seed: int = 1, *, uncompressed: bool = False) -> Path:
    """Where the benchmarks keep the generated snapshot directory of `accounts` accounts."""
    return root / ".bench" / f"snapshot-{accounts}-seed{seed}{'-uncompressed' if uncompressed else ''}"


def measure(
    portfolio: Portfolio, policy: Policy, engine_name: str, out_dir: Path | None = None
) -> Measurement:
    """Ledger + features + segments + steps for every account, and the outbox written (as Parquet)."""
    run = evaluator(engine_name)
    started = time.perf_counter()
    evaluation = run(portfolio, policy, BENCH_AS_OF, None)
    with tempfile.TemporaryDirectory() if out_dir is None else _keep(out_dir) as folder:
        pq.write_table(evaluation.actions, Path(folder) / f"outbox-{engine_name}.parquet")
    seconds = time.perf_counter() - started
    return Measurement(
        engine_name, portfolio.account_count, seconds, evaluation.actions.num_rows, peak_rss_mb()
    )


def measure_snapshot(
    snapshot_dir: Path, policy: Policy, engine_name: str, out_path: Path, *, memory_map: bool = False
) -> Measurement:
    """The daily run over a snapshot directory, part by part, the outbox written as one Parquet file.

    The clock starts before the first part is read and stops once the outbox file (a row group per
    part) is closed; one part is held at a time. `read_seconds` is the part of it spent reading parts
    (with `memory_map`, mapping them: their pages are then read as the engine touches them).
    """
    run = evaluator(engine_name)
    parts = read_manifest(snapshot_dir).parts
    accounts = actions = 0
    read_seconds = 0.0
    writer: pq.ParquetWriter | None = None
    started = time.perf_counter()
    try:
        reading = read_parts(snapshot_dir, memory_map=memory_map)
        while True:
            before = time.perf_counter()
            portfolio = next(reading, None)
            read_seconds += time.perf_counter() - before
            if portfolio is None:
                break
            accounts += portfolio.account_count
            found = run(portfolio, policy, BENCH_AS_OF, None).actions
            del portfolio  # before the next part is read
            if writer is None:
                writer = pq.ParquetWriter(out_path, found.schema)
            writer.write_table(found.cast(writer.schema), row_group_size=max(1, found.num_rows))
            actions += found.num_rows
            del found
    finally:
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - started
    return Measurement(engine_name, accounts, seconds, actions, peak_rss_mb(), len(parts), read_seconds)


def measure_with_workers(
    snapshot_dir: Path,
    policy_file: Path,
    engine_name: str,
    outbox_dir: Path,
    workers: int,
    *,
    memory_map: bool = False,
) -> Measurement:
    """The daily run over a snapshot directory with its parts spread over `workers` processes
    (arrears.engine.snapshot_run), each writing its parts' outbox files; the peak RSS is the workers'
    peaks added up, plus this process's."""
    done = run_snapshot(
        snapshot_dir,
        policy_loader(policy_file),
        BENCH_AS_OF,
        outbox_dir,
        engine=engine_name,
        workers=workers,
        memory_map=memory_map,
        warm_up=warm_up,
    )
    return Measurement(
        engine_name,
        done.accounts,
        done.seconds,
        done.actions,
        done.peak_rss_mb,
        done.parts,
        done.read_seconds,
        done.workers,
    )


def default_workers(engine_name: str) -> int:
    """Worker processes for a measurement: one per core for DuckDB, none for the others (the reference
    engine is measured on a sample, Spark has its own executors)."""
    return (os.cpu_count() or 1) if engine_name == "duckdb" else 0


def measure_in_child(
    snapshot_dir: Path,
    policy_file: Path,
    engine_name: str,
    *,
    memory_map: bool = False,
    workers: int | None = None,
) -> Measurement:
    """`measure_snapshot` (or, with workers, `measure_with_workers`; default: `default_workers`) in a fresh
    Python process, the engine warmed up before the clock starts: the peak RSS is the run's own."""
    workers = default_workers(engine_name) if workers is None else workers
    command = [
        sys.executable,
        "-m",
        MODULE,
        "measure",
        str(snapshot_dir),
        "--engine",
        engine_name,
        "--policy",
        str(policy_file),
        *(["--memory-map"] if memory_map else []),
        *(["--workers", str(workers)] if workers else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    last = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    if done.returncode == 2 and last and "error" in last:
        raise InputError(str(last["error"]), file=last.get("file"), field=last.get("field"))
    if done.returncode != 0 or last is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise MeasurementFailed(f"the measuring process failed (exit {done.returncode}):\n{tail}")
    return Measurement.from_dict(last)


def _measure_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    commands = parser.add_subparsers(dest="command", required=True)
    measuring = commands.add_parser("measure", help="time the daily run over a snapshot directory")
    measuring.add_argument("snapshot_dir", type=Path)
    measuring.add_argument("--engine", default="duckdb")
    measuring.add_argument("--policy", type=Path, required=True)
    measuring.add_argument("--out", type=Path, help="outbox Parquet file (default: a temporary one)")
    measuring.add_argument(
        "--memory-map", action="store_true", help="map the part files instead of reading them"
    )
    measuring.add_argument(
        "--workers", type=int, default=0, help="worker processes over the parts (0: part by part here)"
    )
    args = parser.parse_args(argv)
    try:
        read_manifest(args.snapshot_dir)
        policy = load_policy(args.policy)
        with tempfile.TemporaryDirectory(prefix="arrears-outbox-") as tmp:
            if args.workers > 0:
                result = measure_with_workers(
                    args.snapshot_dir,
                    args.policy,
                    args.engine,
                    args.out or Path(tmp),
                    args.workers,
                    memory_map=args.memory_map,
                )
            else:
                warm_up(policy, args.engine)
                out = args.out or Path(tmp) / f"outbox-{args.engine}.parquet"
                result = measure_snapshot(
                    args.snapshot_dir, policy, args.engine, out, memory_map=args.memory_map
                )
    except InputError as err:
        print(json.dumps({"error": err.message, "file": err.file, "field": err.field}), flush=True)
        return 2
    print(json.dumps(result.to_dict()), flush=True)
    return 0


class _keep:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        return None


def warm_up(policy: Policy, engine_name: str) -> None:
    """Compile the kernel (numba caches it on disk) and start the engine before the clock runs."""
    measure(generated_portfolio(50), policy, engine_name)


def snapshot_seconds(portfolio_accounts: int, url: str) -> tuple[int, float]:
    """Load a generated portfolio into the store at `url` and time the columnar snapshot of it."""
    from arrears.adapters.store.snapshot import snapshot
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.sim.portfolio import generate_portfolio, load_portfolio

    borrowers = max(1, int(portfolio_accounts / LOANS_PER_BORROWER))
    load_portfolio(generate_portfolio(borrowers, 1, BENCH_AS_OF), url)
    with UnitOfWork(url) as uow:
        started = time.perf_counter()
        tables = snapshot(uow.connection, BENCH_AS_OF)
        seconds = time.perf_counter() - started
    return tables["loans"].num_rows, seconds


__all__ = [
    "BENCH_AS_OF",
    "Measurement",
    "MeasurementFailed",
    "bench_snapshot_dir",
    "generated_portfolio",
    "measure",
    "measure_in_child",
    "measure_snapshot",
    "measure_with_workers",
    "peak_rss_mb",
    "policy_loader",
    "snapshot_seconds",
    "take_accounts",
    "warm_up",
    "write_generated_snapshot",
]


if __name__ == "__main__":
    raise SystemExit(_measure_main(sys.argv[1:]))
