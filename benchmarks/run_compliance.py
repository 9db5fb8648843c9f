"""The product's daily run with its compliance filter, on a store with a contact history.

    .venv/bin/python benchmarks/run_compliance.py [--borrowers 20000] [--repeats 3] [--db sqlite|postgresql]

Builds a synthetic portfolio in a fresh store, records a contact history (three attempts per borrower over
the days before: a connected call, an unanswered robocall and an SMS), then times `run_day` (snapshot,
engine, the compliance filter with the debtors' facts and the history summary, the outbox write) for one
day, `repeats` times on fresh copies of that day (each repeat rolls back), and prints the median.
Run it on two checkouts (PYTHONPATH=<checkout>/src) to compare a change side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT / "src"))

from arrears.adapters.store.dispatch_models import ContactAttemptRow  # noqa: E402
from arrears.adapters.store.models import BorrowerRow, LoanRow  # noqa: E402
from arrears.bootstrap import configure  # noqa: E402
from arrears.entrypoints.cli.compliance import load_profile  # noqa: E402
from arrears.entrypoints.cli.run import load_run_policy  # noqa: E402
from arrears.services.daily_run import run_day  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402
from arrears.sim.portfolio import generate_portfolio, load_portfolio  # noqa: E402

AS_OF = date(2026, 3, 31)


configure()


def _store(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="arrears-bench-")
        return f"sqlite:///{folder}/bench.db", None
    server = os.environ.get("ARREARS_TEST_PG_URL") or (ROOT / ".pg_test_url").read_text().strip()
    base = make_url(server).set(drivername="postgresql+psycopg")
    name = f"arrears_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), (admin, name)


def _history(url: str) -> int:
    engine = create_engine(url)
    with engine.begin() as c:
        loans = c.execute(select(LoanRow.id, LoanRow.borrower_id, BorrowerRow.phone).join(BorrowerRow)).all()
        rows = []
        for loan_id, borrower_id, phone in loans:
            for days, channel, outcome in (
                (1, "call", "connected"),
                (2, "robocall", "no_answer"),
                (3, "sms", "sent"),
            ):
                at = datetime.combine(AS_OF - timedelta(days=days), datetime.min.time(), UTC) + timedelta(
                    hours=3
                )
                rows.append(
                    {
                        "loan_id": loan_id,
                        "borrower_id": borrower_id,
                        "channel": channel,
                        "target": phone or "",
                        "at": at,
                        "outcome": outcome,
                        "message_type": "reminder",
                    }
                )
        c.execute(insert(ContactAttemptRow), rows)
    engine.dispose()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    url, cleanup = _store(args.db)
    try:
        load_portfolio(generate_portfolio(args.borrowers, 7, AS_OF), url)
        events = _history(url)
        policy = load_run_policy(None)
        profile = load_profile(policy.compliance_profile)
        seconds = []
        for _ in range(args.repeats):
            with UnitOfWork(url) as uow:
                started = time.perf_counter()
                summary, _ = run_day(uow, AS_OF, policy, profile, "duckdb")
                seconds.append(time.perf_counter() - started)
                uow.rollback()
        median = statistics.median(seconds)
        print(
            f"run_day {args.db}: {summary.accounts:,} accounts, {summary.planned:,} actions, "
            f"{events:,} past attempts: median {median:.3f} s of {args.repeats} "
            f"({', '.join(f'{s:.3f}' for s in seconds)}); statuses {summary.counts.get('statuses')}"
        )
    finally:
        if cleanup is not None:
            admin, name = cleanup  # type: ignore[misc]
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
