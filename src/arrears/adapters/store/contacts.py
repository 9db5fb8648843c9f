"""The contact history (contact_attempts) and the borrowers' addresses, as the compliance checks read them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, or_, select
from sqlalchemy.engine import Connection

from arrears.adapters.crypto import cipher
from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.models import BorrowerRow
from arrears.adapters.store.personal_data_repository import SEALED_COLUMNS
from arrears.adapters.store.snapshot import contact_history
from arrears.domain.compliance.batch import NOTICE_TYPES
from arrears.domain.compliance.model import ContactEvent

_IN_CHUNK = 5_000
ADDRESSING = ("name", "phone", "email")
_COLUMNS = (
    ContactAttemptRow.borrower_id,
    ContactAttemptRow.loan_id,
    ContactAttemptRow.channel,
    ContactAttemptRow.at,
    ContactAttemptRow.outcome,
    ContactAttemptRow.target,
    ContactAttemptRow.message_type,
)


def _since(query: Select[Any], since: datetime | None) -> Select[Any]:
    """Attempts at or after `since`, and the notices whatever their age: a validation or bureau notice
    sent long before the caps' windows still answers the notice rules (sent once, it stays sent)."""
    if since is None:
        return query
    return query.where(
        or_(ContactAttemptRow.at >= since, ContactAttemptRow.message_type.in_(sorted(NOTICE_TYPES)))
    )


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    unique = sorted(set(ids))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)]


class ContactRepository:
    """Past contact attempts and where a borrower is reached, on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def events(
        self, borrower_ids: Sequence[str], since: datetime | None, excluding: Sequence[int] = ()
    ) -> dict[str, list[ContactEvent]]:
        """Each borrower's attempts at or after `since` (all when None) and its notices, as compliance events;
        `excluding`: leave out the attempts of these outbox rows (a message in flight judged again)."""
        out: dict[str, list[ContactEvent]] = defaultdict(list)
        for chunk in _chunks(borrower_ids):
            query = _since(select(*_COLUMNS).where(ContactAttemptRow.borrower_id.in_(chunk)), since)
            if excluding:
                query = query.where(
                    or_(
                        ContactAttemptRow.outbox_id.is_(None),
                        ContactAttemptRow.outbox_id.not_in(sorted(excluding)),
                    )
                )
            for b, loan, channel, at, outcome, target, mtype in self.connection.execute(query):
                out[b].append(ContactEvent(channel, at, outcome, target, "debtor", mtype or None, loan))
        return out

    def table(self, borrower_ids: Sequence[str], since: datetime | None) -> pa.Table:
        """The attempts of these borrowers at or after `since` as one Arrow table, read column-wise (the
        daily run's read: one scan from the day of `since`, then kept to the borrowers in Arrow)."""
        day = since.astimezone(UTC).date() if since is not None else date(1970, 1, 1)
        table = contact_history(self.connection, day)
        if since is not None:
            recent = pc.greater_equal(table["at"], pa.scalar(since, pa.timestamp("us", tz="UTC")))
            notice = pc.is_in(table["message_type"], value_set=pa.array(sorted(NOTICE_TYPES), pa.string()))
            table = table.filter(pc.or_(recent, notice))
        return table.filter(
            pc.is_in(table["borrower_id"], value_set=pa.array(sorted(set(borrower_ids)), pa.string()))
        )

    def addresses(self, borrower_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
        """(name, phone, email) by borrower: personal data, for addressing only (never logged or shown)."""
        out: dict[str, tuple[str | None, str | None, str | None]] = {}
        opened = cipher()
        for chunk in _chunks(borrower_ids):
            query = select(*SEALED_COLUMNS).where(BorrowerRow.id.in_(chunk))
            for row in self.connection.execute(query).mappings():
                plain = opened.open(row["id"], row, ADDRESSING)
                out[row["id"]] = (plain["name"], plain["phone"], plain["email"])
        return out
