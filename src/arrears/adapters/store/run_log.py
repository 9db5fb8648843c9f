"""What the daily runs left in the store, as case work and the API read it: the runs, and the actions they
planned in the outbox — a loan's unsent ones cancelled, the steps planned since an anchor, the notices
sent, the sends per channel. (Claiming and sending outbox rows is the dispatcher's, not here.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import AccountEventRow
from arrears.adapters.store.run_models import OutboxRow, RunRow


class LoanActionRepository:
    """A loan's collection actions in the outbox."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def cancel(self, loan_id: str, statuses: Sequence[str], reason: str) -> int:
        """Cancel the loan's actions in one of `statuses`, saying why; how many were cancelled."""
        result = self.connection.execute(
            update(OutboxRow)
            .where(OutboxRow.loan_id == loan_id, OutboxRow.status.in_(list(statuses)))
            .values(status="cancelled", last_error=reason, updated_at=datetime.now(UTC))
        )
        return int(result.rowcount or 0)

    def planned_steps(self, loan_id: str, anchor: date, before: date) -> set[str]:
        """The ladder steps runs before `before` planned for the loan from this anchor (any status)."""
        rows = self.connection.scalars(
            select(OutboxRow.step_id).where(
                OutboxRow.loan_id == loan_id, OutboxRow.anchor == anchor, OutboxRow.as_of < before
            )
        )
        return set(rows)

    def notices_sent(self, loan_id: str, template: str) -> list[date]:
        """The days a notice of `template` went out on the loan: outbox actions sent whose step or template
        names it (the day they were sent), and `contact` account events whose detail says that template."""
        sent = [
            at.date()
            for at in self.connection.scalars(
                select(OutboxRow.updated_at).where(
                    OutboxRow.loan_id == loan_id,
                    OutboxRow.status == "sent",
                    or_(OutboxRow.step_id.contains(template), OutboxRow.template.contains(template)),
                )
            )
        ]
        for on, detail in self.connection.execute(
            select(AccountEventRow.on_date, AccountEventRow.detail).where(
                AccountEventRow.loan_id == loan_id, AccountEventRow.kind == "contact"
            )
        ):
            if isinstance(detail, dict) and detail.get("template") == template:
                sent.append(on)
        return sent

    def sent_per_channel(self) -> dict[str, int]:
        """How many actions went out on each channel."""
        rows = self.connection.execute(
            select(OutboxRow.channel, func.count())
            .where(OutboxRow.status == "sent")
            .group_by(OutboxRow.channel)
        )
        return {str(channel): int(n) for channel, n in rows}


class RunLogReader:
    """The runs and the outbox rows as stored, newest runs first, rows in the order written (for listing)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def runs(self, limit: int, *, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(RunRow).order_by(RunRow.as_of.desc(), RunRow.id).limit(limit).offset(offset)
        ).mappings()
        return [dict(r) for r in rows]

    def actions(
        self, *, loan_id: str | None = None, status: str | None = None, limit: int, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The outbox rows of a loan and status (any when None), at most `limit` from the `offset`-th."""
        q = select(OutboxRow).order_by(OutboxRow.id).limit(limit).offset(offset)
        if loan_id is not None:
            q = q.where(OutboxRow.loan_id == loan_id)
        if status is not None:
            q = q.where(OutboxRow.status == status)
        return [dict(r) for r in self.connection.execute(q).mappings()]
