"""The borrower's portal links (migration 0012_portal_links), keyed by the SHA-256 of their token."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, String, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import UtcDateTime
from arrears.domain.portal import PortalLink


class PortalLinkRow(Base):
    __tablename__ = "portal_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(64), index=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    session_hash: Mapped[str | None] = mapped_column(String(64))
    session_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


_COLUMNS = (
    "token_hash",
    "loan_id",
    "borrower_id",
    "created_at",
    "expires_at",
    "created_by",
    "revoked_at",
    "failed_tries",
    "session_hash",
    "session_until",
)


class PortalLinkRepository:
    """Portal links on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, link: PortalLink) -> None:
        self.connection.execute(
            PortalLinkRow.__table__.insert().values(**{c: getattr(link, c) for c in _COLUMNS})
        )

    def add_all(self, links: Sequence[PortalLink]) -> None:
        """Several links in one statement (the links of a dispatch round's messages)."""
        if links:
            self.connection.execute(
                PortalLinkRow.__table__.insert(), [{c: getattr(link, c) for c in _COLUMNS} for link in links]
            )

    def get(self, token_hash: str) -> PortalLink | None:
        table = PortalLinkRow.__table__
        row = self.connection.execute(select(table).where(table.c.token_hash == token_hash)).first()
        return PortalLink(**{c: getattr(row, c) for c in _COLUMNS}) if row is not None else None

    def revoke(self, *, loan_id: str, at: datetime, token_hash: str | None = None) -> int:
        """Revoke one link, or every live link of the loan; how many were revoked."""
        query = update(PortalLinkRow).where(
            PortalLinkRow.loan_id == loan_id, PortalLinkRow.revoked_at.is_(None)
        )
        if token_hash is not None:
            query = query.where(PortalLinkRow.token_hash == token_hash)
        return int(self.connection.execute(query.values(revoked_at=at)).rowcount or 0)

    def record_failure(self, token_hash: str) -> int:
        """One more wrong step-up answer; the count now."""
        self.connection.execute(
            update(PortalLinkRow)
            .where(PortalLinkRow.token_hash == token_hash)
            .values(failed_tries=PortalLinkRow.failed_tries + 1)
        )
        found = self.get(token_hash)
        return found.failed_tries if found is not None else 0

    def step_up(self, token_hash: str, session_hash: str, until: datetime) -> None:
        self.connection.execute(
            update(PortalLinkRow)
            .where(PortalLinkRow.token_hash == token_hash)
            .values(session_hash=session_hash, session_until=until, failed_tries=0)
        )
