"""The contact history (contact_attempts) and the borrowers' addresses, as the compliance checks read them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.engine import Connection

from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.models import BorrowerRow
from arrears.domain.compliance.model import ContactEvent

_IN_CHUNK = 5_000
HISTORY_SCHEMA = pa.schema(
    [
        ("borrower_id", pa.string()),
        ("loan_id", pa.string()),
        ("channel", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("outcome", pa.string()),
        ("target", pa.string()),
        ("message_type", pa.string()),
    ]
)
_COLUMNS = (
    ContactAttemptRow.borrower_id,
    ContactAttemptRow.loan_id,
    ContactAttemptRow.channel,
    ContactAttemptRow.at,
    ContactAttemptRow.outcome,
    ContactAttemptRow.target,
    ContactAttemptRow.message_type,
)


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    unique = sorted(set(ids))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)]


class ContactRepository:
    """Past contact attempts and where a borrower is reached, on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def events(self, borrower_ids: Sequence[str], since: datetime | None) -> dict[str, list[ContactEvent]]:
        """Each borrower's attempts at or after `since` (all when None), as compliance events."""
        out: dict[str, list[ContactEvent]] = defaultdict(list)
        for chunk in _chunks(borrower_ids):
            query = select(*_COLUMNS).where(ContactAttemptRow.borrower_id.in_(chunk))
            if since is not None:
                query = query.where(ContactAttemptRow.at >= since)
            for b, loan, channel, at, outcome, target, mtype in self.connection.execute(query):
                out[b].append(ContactEvent(channel, at, outcome, target, "debtor", mtype or None, loan))
        return out

    def table(self, borrower_ids: Sequence[str], since: datetime | None) -> pa.Table:
        """The same attempts as one Arrow table (the daily run's column-wise read)."""
        columns: dict[str, list[Any]] = {name: [] for name in HISTORY_SCHEMA.names}
        for chunk in _chunks(borrower_ids):
            query = select(*_COLUMNS).where(ContactAttemptRow.borrower_id.in_(chunk))
            if since is not None:
                query = query.where(ContactAttemptRow.at >= since)
            for row in self.connection.execute(query):
                for name, value in zip(HISTORY_SCHEMA.names, row, strict=True):
                    columns[name].append(value)
        return pa.table(columns, schema=HISTORY_SCHEMA)

    def addresses(self, borrower_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
        """(name, phone, email) by borrower: personal data, for addressing only (never logged or shown)."""
        out: dict[str, tuple[str | None, str | None, str | None]] = {}
        for chunk in _chunks(borrower_ids):
            query = select(BorrowerRow.id, BorrowerRow.name, BorrowerRow.phone, BorrowerRow.email).where(
                BorrowerRow.id.in_(chunk)
            )
            for b, name, phone, email in self.connection.execute(query):
                out[b] = (name, phone, email)
        return out
