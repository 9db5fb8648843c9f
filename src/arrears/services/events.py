"""Deliver the outbound events (`arrears events deliver`): at least once, signed, with backoff.

Each event is claimed, sent and marked in its own transaction: a crash between the send and the commit
sends it again (at least once; receivers de-duplicate on the event id). A failure is tried again after an
exponential backoff (domain/outbound_events.next_attempt) until the attempts run out: then it is dead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from arrears.domain.outbound_events import OutboundEvent, next_attempt
from arrears.services.unit_of_work import UnitOfWork

Sender = Callable[[OutboundEvent, datetime], None]


class DeliveryFailed(Exception):
    """The receiver did not take the event (no answer, or not 2xx)."""


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retried": self.retried, "dead": self.dead}


def deliver(
    url: str | None, send: Sender, *, now: Callable[[], datetime] | None = None, limit: int = 1000
) -> DeliveryReport:
    """Send every event due now (up to `limit`), one transaction each."""
    clock = now or (lambda: datetime.now(UTC))
    report = DeliveryReport()
    for _ in range(limit):
        with UnitOfWork(url) as uow:
            at = clock()
            due = uow.outbound_events.due(at, 1)
            if not due:
                break
            event = due[0]
            assert event.id is not None
            attempts = event.attempts + 1
            try:
                send(event, at)
            except DeliveryFailed as exc:
                later = next_attempt(attempts, at)
                status = "pending" if later is not None else "dead"
                uow.outbound_events.mark(
                    event.id, status=status, attempts=attempts, next_attempt_at=later, last_error=str(exc)
                )
                if later is None:
                    report.dead += 1
                else:
                    report.retried += 1
            else:
                uow.outbound_events.mark(event.id, status="delivered", attempts=attempts, delivered_at=at)
                report.delivered += 1
            uow.commit()
    return report


def listing(url: str | None, *, loan_id: str | None = None, status: str | None = None) -> list[OutboundEvent]:
    with UnitOfWork(url) as uow:
        return uow.outbound_events.all(loan_id=loan_id, status=status)
