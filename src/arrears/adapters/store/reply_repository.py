"""The look-ups an inbound reply needs: who sent it (by phone number) and which loans they owe."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import BorrowerRow, LoanRow


class ReplyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def sender(self, numbers: Iterable[str]) -> str | None:
        """The borrower reached at one of these phone numbers (the lowest id if several), or None."""
        query = select(BorrowerRow.id).where(BorrowerRow.phone.in_(sorted(numbers))).order_by(BorrowerRow.id)
        found = self.connection.execute(query).scalar()
        return str(found) if found is not None else None

    def loans_of(self, borrower_id: str) -> list[str]:
        """The borrower's loans, by id."""
        query = select(LoanRow.id).where(LoanRow.borrower_id == borrower_id).order_by(LoanRow.id)
        return [str(loan_id) for loan_id in self.connection.scalars(query)]
