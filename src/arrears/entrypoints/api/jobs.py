"""Background jobs: the whole-portfolio operations (case refresh, bureau export) answer 202 with a job id
at once and run in a thread of the worker that accepted them; `GET /jobs/{id}` tells how it went and
holds the result. One job of a kind is queued or running at a time (the store's `jobs` table keeps that
across workers and instances: a second request gets 409 naming the running job). A job whose worker died
stops beating and is marked failed ("abandoned") when the next one of its kind is asked for."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from arrears.adapters.store.job_repository import JobStore
from arrears.adapters.store.limits import RequestBudget, budget_scope
from arrears.domain.errors import ArrearsError
from arrears.domain.jobs import HEARTBEAT, Job
from arrears.entrypoints.api.limits import Limit, Offset
from arrears.entrypoints.api.problems import problem
from arrears.entrypoints.api.security import Caller
from arrears.services import bureau, cases
from arrears.services.auth import Principal
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
router = APIRouter(tags=["jobs"])
JOB_SECONDS = 3600.0  # a job's own time budget on the store (statement timeout included)
REFRESH_CHUNK = 200  # borrowers per transaction of a case refresh: row locks are held that long only
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _refresh_cases(
    url: str | None, cfg: CaseworkConfig, params: dict[str, Any], actor: str
) -> dict[str, Any]:
    with UnitOfWork(url) as uow:
        open_cases = cases.refresh_cases(
            uow, date.fromisoformat(params["as_of"]), cfg.recovery, commit_every=REFRESH_CHUNK
        )
        uow.commit()
    return {"open_cases": open_cases}


def _bureau_export(
    url: str | None, cfg: CaseworkConfig, params: dict[str, Any], actor: str
) -> dict[str, Any]:
    with UnitOfWork(url) as uow:
        text, rows = bureau.export(uow, params["month"], cfg.bureau_notice_days, actor)
        uow.commit()
    return {"month": params["month"], "csv": text, "records": rows}


@dataclass(frozen=True, slots=True)
class JobKind:
    roles: tuple[str, ...]  # who may start one and read it
    run: Callable[[str | None, CaseworkConfig, dict[str, Any], str], dict[str, Any]]


KINDS = {
    "case_refresh": JobKind(("admin", "supervisor"), _refresh_cases),
    "bureau_export": JobKind(("admin", "compliance"), _bureau_export),
}


class JobRunning(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(f"a {job.kind} job is already {job.status}: {job.id}")
        self.job = job


class JobRunner:
    """Starts the jobs this worker accepted, each in a thread, and beats for them while they run."""

    def __init__(self, store_url: str | None, config: CaseworkConfig) -> None:
        self.url = store_url
        self.config = config
        self.store = JobStore(store_url)
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None

    def submit(self, kind: str, params: dict[str, Any], actor: str) -> Job:
        """Queue a job and start it; JobRunning if one of its kind is queued or running."""
        job, created = self.store.start(kind, params, actor)
        if not created:
            raise JobRunning(job)
        with self._lock:
            self._running.add(job.id)
            if self._heart is None:
                self._heart = threading.Thread(target=self._beat, name="arrears-job-heartbeat", daemon=True)
                self._heart.start()
        # daemon: a worker that stops does not wait for its jobs; they stop beating and are taken as dead
        threading.Thread(target=self._run, args=(job,), name=f"arrears-job-{job.id[:8]}", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        try:
            self.store.running(job.id)
            # Jobs write (cases, bureau records): on SQLite their transactions take the write lock up front,
            # so the heartbeat's commit cannot move the snapshot a job read before its first write
            # (SQLITE_BUSY_SNAPSHOT, "database is locked" at once, which no busy timeout waits out).
            with budget_scope(RequestBudget(JOB_SECONDS, writes=True)):
                result = KINDS[job.kind].run(self.url, self.config, job.params, job.requested_by)
            self.store.succeeded(job.id, jsonable_encoder(result))
        except ArrearsError as exc:
            self.store.failed(job.id, str(exc))
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.store.failed(job.id, f"{type(exc).__name__} (details in the server log)")
        finally:
            with self._lock:
                self._running.discard(job.id)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT.total_seconds()):
            with self._lock:
                running = sorted(self._running)
            try:
                self.store.beat(running)
            except Exception:
                log.exception("job heartbeat failed")

    def shutdown(self) -> None:
        self._stop.set()


def view(job: Job, *, with_result: bool) -> dict[str, Any]:
    out = job.summary()
    if with_result:
        out["result"] = job.result
    return out


def submit(
    request: Request, response: Response, uow: UnitOfWork, kind: str, params: dict[str, Any], who: Principal
) -> dict[str, Any]:
    """Start a job for a route: the 202 answer's body, with Location: /jobs/{id}. The request's own
    transaction (the caller's look-up) ends first: the job's row is written in a transaction of its own,
    which on SQLite could not take the write lock while the request held it."""
    uow.commit()
    runner: JobRunner = request.app.state.jobs
    job = runner.submit(kind, params, who.actor)
    response.headers["Location"] = f"/jobs/{job.id}"
    return view(job, with_result=False)


def _visible(who: Principal) -> list[str]:
    return [kind for kind, spec in KINDS.items() if who.role in spec.roles]


@router.get("/jobs/{job_id}")
def get_job(job_id: JobId, request: Request, who: Caller) -> dict[str, Any]:
    """A job's status (queued, running, succeeded, failed) and, once it succeeded, its result."""
    runner: JobRunner = request.app.state.jobs
    job = runner.store.get(job_id)
    if job is None:
        raise HTTPException(404, f"unknown job {job_id}")
    if job.kind not in _visible(who):
        raise HTTPException(403, f"role {who.role} may not see {job.kind} jobs")
    return view(job, with_result=True)


@router.get("/jobs")
def list_jobs(
    request: Request,
    who: Caller,
    kind: Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The jobs of the kinds the caller may start, newest first (without their results)."""
    kinds = _visible(who)
    if not kinds or (kind is not None and kind not in kinds):
        raise HTTPException(403, f"role {who.role} may not see these jobs")
    runner: JobRunner = request.app.state.jobs
    jobs = runner.store.recent([kind] if kind else kinds, limit=limit, offset=offset)
    return [view(j, with_result=False) for j in jobs]


def install(app: FastAPI) -> None:
    @app.exception_handler(JobRunning)
    async def running(request: Request, exc: JobRunning) -> JSONResponse:
        response = problem(
            409, "Conflict", str(exc), kind="conflict", instance=request.url.path, job_id=exc.job.id
        )
        response.headers["Location"] = f"/jobs/{exc.job.id}"
        return response
