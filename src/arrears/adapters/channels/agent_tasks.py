"""Agent call tasks: a queue table (agent_tasks) the call centre works through. Idempotent by key."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.channels import OutgoingMessage, SendResult
from arrears.adapters.store.dispatch_models import AgentTaskRow


def enqueue_agent_task(
    connection: Connection,
    idempotency_key: str,
    loan_id: str,
    borrower_id: str,
    reason: str,
    script: str = "",
    outbox_id: int | None = None,
) -> int:
    """Add an open task (once per key) inside the caller's transaction; returns the task's id."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
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
        connection.execute(
            select(AgentTaskRow.id).where(AgentTaskRow.idempotency_key == idempotency_key)
        ).scalar_one()
    )


class AgentTaskChannel:
    """The agent_call channel: the "send" is a task in the queue, written in the dispatcher's transaction."""

    name = "agent-queue"

    def __init__(self, connection: Connection | None = None) -> None:
        self.connection = connection

    def bound(self, connection: Connection) -> AgentTaskChannel:
        """The same channel writing through `connection` (the transaction that records the attempt)."""
        return AgentTaskChannel(connection)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if self.connection is None:
            raise RuntimeError("AgentTaskChannel must be bound to the dispatcher's connection")
        task_id = enqueue_agent_task(
            self.connection,
            idempotency_key,
            message.loan_id,
            message.borrower_id,
            message.metadata.get("reason", "collection_call"),
            message.body,
            int(message.metadata["outbox_id"]) if "outbox_id" in message.metadata else None,
        )
        return SendResult(f"task-{task_id}", "queued")
