"""The look-ups an inbound reply needs: who sent it (by phone number) and which loans they owe."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from arrears.adapters.store.models import BorrowerRow, LoanRow
from arrears.adapters.store.personal_data_repository import phone_hashes


class ReplyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def sender(self, numbers: Iterable[str]) -> str | None:
        """The borrower reached at one of these phone numbers (the lowest id if several), or None: found by
        the keyed hash of the number (the numbers themselves are stored encrypted)."""
        numbers = sorted(numbers)
        by_hash = BorrowerRow.phone_hash.in_(phone_hashes(numbers))
        plain = and_(BorrowerRow.data_key.is_(None), BorrowerRow.phone.in_(numbers))  # not yet sealed
        query = select(BorrowerRow.id).where(or_(by_hash, plain)).order_by(BorrowerRow.id)
        found = self.connection.execute(query).scalar()
        return str(found) if found is not None else None

    def loans_of(self, borrower_id: str) -> list[str]:
        """The borrower's loans, by id."""
        query = select(LoanRow.id).where(LoanRow.borrower_id == borrower_id).order_by(LoanRow.id)
        return [str(loan_id) for loan_id in self.connection.scalars(query)]
