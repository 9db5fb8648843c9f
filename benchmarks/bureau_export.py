"""The monthly bureau export, set-based, at portfolio scale; writes docs/performance.md's "Bureau export".

    python benchmarks/bureau_export.py [--loans 1000000] [--old-sample 2000] [--write-docs]

The store is a SQLite file under .bench/ (made once per size and re-used): `--loans` loans of three
instalments each with a borrower each (name and a US address, sealed at rest as always),
and a payment per four loans, imported through the import service (bench import's files). Timed: `arrears
bureau export` for March 2026 in both formats (the service, writing the file), in this process; the peak RSS
is the process's. The old path (one loan at a time: its ledger, its borrower, its notices, as services/bureau.py
did before) is timed on a sample and its rate extrapolated. The load average is recorded with each figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2026-03"
BEGIN, END = "<!-- bureau-export:begin -->", "<!-- bureau-export:end -->"
DOC = ROOT / "docs" / "performance.md"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build_store(loans: int) -> str:
    from arrears.entrypoints.cli.bench import bench_files
    from arrears.services.imports import import_file
    from arrears.services.unit_of_work import UnitOfWork

    path = ROOT / ".bench" / f"bureau-{loans}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    path.parent.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    partial_url = f"sqlite:///{partial}"
    partial.touch()  # an empty SQLite file: the unit of work migrates it
    with tempfile.TemporaryDirectory(prefix="arrears-bureau-bench-") as tmp:
        loans_path, payments_path, _ = bench_files(Path(tmp), max(1, loans // 4), loans, 0.0, 1)
        table = pq.read_table(loans_path)
        n = table.num_rows
        table = table.append_column("borrower_name", pa.array(["Mary Ann Smith"] * n)).append_column(
            "address", pa.array(["12 Main St, Springfield, IL 62701"] * n)
        )
        pq.write_table(table, loans_path)
        with UnitOfWork(partial_url) as uow:
            import_file(uow, "loans", loans_path, actor="bench")
        with UnitOfWork(partial_url) as uow:
            import_file(uow, "payments", payments_path, actor="bench")
    from arrears.adapters.store import forget_engines

    forget_engines()
    partial.rename(path)
    return url


def time_export(url: str, fmt: str) -> tuple[float, float, int, int]:
    from arrears.services.bureau import Reporter, export_file
    from arrears.services.unit_of_work import UnitOfWork

    with tempfile.TemporaryDirectory() as tmp, UnitOfWork(url) as uow:
        started, cpu = time.perf_counter(), time.process_time()
        chunks, summary = export_file(uow, MONTH, fmt, 10, "bench", Reporter(furnisher_id="BENCH"))
        out = Path(tmp) / f"out.{fmt}"
        with out.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        size = out.stat().st_size
        uow.rollback()  # the benchmark keeps no record of what it reported
    return seconds, cpu, summary.records, size


def time_old_path(url: str, sample: int) -> float:
    """Seconds per loan of the per-loan export (the code services/bureau.py had before)."""
    from arrears.domain.ledger import compute_position
    from arrears.services.unit_of_work import UnitOfWork

    as_of = date(2026, 3, 31)
    with UnitOfWork(url) as uow:
        ids = uow.loans.ids()[:sample]
        started = time.perf_counter()
        for record in uow.loans.stream_records(ids):
            position = compute_position(record.loan, as_of)
            uow.borrowers.get(record.borrower_id)
            if position.dpd > 0:
                uow.loan_actions.notices_sent(record.id, "bureau_notice")
        return (time.perf_counter() - started) / len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--old-sample", type=int, default=2000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    from arrears.bootstrap import configure

    configure()
    started = time.perf_counter()
    url = build_store(args.loans)
    print(f"store: {url} ({time.perf_counter() - started:.1f} s)", flush=True)
    rows = []
    for fmt in ("metro2", "cn"):
        before = load()
        seconds, cpu, records, size = time_export(url, fmt)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((fmt, records, seconds, cpu, size, rss, before, load()))
        print(f"{fmt}: {records:,} records in {seconds:.1f} s (CPU {cpu:.1f} s), {size / 1e6:.0f} MB, "
              f"peak RSS {rss:,.0f} MB, load {before} → {load()}", flush=True)  # fmt: skip
    before = load()
    per_loan = time_old_path(url, args.old_sample)
    old = ("per loan (before)", args.loans, per_loan * args.loans, None, 0, 0.0, before, load())
    print(
        f"old path: {1 / per_loan:,.0f} loans/s → {per_loan * args.loans:,.0f} s for {args.loans:,}",
        flush=True,
    )
    if args.write_docs:
        write_docs(rows, old, args)


def write_docs(rows: list[tuple], old: tuple, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    lines = [
        BEGIN,
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/bureau_export.py --loans "
        f"{args.loans} --write-docs` on {os.cpu_count()} cores shared with other work (load average in each row). "
        f"The store: SQLite, {args.loans:,} loans of 3 instalments, a borrower each (name and address sealed), "
        f"{args.loans // 4:,} payments. Target (issue 18): 1,000,000 loans < 60 s.",
        "",
        "| path | loans | seconds (wall) | CPU seconds | file | peak RSS | load before → after |",
        "|---|---:|---:|---:|---:|---:|---|",
        *(
            f"| set-based, {fmt} | {n:,} | {s:.1f} | {c:.1f} | {size / 1e6:,.0f} MB | {rss:,.0f} MB | {b} → {a} |"
            for fmt, n, s, c, size, rss, b, a in rows
        ),
        f"| {old[0]}, timed on {args.old_sample:,} loans | {old[1]:,} | {old[2]:,.0f} (extrapolated) | – | – | – | "
        f"{old[6]} → {old[7]} |",
        END,
    ]
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text:
        text += "\n## Bureau export\n\n" + BEGIN + "\n" + END + "\n"
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
