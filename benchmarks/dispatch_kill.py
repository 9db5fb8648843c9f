"""The dispatcher under kill -9: `arrears dispatch --workers N` killed at random moments, then run to the end.

    .venv/bin/python benchmarks/dispatch_kill.py [--kills 100] [--messages 8000] [--workers 4] [--write-docs]

SMS go one by one to a counting HTTP sink on 127.0.0.1 (tests/dispatch/servers.py: every POST counted by
its Idempotency-Key). Each round starts `arrears dispatch --once` in its own process, waits until the sink gets
its first message, then a random time (0–1 s), and kills it with SIGKILL — the parent only: its worker processes must die with it (checked: none may
outlive it by more than 2 s, and the sink must get nothing once they are gone). After the last kill one
run goes to the end. Then: repeats (copies beyond the first, per key), lost (rows sent whose key the sink
never got, or never sent at all), stuck (rows still in flight or held). The bound: one message on the wire
per worker per kill. Uses ARREARS_TEST_PG_URL (or .pg_test_url) and a database of its own; `--sqlite`
uses a SQLite file (one worker). `--write-docs`: the section "Dispatcher under kill -9" of
docs/reliability.md. The test suite runs a small version (tests/dispatch/test_kill.py).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.dispatch.servers import HttpSink, http_sink  # noqa: E402

from arrears.adapters.store import forget_engines  # noqa: E402
from arrears.adapters.store.run_models import OutboxRow  # noqa: E402
from arrears.bootstrap import configure  # noqa: E402
from arrears.domain.ledger import compute_position  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402
from arrears.sim.portfolio import generate_portfolio, load_portfolio  # noqa: E402

AS_OF = date(2026, 3, 31)
SEND_AT = "2026-03-31T11:00:00+08:00"
ARREARS = str(Path(sys.executable).with_name("arrears"))

configure()


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != b"Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def _outbox(url: str, messages: int, accounts: int) -> int:
    """`messages` SMS reminders round-robin over the overdue loans; returns the borrowers."""
    load_portfolio(generate_portfolio(accounts, 11, AS_OF), url)
    with UnitOfWork(url) as uow:
        overdue = [r for r in uow.loans.stream_records() if compute_position(r.loan, AS_OF).overdue.total > 0]
    now = datetime.now(UTC)
    rows = [
        {
            "idempotency_key": f"kill:{i}",
            "run_id": "kill",
            "loan_id": overdue[i % len(overdue)].id,
            "borrower_id": overdue[i % len(overdue)].borrower_id,
            "as_of": AS_OF,
            "anchor": None,
            "kind": "step",
            "step_id": f"kill_{i}",
            "channel": "sms",
            "template": "sms/reminder",
            "tone": "regular",
            "requires": "",
            "segment": "kill",
            "experiment": "",
            "arm": "",
            "status": "pending",
            "rules": "",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(messages)
    ]
    engine = create_engine(url)
    with engine.begin() as c:
        for start in range(0, len(rows), 5000):
            c.execute(insert(OutboxRow), rows[start : start + 5000])
    engine.dispose()
    return len({r.borrower_id for r in overdue})


def _dispatch(url: str, sink: HttpSink, workers: int, rate: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ARREARS_SMS_PROVIDER": "http",
        "ARREARS_SMS_URL": sink.url + "/sms",
        "ARREARS_SMS_BATCH_URL": "",
        "ARREARS_EMAIL_HOST": "",
        "ARREARS_SMPP_HOST": "",
        "ARREARS_PUSH_URL": "",
        "ARREARS_IN_APP_URL": "",
        "ARREARS_ROBOCALL_URL": "",
        "ARREARS_RATE_LIMITS_SMS": str(rate),
        "ARREARS_RETRY_MAX_ATTEMPTS": "50",
    }
    command = [ARREARS, "dispatch", "--once", "--dev", "--db", url, "--workers", str(workers)]
    command += ["--as-of-time", SEND_AT, "--json"]
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def _total(sink: HttpSink) -> int:
    with sink.lock:
        return len(sink.requests)


def kill_loop(
    url: str, *, kills: int, messages: int, workers: int, rate: int, accounts: int = 600, seed: int = 14
) -> dict[str, Any]:
    """Run the kill loop on the store at `url` (empty); returns the figures."""
    rng = random.Random(seed)
    borrowers = _outbox(url, messages, accounts)
    survivors = after_death = 0
    started = time.perf_counter()
    with http_sink() as sink, tempfile.TemporaryDirectory() as folder:
        for _ in range(kills):
            before = _total(sink)
            process = _dispatch(url, sink, workers, rate, Path(folder))
            # Killed while it sends: once its first message arrived, after a random time.
            waited = time.monotonic() + 20.0
            while _total(sink) == before and time.monotonic() < waited and process.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 1.0))
            children = _children(process.pid)
            process.send_signal(signal.SIGKILL)
            process.wait()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and any(_alive(c) for c in children):
                time.sleep(0.02)
            survivors += sum(1 for c in children if _alive(c))
            for c in children:  # never leave one behind, whatever the check found
                if _alive(c):
                    os.kill(c, signal.SIGKILL)
            seen = _total(sink)
            time.sleep(0.3)
            after_death += _total(sink) - seen
        during = _total(sink)
        final = _dispatch(url, sink, workers, rate * 4, Path(folder))
        _out, err = final.communicate(timeout=600)
        if final.returncode not in (0, 1):
            raise RuntimeError(f"the final run failed ({final.returncode}): {err.decode()[-2000:]}")
        with sink.lock:
            counts = Counter(r["key"] for r in sink.requests)
    engine = create_engine(url)
    with engine.connect() as c:
        statuses = dict(c.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all())
        held = c.execute(select(func.count()).where(OutboxRow.claimed_by.is_not(None))).scalar_one()
        sent_keys = set(c.scalars(select(OutboxRow.idempotency_key).where(OutboxRow.status == "sent")))
    engine.dispose()
    forget_engines()
    finished = {"sent", "cancelled", "blocked", "expired", "dead", "deferred"}
    return {
        "kills": kills,
        "workers": workers if url.startswith("postgresql") else 1,
        "messages": messages,
        "borrowers": borrowers,
        "statuses": dict(sorted(statuses.items())),
        "posts": sum(counts.values()),
        "posts_while_killed": during,
        "delivered": len(counts),
        "repeats": sum(n - 1 for n in counts.values()),
        "most_copies": max(counts.values(), default=0),
        "lost": len(sent_keys - set(counts)) + sum(n for s, n in statuses.items() if s not in finished),
        "stuck": held + statuses.get("sending", 0),
        "survivors": survivors,
        "after_death": after_death,
        "bound": kills * (workers if url.startswith("postgresql") else 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


@contextmanager
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own, dropped at the end."""
    server = make_url(os.environ.get("ARREARS_TEST_PG_URL") or (ROOT / ".pg_test_url").read_text().strip())
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"arrears_kill_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        forget_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _row(store: str, r: dict[str, Any]) -> str:
    return (
        f"| {store} | {r['workers']} | {r['messages']:,} | {r['kills']} | {r['posts']:,} | {r['delivered']:,} | "
        f"{r['posts_while_killed']:,} | {r['repeats']} (most copies of one key: {r['most_copies']}) | ≤ {r['bound']} | {r['lost']} | "
        f"{r['stuck']} | {r['survivors']} / {r['after_death']} | {r['seconds']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--messages", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=int, default=200, help="SMS per second, all workers together")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/kill.db"
            result = kill_loop(url, kills=args.kills, messages=args.messages, workers=1, rate=args.rate)
        store = "SQLite"
    else:
        with pg_database() as url:
            result = kill_loop(
                url, kills=args.kills, messages=args.messages, workers=args.workers, rate=args.rate
            )
        store = "PostgreSQL"
    print(result)
    table = [
        "| store | workers | messages | kills | POSTs | keys delivered | POSTs before the final run | repeats | bound | lost | stuck | "
        "workers outliving the parent / POSTs after | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|",
        _row(store, result),
    ]
    print("\n".join(table))
    if args.write_docs:
        header = (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `benchmarks/dispatch_kill.py --kills {args.kills} "
            f"--messages {args.messages} --workers {args.workers}` ({store}; SMS one by one at {args.rate}/s "
            f"to a counting HTTP sink; each `arrears dispatch` killed with SIGKILL 0–1 s after its "
            f"first message arrived, then one run to the end); {os.cpu_count()} CPUs, load average before "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}. Final statuses: {result['statuses']}."
        )
        body = (
            "Produced by `make reliability` (`benchmarks/dispatch_kill.py --write-docs`); a small version "
            "runs in the test suite (`tests/dispatch/test_kill.py`: 5 kills, SQLite and PostgreSQL). What "
            'is re-sent after a crash and why: docs/channels.md, "Crashes".\n\n'
            f"{header}\n\n" + "\n".join(table)
        )
        doc = ROOT / "docs" / "reliability.md"
        existing = doc.read_text(encoding="utf-8")
        section = "## Dispatcher under kill -9"
        if section in existing:
            start = existing.index(section)
            end = existing.find("\n## ", start + len(section))
            end = len(existing) if end < 0 else end + 1
            existing = existing[:start] + f"{section}\n\n{body}\n\n" + existing[end:]
        else:
            existing = existing.rstrip("\n") + f"\n\n{section}\n\n{body}\n"
        doc.write_text(existing.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
