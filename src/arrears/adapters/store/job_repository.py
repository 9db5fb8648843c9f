"""Background jobs in the store (table `jobs`): one row per job, at most one queued or running job of a
kind (a partial unique index), status and result written as the job goes. Each call is its own short
transaction, apart from any request's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, String, Text, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store import open_store
from arrears.adapters.store.models import Base
from arrears.adapters.store.types import JSONDoc, UtcDateTime
from arrears.domain.jobs import ACTIVE, LEASE, Job

_ACTIVE_SQL = "status IN ('queued', 'running')"


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "uq_jobs_active_kind",
            "kind",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    error: Mapped[str | None] = mapped_column(Text)


_SUMMARY = (
    JobRow.id,
    JobRow.kind,
    JobRow.params,
    JobRow.status,
    JobRow.requested_by,
    JobRow.created_at,
    JobRow.heartbeat_at,
    JobRow.started_at,
    JobRow.finished_at,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        kind=m["kind"],
        params=dict(m["params"] or {}),
        status=m["status"],
        requested_by=m["requested_by"],
        created_at=m["created_at"],
        heartbeat_at=m["heartbeat_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        result=m.get("result"),
        error=m.get("error"),
    )


class JobStore:
    """The jobs of the store at `url`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url

    @property
    def engine(self) -> Engine:
        return open_store(self.url)

    def start(self, kind: str, params: dict[str, Any], requested_by: str) -> tuple[Job, bool]:
        """A new queued job of `kind` and True; or, when one of that kind is queued or running, that one
        and False. An active job whose worker went silent for longer than the lease is failed first."""
        now = _now()
        for _ in range(3):  # a concurrent start may win the race: read what it wrote
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(JobRow)
                        .where(
                            JobRow.kind == kind,
                            JobRow.status.in_(ACTIVE),
                            JobRow.heartbeat_at < now - LEASE,
                        )
                        .values(status="failed", finished_at=now, error="abandoned: its worker stopped")
                    )
                    job_id = secrets.token_hex(16)
                    connection.execute(
                        insert(JobRow).values(
                            id=job_id,
                            kind=kind,
                            params=params,
                            status="queued",
                            requested_by=requested_by,
                            created_at=now,
                            heartbeat_at=now,
                        )
                    )
                job = self.get(job_id)
                assert job is not None
                return job, True
            except (IntegrityError, OperationalError):  # the active one (SQLite: a writer got there first)
                active = self.active(kind)
                if active is not None:
                    return active, False
        raise RuntimeError(f"could not start a {kind} job")  # pragma: no cover - three lost races

    def active(self, kind: str) -> Job | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*_SUMMARY).where(JobRow.kind == kind, JobRow.status.in_(ACTIVE))
            ).first()
        return _job(row) if row is not None else None

    def get(self, job_id: str) -> Job | None:
        """The job with its result."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*_SUMMARY, JobRow.result, JobRow.error).where(JobRow.id == job_id)
            ).first()
        return _job(row) if row is not None else None

    def recent(self, kinds: list[str], *, limit: int, offset: int = 0) -> list[Job]:
        """Jobs of these kinds, newest first, without their results."""
        q = (
            select(*_SUMMARY, JobRow.error)
            .where(JobRow.kind.in_(kinds))
            .order_by(JobRow.created_at.desc(), JobRow.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(q.limit(limit).offset(offset)).all()
        return [_job(r) for r in rows]

    def _set(self, job_id: str, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(JobRow).where(JobRow.id == job_id).values(**values))

    def running(self, job_id: str) -> None:
        now = _now()
        self._set(job_id, status="running", started_at=now, heartbeat_at=now)

    def beat(self, job_ids: list[str]) -> None:
        """The worker running these jobs is alive."""
        if job_ids:
            with self.engine.begin() as connection:
                connection.execute(
                    update(JobRow)
                    .where(JobRow.id.in_(job_ids), JobRow.status.in_(ACTIVE))
                    .values(heartbeat_at=_now())
                )

    def succeeded(self, job_id: str, result: dict[str, Any]) -> None:
        self._set(job_id, status="succeeded", finished_at=_now(), result=result)

    def failed(self, job_id: str, error: str) -> None:
        self._set(job_id, status="failed", finished_at=_now(), error=error)
