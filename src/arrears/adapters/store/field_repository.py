"""Repositories of the late end of the ladder (migration 0014_field): field visits, litigation cases and
their events, the letters handed to the print vendor. Plain dicts out (the services shape them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.field_models import (
    FieldVisitRow,
    LitigationCaseRow,
    LitigationEventRow,
    PrintedLetterRow,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _dicts(rows: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in rows]


class VisitRepository:
    """Visit tasks of the field teams."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, visit: dict[str, Any]) -> bool:
        """Insert a visit task unless its idempotency key is there already; True when new."""
        table = FieldVisitRow.__table__
        found = self.connection.scalar(
            select(table.c.id).where(table.c.idempotency_key == visit["idempotency_key"])
        )
        if found is not None:
            return False
        self.connection.execute(insert(table).values(**visit, created_at=_now()))
        return True

    def get(self, visit_id: int) -> dict[str, Any] | None:
        table = FieldVisitRow.__table__
        row = self.connection.execute(select(table).where(table.c.id == visit_id)).first()
        return dict(row._mapping) if row is not None else None

    def find(self, *, status: str | None = None, team: str | None = None) -> list[dict[str, Any]]:
        table = FieldVisitRow.__table__
        query = select(table).order_by(table.c.day, table.c.id)
        if status is not None:
            query = query.where(table.c.status == status)
        if team is not None:
            query = query.where(table.c.team == team)
        return _dicts(self.connection.execute(query))

    def close(self, visit_id: int, values: dict[str, Any]) -> None:
        table = FieldVisitRow.__table__
        self.connection.execute(update(table).where(table.c.id == visit_id).values(**values))


class LitigationRepository:
    """Litigation cases and the events of each (stages, documents, costs)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_case(self, case: dict[str, Any]) -> int:
        table = LitigationCaseRow.__table__
        now = _now()
        return int(
            self.connection.execute(
                insert(table).values(**case, opened_at=now, updated_at=now).returning(table.c.id)
            ).scalar_one()
        )

    def get(self, case_id: int) -> dict[str, Any] | None:
        table = LitigationCaseRow.__table__
        row = self.connection.execute(select(table).where(table.c.id == case_id)).first()
        return dict(row._mapping) if row is not None else None

    def open_for_loan(self, loan_id: str) -> dict[str, Any] | None:
        table = LitigationCaseRow.__table__
        row = self.connection.execute(
            select(table).where(table.c.loan_id == loan_id, table.c.stage != "closed").order_by(table.c.id)
        ).first()
        return dict(row._mapping) if row is not None else None

    def cases(self) -> list[dict[str, Any]]:
        table = LitigationCaseRow.__table__
        return _dicts(self.connection.execute(select(table).order_by(table.c.id)))

    def update_case(self, case_id: int, values: dict[str, Any]) -> None:
        table = LitigationCaseRow.__table__
        self.connection.execute(
            update(table).where(table.c.id == case_id).values(**values, updated_at=_now())
        )

    def add_event(self, event: dict[str, Any]) -> int:
        table = LitigationEventRow.__table__
        return int(
            self.connection.execute(
                insert(table).values(**event, at=_now()).returning(table.c.id)
            ).scalar_one()
        )

    def events(self, case_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        table = LitigationEventRow.__table__
        query = select(table).order_by(table.c.case_id, table.c.id)
        if case_ids is not None:
            query = query.where(table.c.case_id.in_(list(case_ids)))
        return _dicts(self.connection.execute(query))


class PrintedLetterRepository:
    """The letters handed to the print vendor, one row each, and what came back."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def printed_ids(self, letter_ids: Sequence[str]) -> set[str]:
        table = PrintedLetterRow.__table__
        out: set[str] = set()
        ids = list(letter_ids)
        for i in range(0, len(ids), 500):
            out |= set(
                self.connection.scalars(
                    select(table.c.letter_id).where(table.c.letter_id.in_(ids[i : i + 500]))
                )
            )
        return out

    def add(self, letters: Sequence[dict[str, Any]]) -> None:
        if letters:
            now = _now()
            self.connection.execute(insert(PrintedLetterRow.__table__), [{**r, "at": now} for r in letters])

    def get(self, letter_id: str) -> dict[str, Any] | None:
        table = PrintedLetterRow.__table__
        row = self.connection.execute(select(table).where(table.c.letter_id == letter_id)).first()
        return dict(row._mapping) if row is not None else None

    def mark_returned(self, letter_id: str, on: date, reason: str) -> None:
        table = PrintedLetterRow.__table__
        self.connection.execute(
            update(table).where(table.c.letter_id == letter_id).values(returned_on=on, return_reason=reason)
        )

    def of_batch(self, batch_id: str) -> list[dict[str, Any]]:
        table = PrintedLetterRow.__table__
        return _dicts(
            self.connection.execute(
                select(table).where(table.c.batch_id == batch_id).order_by(table.c.letter_id)
            )
        )
