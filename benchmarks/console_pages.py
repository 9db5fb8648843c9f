"""Console page latency: the agent desk and the account page on a large PostgreSQL store, p50 / p95.

    .venv/bin/python benchmarks/console_pages.py [--borrowers 100000] [--requests 200] [--db URL]

Without --db: a database `arrears_console_bench` on the server of ARREARS_TEST_PG_URL (or .pg_test_url),
built once and kept for the next runs (`--rebuild` to start again): a synthetic portfolio (sim
generate_portfolio, seed 7, as of 2026-03-31) loaded through the import service, the segmented policy's
daily run for that day, a dispatch pass queueing its agent calls as tasks, the cases of the borrowers the run
acted on, one agent user (each step skipped when done, so an interrupted build resumes).
Then the pages are requested in-process (the ASGI app `arrears serve` runs, through httpx's ASGI transport:
no network) by the signed-in agent: GET /desk and GET /accounts/{loan} for the loans of the desk in turn,
after a warm-up. Latency is the request's wall time, server-side rendering included."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from arrears.bootstrap import configure

AS_OF = date(2026, 3, 31)
DB_NAME = "arrears_console_bench"
PASSWORD = "benchmark password"
AGENT = "bench-agent"


def server_url() -> str:
    url = os.environ.get("ARREARS_TEST_PG_URL") or Path(".pg_test_url").read_text().strip()
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def bench_database(rebuild: bool) -> tuple[str, bool]:
    """The benchmark database's URL, and whether it must be built."""
    server = make_url(server_url())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}
        ).scalar()
        if exists and rebuild:
            connection.execute(text(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)'))
            exists = None
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return server.set(database=DB_NAME).render_as_string(hide_password=False), not exists


def build(url: str, borrowers: int) -> None:
    """Each step once: a re-run after an interruption goes on where the last one stopped."""
    from arrears.adapters.channels.agent_tasks import AgentTaskChannel
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.policy_file import load_policy
    from arrears.adapters.profile_file import load_profile
    from arrears.bootstrap import make_dispatcher
    from arrears.domain.staff import NewStaffUser
    from arrears.services import cases
    from arrears.services.daily_run import run_range
    from arrears.services.dispatch import dispatch
    from arrears.services.staff import create_user
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.sim.portfolio import generate_portfolio, load_portfolio

    started = time.perf_counter()
    engine = create_engine(url)

    def count(sql: str) -> int:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar() or 0)

    if count("SELECT count(*) FROM borrowers") == 0:
        load_portfolio(generate_portfolio(borrowers, 7, AS_OF), url)
        print(
            f"portfolio of {borrowers:,} borrowers loaded in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    profile = load_profile("cn")
    if count("SELECT count(*) FROM runs") == 0:
        policy = load_policy(Path(__file__).resolve().parents[1] / "policies" / "segmented.yaml")
        run_range(url, AS_OF, AS_OF, policy, profile)
    if count("SELECT count(*) FROM agent_tasks") == 0:
        ten = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
        config = load_channels_config(None, environ={})
        channels = {"agent_call": AgentTaskChannel()}
        dispatch(make_dispatcher(url, channels, config, profile, now=lambda: ten), workers=1)
    # Cases for the borrowers the run acted on (the delinquent ones the desk is about), not all 100,000:
    # refreshing every borrower one by one is the slow, whole-portfolio job of POST /cases/refresh.
    with engine.connect() as connection:
        acted = list(connection.execute(text("SELECT DISTINCT borrower_id FROM outbox ORDER BY 1")).scalars())
        done = set(connection.execute(text("SELECT borrower_id FROM cases")).scalars())
    model = cases.CaseworkConfig().recovery
    with UnitOfWork(url) as uow:
        for i, borrower_id in enumerate((b for b in acted if b not in done), start=1):
            cases.refresh_case(uow, borrower_id, AS_OF, model)
            if i % 500 == 0:
                uow.commit()
        if uow.staff.get(AGENT) is None:
            create_user(uow, NewStaffUser(AGENT, "agent"), PASSWORD, "benchmark", datetime.now(UTC))
        uow.commit()
    engine.dispose()
    open_cases = count_cases(url)
    print(f"built in {time.perf_counter() - started:.0f} s: {open_cases:,} open cases", flush=True)


def count_cases(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = int(
            connection.execute(text("SELECT count(*) FROM cases WHERE status = 'open'")).scalar() or 0
        )
    engine.dispose()
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(url: str, requests: int) -> dict[str, dict[str, float]]:
    import re

    from fastapi.testclient import TestClient

    from arrears.entrypoints.api import create_app
    from arrears.services.cases import CaseworkConfig

    app = create_app(url, CaseworkConfig(token_secret="b" * 32))
    app.state.clock = lambda: datetime(2026, 3, 31, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    out: dict[str, dict[str, float]] = {}
    with TestClient(app, follow_redirects=False) as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        signed = client.post("/login", data={"username": AGENT, "password": PASSWORD, "csrf": csrf})
        assert signed.status_code == 303, signed.text
        desk = client.get("/desk")
        loans = list(dict.fromkeys(re.findall(r'href="/accounts/([^"]+)"', desk.text)))
        assert loans, "the desk is empty"
        pages = {"desk": lambda i: "/desk", "account": lambda i: f"/accounts/{loans[i % len(loans)]}"}
        for name, path in pages.items():
            for i in range(10):  # warm-up
                assert client.get(path(i)).status_code == 200
            times, cpu = [], []
            for i in range(requests):
                started, started_cpu = time.perf_counter(), time.process_time()
                answer = client.get(path(i))
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert answer.status_code == 200
            out[name] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
                "cpu_p50_ms": round(statistics.median(cpu), 1),
                "cpu_p95_ms": round(percentile(cpu, 0.95), 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", help="an already built store (skips the build)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    configure()
    if args.db:
        url = args.db
    else:
        url, _ = bench_database(args.rebuild)
        build(url, args.borrowers)
    found = measure(url, args.requests)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, f in found.items():
        print(
            f"{name:8s} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  max {f['max_ms']:7.1f} ms"
            f"  (app CPU p50 {f['cpu_p50_ms']:.1f} ms, p95 {f['cpu_p95_ms']:.1f} ms)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
