"""The console's batched reads: the cases of a queue page and their borrowers' loans in two statements (the
queue's order is the domain's, `domain.cases.agent_queue`; this only fetches what it picked), and the
newest agency placements for the operations page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.engine import Connection

from arrears.adapters.store.casework_models import CaseRow, PlacementRow
from arrears.domain.cases import QueueEntry
from arrears.domain.casework_records import CaseRecord


class DeskRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def cases(self, case_ids: Sequence[int]) -> list[CaseRecord]:
        """The cases, in the order asked for (unknown ids left out)."""
        if not case_ids:
            return []
        rows = self.connection.execute(select(CaseRow).where(CaseRow.id.in_(list(case_ids)))).mappings()
        found = {row["id"]: CaseRecord(**row) for row in rows}
        return [found[i] for i in case_ids if i in found]

    def placements(self, limit: int) -> list[dict[str, Any]]:
        """The newest placements with agencies (active and recalled)."""
        query = (
            select(
                PlacementRow.loan_id,
                PlacementRow.agency_id,
                PlacementRow.placed_on,
                PlacementRow.recall_on,
                PlacementRow.status,
            )
            .order_by(PlacementRow.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def queue_candidates(self, agent: str, today: date, limit: int, offset: int) -> list[QueueEntry]:
        """Open cases the agent may be given (theirs or unassigned, due by today), in the queue's order
        (theirs first, then by expected recovery, then id): a page of what domain.cases.agent_queue
        orders, so the desk does not read every open case (the domain still decides, skills included)."""
        query = (
            select(
                CaseRow.id,
                CaseRow.assigned_to,
                CaseRow.language,
                CaseRow.bucket,
                CaseRow.expected_recovery,
                CaseRow.next_action_on,
            )
            .where(
                CaseRow.status == "open",
                or_(CaseRow.assigned_to == agent, CaseRow.assigned_to.is_(None)),
                or_(CaseRow.next_action_on.is_(None), CaseRow.next_action_on <= today),
            )
            .order_by(
                case((CaseRow.assigned_to == agent, 0), else_=1), CaseRow.expected_recovery.desc(), CaseRow.id
            )
            .limit(limit)
            .offset(offset)
        )
        return [QueueEntry(*r) for r in self.connection.execute(query)]
