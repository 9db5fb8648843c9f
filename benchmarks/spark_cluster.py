"""Spark local mode against a 2-worker standalone cluster on this machine, on the same generated snapshot;
writes the measured table into docs/scale.md.

    python benchmarks/spark_cluster.py [--sizes 20000,100000] [--write-docs]

Each size is a generated snapshot directory under .bench/ (re-used while its manifest matches). Per mode the
engine runs once on 500 accounts first (the session started, the workers' Python warmed), then the timed run:
ledger, features, segments and steps for every account (the Spark engine's `evaluate`). The cluster is a
master and two workers (1 core, 2 GiB each) on 127.0.0.1, started with pyspark's launcher
(tests/scale/spark_cluster.py); local mode is local[2]. The machine's load average is recorded with each row.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.scale.spark_cluster import standalone_cluster  # noqa: E402

from arrears.adapters.policy_file import load_policy  # noqa: E402
from arrears.engine import spark_engine  # noqa: E402
from arrears.engine.portfolio import Portfolio, take_accounts  # noqa: E402
from arrears.engine.snapshot_dir import read_parts  # noqa: E402
from arrears.entrypoints.daily_run_bench import (  # noqa: E402
    BENCH_AS_OF,
    bench_snapshot_dir,
    write_generated_snapshot,
)

DOC = ROOT / "docs" / "scale.md"
BEGIN, END = "<!-- spark-cluster-table:begin -->", "<!-- spark-cluster-table:end -->"
POLICY = ROOT / "policies" / "segmented.yaml"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def timed(portfolio: Portfolio, master: str) -> tuple[float, int, str, str]:
    spark_engine.use_master(master)
    policy = load_policy(POLICY)
    spark_engine.evaluate(take_accounts(portfolio, 500), policy, BENCH_AS_OF)  # session up, workers warm
    before = load()
    started = time.perf_counter()
    evaluation = spark_engine.evaluate(portfolio, policy, BENCH_AS_OF)
    seconds = time.perf_counter() - started
    return seconds, evaluation.actions.num_rows, before, load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="arrears-spark-cluster-") as work,
        standalone_cluster(Path(work), workers=2, cores=1, memory="2g") as cluster,
    ):
        for size in (int(s) for s in args.sizes.split(",")):
            snapshot = bench_snapshot_dir(ROOT, size)
            write_generated_snapshot(snapshot, size, quiet=True)
            portfolio = next(read_parts(snapshot))
            for mode, master in (("local[2]", "local[2]"), ("standalone, 2 workers × 1 core", cluster)):
                seconds, actions, before, after = timed(portfolio, master)
                row = (size, mode, seconds, size / seconds, actions, before, after)
                print(
                    f"{size:,} {mode}: {seconds:.2f} s, {size / seconds:,.0f} accounts/s, load {before} → {after}"
                )
                rows.append(row)
        spark_engine.use_master(None)
    if args.write_docs:
        write_docs(rows)


def write_docs(rows: list[tuple[int, str, float, float, int, str, str]]) -> None:
    lines = [
        BEGIN,
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/spark_cluster.py --write-docs` on "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other work: see the load average).",
        "",
        "| accounts | Spark master | seconds | accounts/s | actions | load before | load after |",
        "|---:|---|---:|---:|---:|---|---|",
        *(
            f"| {size:,} | {mode} | {seconds:.2f} | {rate:,.0f} | {actions:,} | {before} | {after} |"
            for size, mode, seconds, rate, actions, before, after in rows
        ),
        END,
    ]
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
