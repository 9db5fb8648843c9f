"""The daily run by parts (issue 18): a run that reads the store in ranges of loans, on one process or on
worker processes, writes exactly the outbox rows and the run record of the run that reads it whole
(SQLite and PostgreSQL); the CLI's --workers / --part-accounts, its warnings (a missing day, stale data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from arrears.adapters.policy_file import load_policy
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store.run_models import OutboxRow, RunRow
from arrears.bootstrap import configure
from arrears.services import daily_run
from arrears.services.daily_run import run_day
from arrears.services.run_workers import WorkerPlanner
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.portfolio import generate_portfolio, load_portfolio
from tests.conftest import _empty_pg

ROOT = Path(__file__).parents[2]
AS_OF = date(2026, 3, 31)
POLICY_FILES = ("segmented.yaml", "jd-baitiao-11day.yaml")
# Everything of an outbox row but its serial id and the instants the run stamps when it writes.
OUTBOX = [c for c in OutboxRow.__table__.columns if c.name not in {"id", "created_at", "updated_at"}]
RUN = [c for c in RunRow.__table__.columns if c.name not in {"started_at", "seconds"}]


def _policy(name: str) -> Any:
    return load_policy(ROOT / "policies" / name)


def _day(url: str, as_of: date, policy: Any, *, part_accounts: int | None, planner: Any = None) -> Any:
    """The outbox rows and run record a run of `as_of` writes (rolled back afterwards)."""
    profile = load_profile(policy.compliance_profile)
    with UnitOfWork(url) as uow:
        run_day(uow, as_of, policy, profile, "duckdb", part_accounts=part_accounts, planner=planner)
        rows = uow.connection.execute(select(*OUTBOX).where(OutboxRow.as_of == as_of)).all()
        record = uow.connection.execute(select(*RUN).where(RunRow.as_of == as_of)).one()
        uow.rollback()
    return sorted(tuple(r) for r in rows), tuple(record)


def _commit_day(url: str, as_of: date, policy: Any) -> None:
    with UnitOfWork(url) as uow:
        run_day(uow, as_of, policy, load_profile(policy.compliance_profile), "duckdb")
        uow.commit()


def _fresh(url: str, tmp: Path, n: int) -> str:
    if url.startswith("sqlite"):
        path = tmp / f"parts-{n}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    _empty_pg(url)
    return url


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    borrowers=st.integers(20, 120),
    seed=st.integers(0, 10_000),
    part_accounts=st.integers(1, 60),
    policy_name=st.sampled_from(POLICY_FILES),
    shift=st.integers(0, 40),
)
def test_parts_write_what_the_whole_run_writes(
    store_url: str,
    tmp_path: Path,
    borrowers: int,
    seed: int,
    part_accounts: int,
    policy_name: str,
    shift: int,
) -> None:
    url = _fresh(store_url, tmp_path, seed)
    day = AS_OF - timedelta(days=shift)
    load_portfolio(generate_portfolio(borrowers, seed, day), url)
    policy = _policy(policy_name)
    _commit_day(url, day, policy)  # the next day's run reads what this one planned
    following = day + timedelta(days=1)
    whole = _day(url, following, policy, part_accounts=None)
    parts = _day(url, following, policy, part_accounts=part_accounts)
    assert parts == whole
    assert whole[1][RUN.index(RunRow.__table__.c.accounts)] >= borrowers


def test_parts_on_worker_processes_write_what_one_process_writes(store_url: str) -> None:
    load_portfolio(generate_portfolio(300, 5, AS_OF), store_url)
    policy = _policy("segmented.yaml")
    whole = _day(store_url, AS_OF, policy, part_accounts=None)
    assert whole[0], "the portfolio plans some actions"
    profile = load_profile(policy.compliance_profile)
    # spawned workers: the loader must not bring this module (and the session's conftest) into them
    loader = partial(load_policy, ROOT / "policies" / "segmented.yaml")
    with WorkerPlanner(store_url, 2, configure, loader, profile, "duckdb") as planner:
        assert _day(store_url, AS_OF, policy, part_accounts=70, planner=planner) == whole


def _outbox(url: str) -> list[tuple[Any, ...]]:
    with UnitOfWork(url) as uow:
        return sorted(tuple(r) for r in uow.connection.execute(select(*OUTBOX)).all())


def test_cli_runs_by_parts_on_workers_and_is_idempotent(
    store_url: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    load_portfolio(generate_portfolio(250, 9, AS_OF), store_url)
    first = cli("run", "--as-of", "2026-03-31", "--workers", "2", "--part-accounts", "60", "--json")
    assert first.code == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["written"] == summary["planned"] > 0 and summary["warnings"] == []
    written = _outbox(store_url)
    again = json.loads(cli("run", "--as-of", "2026-03-31", "--part-accounts", "7", "--json").stdout)
    assert again["already_run"] and again["written"] == 0 and again["planned"] == summary["planned"]
    assert _outbox(store_url) == written
    bad = cli("run", "--as-of", "2026-03-31", "--workers", "0")
    assert bad.code == 2 and "--workers" in bad.stderr and "Traceback" not in bad.stderr
    spark = cli("run", "--as-of", "2026-03-31", "--engine", "spark", "--workers", "2")
    assert spark.code == 2 and "--workers 1" in spark.stderr and "Traceback" not in spark.stderr


def test_a_missing_day_is_named_with_the_through_that_catches_up(
    store_url: str, cli: Callable[..., Any]
) -> None:
    load_portfolio(generate_portfolio(60, 3, AS_OF), store_url)
    assert cli("run", "--as-of", "2026-03-28").code == 0
    gap = cli("run", "--as-of", "2026-03-31", "--json")
    assert gap.code == 0, gap.stderr
    (warning,) = json.loads(gap.stdout)["warnings"]
    assert "2026-03-30 was not run" in warning and "2 day(s) missing" in warning
    assert "arrears run --as-of 2026-03-29 --through 2026-03-31" in warning
    text = cli("run", "--as-of", "2026-04-02")
    assert "warning" in text.stderr and "--as-of 2026-04-01 --through 2026-04-02" in text.stderr
    caught_up = cli("run", "--as-of", "2026-03-29", "--through", "2026-03-30", "--json")
    assert caught_up.code == 0 and [d["as_of"] for d in json.loads(caught_up.stdout)] == [
        "2026-03-29",
        "2026-03-30",
    ]


def test_a_run_after_the_last_import_warns_of_stale_data(store_url: str, cli: Callable[..., Any]) -> None:
    load_portfolio(generate_portfolio(40, 4, AS_OF), store_url)
    today = datetime.now(UTC).date()  # the import ran today
    later = today + timedelta(days=3)
    out = cli("run", "--as-of", later.isoformat(), "--json")
    assert out.code == 0, out.stderr
    (warning,) = json.loads(out.stdout)["warnings"]
    assert f"stale data: the last import was on {today}" in warning
    text = cli("run", "--as-of", (later + timedelta(days=1)).isoformat())
    assert "stale data" in text.stderr


def test_a_run_failing_in_a_later_part_leaves_no_row_of_the_day(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_portfolio(generate_portfolio(120, 8, AS_OF), store_url)
    policy = _policy("segmented.yaml")
    real = daily_run.plan_part
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the machine died half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(daily_run, "plan_part", failing)
    with pytest.raises(RuntimeError):
        _commit_day_in_parts(store_url, AS_OF, policy, 30)
    with UnitOfWork(store_url) as uow:
        assert uow.runs.planned_on(AS_OF) == 0 and uow.runs.last_run_before(AS_OF + timedelta(days=1)) is None
    monkeypatch.setattr(daily_run, "plan_part", real)
    _commit_day_in_parts(store_url, AS_OF, policy, 30)  # the day runs again, whole
    with UnitOfWork(store_url) as uow:
        assert uow.runs.planned_on(AS_OF) > 0


def _commit_day_in_parts(url: str, as_of: date, policy: Any, part_accounts: int) -> None:
    with UnitOfWork(url) as uow:
        run_day(
            uow, as_of, policy, load_profile(policy.compliance_profile), "duckdb", part_accounts=part_accounts
        )
        uow.commit()
