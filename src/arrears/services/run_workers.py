"""The daily run's parts planned on worker processes (`arrears run --workers N`).

Each worker opens its own connection to the store (SQLite reads in parallel; on PostgreSQL each part is its
own `COPY … TO STDOUT`), reads a part (a range of loan ids), plans it (`daily_run.plan_part`: ledger,
features, scores, steps and the compliance filter with the debtors' facts and contact history) and hands
back the part's outbox rows. The parent writes them, part after part in key order, in the day's one
transaction, so the day stays all-or-nothing and the rows are those of the run in one process.

At most `workers + 1` parts are in flight: memory is bounded by the part size, not the portfolio. Workers
are spawned once for all the days of a run; what they need from outside the services comes as picklable
callables: the store's set-up (`arrears.bootstrap.configure`) and the policy's loader (a policy holds
compiled predicates, which do not pickle).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError
from arrears.domain.policy.model import Policy
from arrears.services.daily_run import PartPlan, part_history, plan_part
from arrears.services.unit_of_work import UnitOfWork

KeyRange = tuple[str | None, str | None]

_WORKER: dict[str, Any] = {}  # what a worker process was started with (set by _start)


def _start(
    setup: Callable[[], None],
    url: str | None,
    policy: Callable[[], Policy],
    profile: ComplianceProfile,
    engine_name: str,
) -> None:
    setup()
    if engine_name == "duckdb":  # the workers share the cores: one engine thread each
        from arrears.engine.duckdb_engine import set_threads

        set_threads(1)
    _WORKER.update(url=url, policy=policy(), profile=profile, engine=engine_name)


def _plan(task: tuple[date, KeyRange, pa.Table, str, datetime]) -> PartPlan:
    as_of, key_range, history, run_id, started_at = task
    w = _WORKER
    with UnitOfWork(w["url"]) as uow:
        tables = uow.runs.snapshot_part(as_of, key_range)
        mine = part_history(history, tables["loans"]["loan_id"])
        return plan_part(uow, tables, as_of, w["policy"], w["profile"], w["engine"], mine, run_id, started_at)


class WorkerPlanner:
    """A `PartPlanner` (services/daily_run.py) on `workers` processes; close() (or `with`) stops them."""

    def __init__(
        self,
        url: str | None,
        workers: int,
        setup: Callable[[], None],
        policy: Callable[[], Policy],
        profile: ComplianceProfile,
        engine_name: str,
    ) -> None:
        if workers < 1:
            raise InputError("at least one worker is needed", field="--workers")
        if engine_name == "spark":
            raise InputError(
                "the spark engine spreads a run over its own executors: use --workers 1", field="--workers"
            )
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(setup, url, policy, profile, engine_name),
        )

    def __call__(
        self, as_of: date, bounds: list[KeyRange], history: pa.Table, run_id: str, started_at: datetime
    ) -> Iterator[PartPlan]:
        waiting: deque[Future[PartPlan]] = deque()
        ranges = iter(bounds)
        for key_range in ranges:
            waiting.append(self._pool.submit(_plan, (as_of, key_range, history, run_id, started_at)))
            if len(waiting) > self.workers:
                break
        while waiting:
            part = waiting.popleft().result()
            following = next(ranges, None)
            if following is not None:
                waiting.append(self._pool.submit(_plan, (as_of, following, history, run_id, started_at)))
            yield part

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPlanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
