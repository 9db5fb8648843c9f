"""The agents' call queue (agent_tasks): tasks added once per idempotency key, read back per outbox row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.store.dispatch_models import AgentTaskRow


class AgentTaskRepository:
    """Open call tasks for the call centre, on the unit of work's connection (so a task and the contact
    attempt that queued it commit together)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enqueue(
        self,
        idempotency_key: str,
        loan_id: str,
        borrower_id: str,
        reason: str,
        script: str = "",
        outbox_id: int | None = None,
    ) -> int:
        """Add an open task (once per key); returns the task's id."""
        insert = postgresql.insert if self.connection.dialect.name == "postgresql" else sqlite.insert
        self.connection.execute(
            insert(AgentTaskRow)
            .values(
                idempotency_key=idempotency_key,
                outbox_id=outbox_id,
                loan_id=loan_id,
                borrower_id=borrower_id,
                reason=reason,
                script=script,
                status="open",
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
        return int(
            self.connection.execute(
                select(AgentTaskRow.id).where(AgentTaskRow.idempotency_key == idempotency_key)
            ).scalar_one()
        )

    def for_outbox(self, outbox_id: int) -> list[dict[str, Any]]:
        """The tasks an outbox row queued (its columns), oldest first."""
        query = select(AgentTaskRow).where(AgentTaskRow.outbox_id == outbox_id).order_by(AgentTaskRow.id)
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def open_for(self, loan_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The open tasks of these loans, oldest first."""
        if not loan_ids:
            return []
        query = (
            select(AgentTaskRow)
            .where(AgentTaskRow.loan_id.in_(list(loan_ids)), AgentTaskRow.status == "open")
            .order_by(AgentTaskRow.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def open_tasks(self, limit: int) -> list[dict[str, Any]]:
        """The oldest `limit` open tasks."""
        query = (
            select(AgentTaskRow)
            .where(AgentTaskRow.status == "open")
            .order_by(AgentTaskRow.created_at, AgentTaskRow.id)
            .limit(limit)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def close_for_loan(self, loan_id: str) -> list[int]:
        """Close the loan's open tasks (a call about it was made); their ids."""
        ids = list(
            self.connection.execute(
                select(AgentTaskRow.id).where(AgentTaskRow.loan_id == loan_id, AgentTaskRow.status == "open")
            ).scalars()
        )
        if ids:
            self.connection.execute(
                update(AgentTaskRow).where(AgentTaskRow.id.in_(ids)).values(status="done")
            )
        return [int(i) for i in ids]
