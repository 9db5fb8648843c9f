"""The whole daily run from the store (issue 18): `arrears run` on SQLite and PostgreSQL side by side with the
old path (the store read whole, one process) and the plan-only path (`arrears snapshot plan` over the same
accounts as a snapshot directory, no compliance, no store). Writes docs/performance.md, "## Full run".

    python benchmarks/full_run.py [--accounts 1000000] [--stores sqlite,postgresql] [--workers 2]
                                  [--part-accounts 200000] [--no-old] [--write-docs]

The accounts are drawn by the synthetic generator into a snapshot directory (.bench/, re-used), then bulk
loaded straight into a fresh store part by part (PostgreSQL: COPY through the bulk writer; SQLite:
executemany), not through the import's validation. Each run is the real command in a child process, timed
end to end (start-up, reading, planning, compliance, outbox written and committed); its peak RSS is the
largest sum over the command's process tree, sampled every 0.1 s. Between runs the day's outbox rows and run
record are deleted, so each run writes the same rows. PostgreSQL: the server of ARREARS_TEST_PG_URL or
.pg_test_url (scripts/postgres.sh), a database of its own (arrears_full_run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from arrears.adapters.store import open_store
from arrears.adapters.store.catalog import seed_products
from arrears.adapters.store.migrating import upgrade
from arrears.bootstrap import configure
from arrears.domain.catalog import PRODUCTS
from arrears.engine.snapshot_dir import read_manifest, read_parts
from arrears.entrypoints.daily_run_bench import BENCH_AS_OF, bench_snapshot_dir, write_generated_snapshot
from arrears.services.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Full run"
DOC = ROOT / "docs" / "performance.md"
ARREARS = str(Path(sys.executable).with_name("arrears"))
PG_DATABASE = "arrears_full_run"
# Issue 18's targets.
TARGET_PG_RATE = 200_000
TARGET_SQLITE_RATE = 100_000
TARGET_PG_PEAK_MB = 8 * 1024
TARGET_TIMES_PLAN = 3


@dataclass
class Timed:
    label: str
    store: str
    accounts: int
    seconds: float
    peak_mb: float
    planned: int = 0
    load: str = ""
    inner: float = 0.0  # the command's own figure: the run's seconds after start-up (JSON "seconds")

    @property
    def rate(self) -> float:
        return self.accounts / self.seconds if self.seconds else 0.0


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _tree_rss_mb(root: int) -> float:
    """The resident memory of `root` and every process below it, in MiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue
    mine, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in mine:
                mine.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in mine) / 2**20


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `command`; its wall time, the peak RSS of its process tree and its standard output."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{err[-3000:]}")
    return seconds, peak[0], out


def pg_url() -> str | None:
    url = os.environ.get("ARREARS_TEST_PG_URL")
    if not url and (ROOT / ".pg_test_url").exists():
        url = (ROOT / ".pg_test_url").read_text().strip()
    if not url:
        return None
    server = make_url(url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    admin.dispose()
    return server.set(database=PG_DATABASE).render_as_string(hide_password=False)


def sqlite_url(accounts: int) -> str:
    path = ROOT / ".bench" / f"full-run-{accounts}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _decoded(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.cast(column, pa.string()) if pa.types.is_dictionary(column.type) else column


def load_store(url: str, snapshot_dir: Path) -> float:
    """The snapshot's accounts bulk-written into a fresh store at `url`; returns the seconds it took."""
    started = time.perf_counter()
    engine = open_store(url)
    upgrade(engine)
    with engine.begin() as connection:
        seed_products(connection)
    now = datetime.now(UTC)
    currency = {code: p.settings.currency for code, p in PRODUCTS.items()}
    for index, part in enumerate(read_parts(snapshot_dir)):
        loans, borrowers = part["loans"], part["borrowers"]
        events = part["events"]
        outcome = events["outcome"]
        detail = pc.if_else(
            pc.is_null(outcome),
            pa.scalar(None, pa.string()),
            pc.binary_join_element_wise('{"outcome": "', pc.fill_null(outcome, ""), '"}', ""),
        )
        with UnitOfWork(url) as uow:
            bulk = uow.bulk
            bulk.insert(
                "borrowers",
                pa.table(
                    {
                        "id": borrowers["borrower_id"],
                        "timezone": borrowers["timezone"],
                        "language": borrowers["language"],
                        "region": borrowers["region"],
                        "persona": borrowers["persona"],
                    }
                ),
                constants={"created_at": now},
            )
            bulk.insert(
                "loans",
                pa.table(
                    {
                        "id": loans["loan_id"],
                        "borrower_id": loans["borrower_id"],
                        "product_code": loans["product"],
                        "currency": pa.array([currency[p] for p in loans["product"].to_pylist()]),
                    }
                ),
                constants={"created_at": now},
            )
            inst = part["instalments"]
            bulk.insert(
                "instalments",
                pa.table({n: _decoded(inst[n]) for n in inst.column_names}),
            )
            pay = part["payments"]
            bulk.insert(
                "payments",
                pa.table(
                    {
                        "id": pay["payment_id"],
                        "loan_id": _decoded(pay["loan_id"]),
                        "paid_on": pay["paid_on"],
                        "amount": pay["amount"],
                        "reversed_on": pay["reversed_on"],
                    }
                ),
                constants={"recorded_at": now},
            )
            if events.num_rows:
                bulk.insert(
                    "account_events",
                    pa.table(
                        {
                            "id": pa.array([f"E{index}-{i}" for i in range(events.num_rows)]),
                            "loan_id": _decoded(events["loan_id"]),
                            "kind": events["kind"],
                            "on_date": events["on"],
                            "detail": detail,
                        }
                    ),
                    constants={"recorded_at": now},
                )
            uow.commit()
    if url.startswith("postgresql"):
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def forget_day(url: str) -> None:
    """Delete the bench day's outbox rows and run record (the audit log keeps its rows)."""
    with UnitOfWork(url) as uow:
        uow.connection.execute(text("DELETE FROM outbox WHERE as_of = :d"), {"d": BENCH_AS_OF})
        uow.connection.execute(text("DELETE FROM runs WHERE as_of = :d"), {"d": BENCH_AS_OF})
        uow.commit()


def run_command(url: str, workers: int, part_accounts: int) -> list[str]:
    return [
        ARREARS,
        "run",
        "--as-of",
        BENCH_AS_OF.isoformat(),
        "--db",
        url,
        "--json",
        "--workers",
        str(workers),
        "--part-accounts",
        str(part_accounts),
    ]


def measure_store(
    store: str, url: str, accounts: int, workers: int, part_accounts: int, old: bool, env: dict[str, str]
) -> list[Timed]:
    out = []
    modes = [(f"arrears run, parts of {part_accounts:,}, {workers} workers", workers, part_accounts)]
    if old:
        modes.append(("old path: the store read whole, one process", 1, 10**9))
    for label, n, size in modes:
        forget_day(url)
        seconds, peak, stdout = timed(run_command(url, n, size), env)
        summary = json.loads(stdout)
        assert summary["accounts"] == accounts, summary["accounts"]
        out.append(
            Timed(label, store, accounts, seconds, peak, summary["planned"], loadavg(), summary["seconds"])
        )
        print(
            f"{store:10} {label:52} {seconds:8.1f} s ({summary['seconds']:.1f}) {peak:8,.0f} MiB", flush=True
        )
    return out


def measure_plan(snapshot_dir: Path, accounts: int, workers: int, env: dict[str, str]) -> Timed:
    plan_dir = snapshot_dir.parent / f"{snapshot_dir.name}-full-run-plan"
    command = [ARREARS, "snapshot", "plan", str(snapshot_dir), "--out", str(plan_dir), "--json"]
    command += ["--workers", str(workers)]
    seconds, peak, stdout = timed(command, env)
    figures = json.loads(stdout)
    label = f"plan only: arrears snapshot plan, {workers} workers"
    t = Timed(label, "(files)", accounts, seconds, peak, figures["actions"], loadavg(), figures["seconds"])
    print(f"{'files':10} {t.label:52} {seconds:8.1f} s ({t.inner:.1f}) {peak:8,.0f} MiB", flush=True)
    return t


def render(rows: list[Timed], loads: dict[str, float], accounts: int, args: argparse.Namespace) -> str:
    lines = [
        SECTION,
        "",
        f"`python benchmarks/full_run.py --accounts {accounts} --workers {args.workers} "
        f"--part-accounts {args.part_accounts}` ({datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs; load average before each row). The whole daily run "
        "from the store as `arrears run --as-of D` makes it (read in parts of loan ids, planned on worker "
        "processes, compliance per part, outbox and run record written in the day's transaction), end to "
        "end in a child process; peak RSS is the process tree's. Generated accounts bulk-loaded straight "
        "into the store: " + ", ".join(f"{k} {v:.0f} s" for k, v in loads.items()) + ".",
        "",
        "| path | store | accounts | seconds end to end | accounts/s | seconds after start-up | accounts/s "
        "| peak RSS MiB | actions | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.store} | {r.accounts:,} | {r.seconds:.1f} | {r.rate:,.0f} | {r.inner:.1f} "
            f"| {r.accounts / r.inner if r.inner else 0:,.0f} | {r.peak_mb:,.0f} | {r.planned:,} | {r.load} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text_ = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text_):
        text_ = pattern.sub(lambda _m: section + "\n", text_)
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section
    DOC.write_text(text_, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--part-accounts", type=int, default=200_000)
    parser.add_argument("--no-old", action="store_true", help="skip the old path (store read whole)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    configure()
    snapshot_dir = bench_snapshot_dir(ROOT, args.accounts)
    write_generated_snapshot(snapshot_dir, args.accounts)
    accounts = read_manifest(snapshot_dir).accounts
    env = {**os.environ, "ARREARS_AUDIT_CHECKPOINTS": str(ROOT / ".bench" / "audit-checkpoints")}
    rows = [measure_plan(snapshot_dir, accounts, args.workers, env)]
    loads: dict[str, float] = {}
    for store in args.stores.split(","):
        url = sqlite_url(accounts) if store == "sqlite" else pg_url()
        if url is None:
            print("no PostgreSQL server (scripts/postgres.sh): skipped", file=sys.stderr)
            continue
        loads[store] = load_store(url, snapshot_dir)
        print(f"{store}: {accounts:,} accounts loaded in {loads[store]:.0f} s (load {loadavg()})", flush=True)
        rows += measure_store(store, url, accounts, args.workers, args.part_accounts, not args.no_old, env)
    section = render(rows, loads, accounts, args)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
