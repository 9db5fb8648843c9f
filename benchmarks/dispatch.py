"""Dispatch throughput: SMS rendered and sent to a local HTTP sink, by worker count, on PostgreSQL.

    .venv/bin/python benchmarks/dispatch.py [--rows 20000] [--workers 1,2,4] [--no-batch] [--no-append]
    .venv/bin/python benchmarks/dispatch.py --workers 4 --before /tmp/dispatch_before --write-channels-doc

`--before DIR`: the same measurement with the code of another checkout (a git worktree of an older
commit) in a subprocess, alternating with this one per worker count and mode, so both see the same
machine load; `--write-channels-doc` writes the side-by-side table into docs/channels.md.

Uses ARREARS_TEST_PG_URL (or .pg_test_url) and creates a database of its own, dropped at the end. The
sink is a separate process (so it does not share the dispatcher's GIL) answering every POST with 200;
by default the SMS gateway's batch-send API is used (one POST per up to 100 messages, a result per
message), `--no-batch`: one POST per SMS.
Prints a table and appends it to docs/performance.md under "## Dispatch".
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
# `--src DIR` (used by --before): import arrears from another checkout's src/.
_SRC = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv else str(ROOT / "src")
sys.path.insert(0, _SRC)

from arrears.adapters.channels.config import build_channels, close_channels, load_channels_config  # noqa: E402
from arrears.adapters.profile_file import load_profile  # noqa: E402
from arrears.adapters.store import forget_engines  # noqa: E402
from arrears.adapters.store.dispatch_models import ContactAttemptRow, DeliveryRow  # noqa: E402
from arrears.adapters.store.run_models import OutboxRow  # noqa: E402
from arrears.bootstrap import configure, make_dispatcher  # noqa: E402
from arrears.domain.ledger import compute_position  # noqa: E402
from arrears.services.dispatch import BATCH, dispatch  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402
from arrears.sim.portfolio import generate_portfolio, load_portfolio  # noqa: E402

AS_OF = date(2026, 3, 31)
SEND_AT = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


configure()


def _sink(port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = b'{"status": "accepted"}'
            if self.path.endswith("/batch"):
                keys = [m["idempotency_key"] for m in json.loads(data)["messages"]]
                body = json.dumps(
                    {"results": [{"idempotency_key": k, "status": "accepted"} for k in keys]}
                ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the forked dispatch workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _pg_url() -> str:
    url = os.environ.get("ARREARS_TEST_PG_URL") or (ROOT / ".pg_test_url").read_text().strip()
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _outbox_rows(url: str, n: int) -> int:
    """`n` SMS reminders, round-robin over the overdue loans (consecutive rows: different borrowers)."""
    with UnitOfWork(url) as uow:
        overdue = [r for r in uow.loans.stream_records() if compute_position(r.loan, AS_OF).overdue.total > 0]
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        rec = overdue[i % len(overdue)]
        rows.append(
            {
                "idempotency_key": f"bench:{i}",
                "run_id": "bench",
                "loan_id": rec.id,
                "borrower_id": rec.borrower_id,
                "as_of": AS_OF,
                "anchor": None,
                "kind": "step",
                "step_id": f"bench_{i}",
                "channel": "sms",
                "template": "sms/reminder",
                "tone": "regular",
                "requires": "",
                "segment": "bench",
                "experiment": "",
                "arm": "",
                "status": "pending",
                "rules": "",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(delete(OutboxRow))
        for start in range(0, n, 5000):
            c.execute(insert(OutboxRow), rows[start : start + 5000])
    engine.dispose()
    return len({r.borrower_id for r in overdue})


def _reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(delete(DeliveryRow))
        c.execute(delete(ContactAttemptRow))
        c.execute(
            update(OutboxRow).values(status="pending", attempts=0, next_allowed_at=None, last_error=None)
        )
    engine.dispose()


def _measure(args: argparse.Namespace) -> tuple[list[tuple[int, int, float, float, float]], int]:
    """Each worker count's (workers, sent, seconds, SMS/s, dispatcher CPU s), and the borrowers."""
    server = make_url(_pg_url())
    name = f"arrears_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    sink = multiprocessing.Process(target=_sink, args=(queue,), daemon=True)
    sink.start()
    results = []
    try:
        port = queue.get(timeout=10)
        load_portfolio(generate_portfolio(args.accounts, 7, AS_OF), url)
        borrowers = _outbox_rows(url, args.rows)
        environ = {"ARREARS_SMS_URL": f"http://127.0.0.1:{port}/sms"}
        if not args.no_batch:
            environ["ARREARS_SMS_BATCH_URL"] = f"http://127.0.0.1:{port}/sms/batch"
        config = load_channels_config(environ=environ)
        profile = load_profile("cn")
        for workers in [int(w) for w in args.workers.split(",")]:
            _reset(url)
            channels = build_channels(config)
            d = make_dispatcher(url, channels, config, profile, now=lambda: SEND_AT)
            cpu_before = _cpu()
            started = time.perf_counter()
            report = dispatch(d, workers=workers, batch=args.batch)
            seconds = time.perf_counter() - started
            cpu = _cpu() - cpu_before  # the dispatcher's own CPU (its worker processes included)
            close_channels(channels)
            sent = report.outcomes.get("sent", 0)
            results.append((workers, sent, seconds, sent / seconds, cpu))
            if not args.json:
                print(
                    f"workers={workers} sent={sent} in {seconds:.2f}s: {sent / seconds:,.0f} SMS/s, "
                    f"dispatcher CPU {cpu:.2f}s",
                    flush=True,
                )
        engine = create_engine(url)
        with engine.connect() as c:
            left = c.execute(
                select(OutboxRow.status, OutboxRow.rules, func.count())
                .where(OutboxRow.status != "sent")
                .group_by(OutboxRow.status, OutboxRow.rules)
            ).all()
            if left:
                print(f"not sent: {[tuple(r) for r in left]}", file=sys.stderr)
        engine.dispose()
    finally:
        sink.terminate()
        forget_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return results, borrowers


def _run_side(src: str, args: argparse.Namespace, no_batch: bool) -> list[list[float]]:
    """One measurement in a subprocess importing arrears from `src` (this checkout's or another's)."""
    command = [sys.executable, __file__, "--src", src, "--json", "--no-append"]
    command += ["--rows", str(args.rows), "--accounts", str(args.accounts), "--workers", args.workers]
    command += ["--batch", str(args.batch)] + (["--no-batch"] if no_batch else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return list(json.loads(done.stdout.strip().splitlines()[-1])["results"])


def _side_by_side(args: argparse.Namespace) -> None:
    """Before (`--before DIR`) and after, alternating per mode, and the table of both."""
    before_src = str(Path(args.before) / "src")
    commit = subprocess.run(
        ["git", "-C", args.before, "log", "-1", "--format=%h"], capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()
    lines = []
    for no_batch in (False, True):
        mode = "one POST per SMS" if no_batch else "batch API, ≤ 100 per POST"
        for round_ in range(args.repeat):
            before = _run_side(before_src, args, no_batch)
            after = _run_side(str(ROOT / "src"), args, no_batch)
            for (w, sb, secb, rb, _), (_, sa, seca, ra, _) in zip(before, after, strict=True):
                line = (
                    f"| {mode} | {int(w)} | {round_ + 1} | {int(sb):,} in {secb:.2f} s: **{rb:,.0f}** | "
                    f"{int(sa):,} in {seca:.2f} s: **{ra:,.0f}** | {100 * (ra - rb) / rb:+.0f} % |"
                )
                print(line, flush=True)
                lines.append(line)
    table = [
        "| SMS channel | workers | round | before: sent, SMS/s | after: sent, SMS/s | change |",
        "|---|---:|---:|---:|---:|---:|",
        *lines,
    ]
    header = (
        f"`benchmarks/dispatch.py --rows {args.rows} --workers {args.workers} --before …` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, PostgreSQL, {os.cpu_count()} CPUs (load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start): before = commit {commit} (one commit per "
        f"200-row claim), after = this checkout (marked in flight before each send, sent right after); "
        "before and after alternate, each in its own process and database."
    )
    print("\n".join(table))
    if args.write_channels_doc:
        _write_section(
            ROOT / "docs" / "channels.md",
            "### Throughput before and after",
            f"{header}\n\n" + "\n".join(table),
        )


def _write_section(doc: Path, section: str, block: str) -> None:
    """Replace (or add at the end) the section `section` of `doc` with `block`."""
    existing = doc.read_text(encoding="utf-8")
    level = section.split(" ", 1)[0]
    if section in existing:
        start = existing.index(section)
        end = existing.find(f"\n{level} ", start + len(section))
        nxt = existing.find("\n## ", start + len(section))
        ends = [e for e in (end, nxt) if e >= 0]
        end = min(ends) if ends else len(existing)
        existing = existing[:start] + f"{section}\n\n{block}\n" + existing[end:]
    else:
        existing = existing.rstrip("\n") + f"\n\n{section}\n\n{block}\n"
    doc.write_text(existing, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per claim")
    parser.add_argument("--no-batch", action="store_true", help="one POST per SMS, not the batch API")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--src", help="import arrears from this src/ directory (used by --before)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    parser.add_argument("--before", help="a checkout of the code to compare with (git worktree)")
    parser.add_argument("--repeat", type=int, default=1, help="--before: rounds of before / after")
    parser.add_argument("--write-channels-doc", action="store_true", help="--before: into docs/channels.md")
    args = parser.parse_args()
    if args.before:
        _side_by_side(args)
        return
    results, borrowers = _measure(args)
    if args.json:
        print(json.dumps({"results": results, "borrowers": borrowers}))
        return
    table = [
        "| workers | SMS sent | seconds | SMS/s | dispatcher CPU s | CPU ms per SMS |",
        "|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {w} | {s:,} | {sec:.2f} | {rate:,.0f} | {cpu:.2f} | {1000 * cpu / max(s, 1):.2f} |"
            for w, s, sec, rate, cpu in results
        ],
    ]
    header = (
        f"`benchmarks/dispatch.py --rows {args.rows}` on {datetime.now(UTC):%Y-%m-%d}, PostgreSQL, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}: sms/reminder rendered (zh-CN, UCS-2) and "
        f"POSTed to a local HTTP sink ({'one POST per SMS' if args.no_batch else 'batch API, ≤ 100 per POST'}), compliance re-checked per row, over {borrowers} borrowers."
    )
    print("\n".join(table))
    if not args.no_append:
        doc = ROOT / "docs" / "performance.md"
        existing = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
        section = "## Dispatch"
        block = f"{header}\n\n" + "\n".join(table) + "\n"
        if section not in existing:
            existing = existing.rstrip("\n") + f"\n\n{section}\n"
        # At the end of the Dispatch section, before the next section (other parts own those).
        start = existing.index(section) + len(section)
        end = existing.find("\n## ", start)
        end = len(existing) if end < 0 else end
        head, tail = existing[:end].rstrip("\n"), existing[end:]
        doc.write_text(f"{head}\n\n{block}{tail if tail else ''}", encoding="utf-8")


if __name__ == "__main__":
    main()
