"""Agent call tasks: the agent_call channel "sends" by queueing a task (agent_tasks) for the call centre."""

from __future__ import annotations

from arrears.adapters.channels import OutgoingMessage, SendResult
from arrears.services.unit_of_work import AgentTaskPort, UnitOfWork


class AgentTaskChannel:
    """The agent_call channel: the "send" is a task in the queue, written in the dispatcher's transaction."""

    name = "agent-queue"

    def __init__(self, queue: AgentTaskPort | None = None) -> None:
        self.queue = queue

    def bound(self, queue: AgentTaskPort) -> AgentTaskChannel:
        """The same channel queueing through `queue` (the transaction that records the attempt)."""
        return AgentTaskChannel(queue)

    def bind(self, uow: UnitOfWork) -> AgentTaskChannel:
        """The channel port's hook: the task is queued in the batch's unit of work (its transaction)."""
        return self.bound(uow.agent_tasks)

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if self.queue is None:
            raise RuntimeError("AgentTaskChannel must be bound to the dispatcher's unit of work")
        task_id = self.queue.enqueue(
            idempotency_key,
            message.loan_id,
            message.borrower_id,
            message.metadata.get("reason", "collection_call"),
            message.body,
            int(message.metadata["outbox_id"]) if "outbox_id" in message.metadata else None,
        )
        return SendResult(f"task-{task_id}", "queued")
