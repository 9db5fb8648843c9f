"""Background jobs: whole-portfolio operations (case refresh, bureau export) run outside the request that
asked for them. One job of a kind runs at a time; a job whose worker stopped beating is abandoned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE = ("queued", "running")
# A running job's worker proves it is alive every HEARTBEAT; one silent for LEASE is taken as dead.
HEARTBEAT = timedelta(seconds=10)
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    kind: str
    params: dict[str, Any]
    status: str
    requested_by: str
    created_at: datetime
    heartbeat_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def abandoned(self, now: datetime) -> bool:
        """Still marked active, but its worker has not been heard of for longer than the lease."""
        return self.active and now - self.heartbeat_at > LEASE

    def summary(self) -> dict[str, Any]:
        """The job without its result (for lists)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "status": self.status,
            "requested_by": self.requested_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }
