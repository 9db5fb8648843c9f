"""The whole-portfolio case refresh, set-based, against the one-by-one refresh; writes docs/performance.md's
"Case refresh".

    python benchmarks/case_refresh.py [--loans 125000] [--old-sample 1000] [--write-docs]

The store is the bureau benchmark's SQLite file under .bench/ (benchmarks/bureau_export.py: `--loans` loans
of three instalments, one borrower each, a payment per four loans), so most borrowers are late at the day and
need a case. Timed: refresh_cases as of 31 March 2026 on a copy of the store with no cases (every case
opened), then again (nothing changed, nothing written); the one-by-one refresh (refresh_case per borrower,
the path before) on a sample of borrowers, its rate extrapolated. The load average is recorded with each
figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 3, 31)
BEGIN, END = "<!-- case-refresh:begin -->", "<!-- case-refresh:end -->"
DOC = ROOT / "docs" / "performance.md"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=125_000)
    parser.add_argument("--old-sample", type=int, default=1000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bureau_export import build_store

    from arrears.adapters.store import forget_engines
    from arrears.bootstrap import configure
    from arrears.domain.cases import RecoveryModel
    from arrears.services.cases import refresh_case, refresh_cases
    from arrears.services.unit_of_work import UnitOfWork

    configure()
    source = Path(build_store(args.loans).removeprefix("sqlite:///"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="arrears-case-bench-") as tmp:
        copy = Path(tmp) / "cases.db"
        shutil.copy(source, copy)
        url = f"sqlite:///{copy}"
        for label in ("set-based, first refresh (opens every case)", "set-based, again (nothing changed)"):
            before = load()
            cpu = time.process_time()
            started = time.perf_counter()
            with UnitOfWork(url) as uow:
                opened = refresh_cases(uow, AS_OF, RecoveryModel())
                uow.commit()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            rows.append((label, opened, seconds, cpu, before, load()))
            print(
                f"{label}: {opened:,} open cases in {seconds:.1f} s (CPU {cpu:.1f} s), load {before} → {load()}"
            )
        with UnitOfWork(url) as uow:
            sample = uow.cases.borrowers_with_loans()[: args.old_sample]
            before = load()
            started = time.perf_counter()
            for borrower in sample:
                refresh_case(uow, borrower, AS_OF, RecoveryModel())
            per = (time.perf_counter() - started) / len(sample)
        rows.append(
            (
                f"one by one (before), timed on {len(sample):,} borrowers",
                opened,
                per * opened,
                None,
                before,
                load(),
            )
        )
        print(f"one by one: {1 / per:,.0f} borrowers/s → {per * opened:,.0f} s for {opened:,}")
        forget_engines()
    if args.write_docs:
        write_docs(rows, args)


def write_docs(rows: list[tuple], args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    lines = [
        BEGIN,
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/case_refresh.py --loans "
        f"{args.loans} --write-docs` on {os.cpu_count()} cores shared with other work (load average in each row). "
        "Store: SQLite, one borrower per loan (benchmarks/bureau_export.py's). Target (issue 18): 100,000 cases "
        "< 10 s.",
        "",
        "| path | open cases | seconds | CPU seconds | load before → after |",
        "|---|---:|---:|---:|---|",
        *(
            f"| {label} | {n:,} | {s:,.1f}{' (extrapolated)' if cpu is None else ''} | "
            f"{'–' if cpu is None else f'{cpu:.1f}'} | {b} → {a} |"
            for label, n, s, cpu, b, a in rows
        ),
        END,
    ]
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text:
        text += "\n## Case refresh\n\n" + BEGIN + "\n" + END + "\n"
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + "\n".join(lines) + text[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
