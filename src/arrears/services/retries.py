"""A failed or dead outbox row sent back to the dispatcher by hand (the console's retry), audited."""

from __future__ import annotations

from datetime import datetime

from arrears.domain.errors import InputError, NotFound
from arrears.domain.outbox import StatusChange
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

RETRYABLE = ("failed", "dead")


def retry_row(uow: UnitOfWork, outbox_id: int, actor: str, now: datetime) -> None:
    """Make a failed / dead row pending again, due now; its tries so far are kept (not committed)."""
    entry = uow.outbox.get(outbox_id)
    if entry is None:
        raise NotFound(f"no outbox row {outbox_id}")
    if entry.status not in RETRYABLE:
        raise InputError(
            f"outbox row {outbox_id} is {entry.status}: only failed or dead rows are retried", field="ID"
        )
    uow.outbox.set_statuses(
        [StatusChange(outbox_id, "pending", now, entry.attempts, entry.rules or "", None, None)]
    )
    audit.append(
        uow, actor, "outbox.retry", f"outbox:{outbox_id}", {"from": entry.status, "error": entry.last_error}
    )
