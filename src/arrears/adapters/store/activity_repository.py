"""The read side of the reports (KPIs, the compliance report): what was planned, decided, contacted, sent,
promised and complained about over a period, from the outbox, contact_attempts, deliveries and case work."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from arrears.adapters.store.casework_models import DisputeRow, PromiseRow
from arrears.adapters.store.dispatch_models import ContactAttemptRow, DeliveryRow, OutboxApprovalRow
from arrears.adapters.store.models import BorrowerRow
from arrears.adapters.store.personal_data_repository import borrower_from_row
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.activity import (
    ContactCount,
    ContactRecord,
    DecisionCount,
    PlannedSegment,
    RecordedApproval,
    Send,
)
from arrears.domain.compliance.batch import NOTICE_TYPES
from arrears.domain.compliance.model import Approval
from arrears.domain.records import Borrower

_IN_CHUNK = 5_000
_CONTACT = (
    ContactAttemptRow.loan_id,
    ContactAttemptRow.borrower_id,
    ContactAttemptRow.channel,
    ContactAttemptRow.at,
    ContactAttemptRow.outcome,
    ContactAttemptRow.target,
    ContactAttemptRow.message_type,
    ContactAttemptRow.outbox_id,
)
# In the order they were made: a dispatch batch records its attempts at one instant, the record id orders
# them within it.
_IN_ORDER = (ContactAttemptRow.at, ContactAttemptRow.id)


def _chunks(ids: Sequence[Any]) -> list[list[Any]]:
    unique = sorted(set(ids))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)]


class ActivityRepository:
    """Reads over a period, on the unit of work's connection. Periods are [start, end] days (both included)
    for what was planned, [lo, hi) instants for what happened."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def decisions(self, start: date, end: date) -> list[DecisionCount]:
        """The outbox rows planned in [start, end], counted by status, channel and deciding rules."""
        query = (
            select(OutboxRow.status, OutboxRow.channel, OutboxRow.rules, func.count())
            .where(OutboxRow.as_of >= start, OutboxRow.as_of <= end)
            .group_by(OutboxRow.status, OutboxRow.channel, OutboxRow.rules)
        )
        return [DecisionCount(s, c, r or "", int(n)) for s, c, r, n in self.connection.execute(query)]

    def segments(self, start: date, end: date) -> list[PlannedSegment]:
        """Segment and arm of every outbox row planned in [start, end], in the order they were planned."""
        query = (
            select(OutboxRow.loan_id, OutboxRow.segment, OutboxRow.experiment, OutboxRow.arm)
            .where(OutboxRow.as_of >= start, OutboxRow.as_of <= end)
            .order_by(OutboxRow.as_of, OutboxRow.id)
        )
        return [PlannedSegment(*r) for r in self.connection.execute(query)]

    def contacts(self, lo: datetime, hi: datetime) -> list[ContactRecord]:
        """The contact attempts made in [lo, hi), in the order they were made."""
        query = (
            select(*_CONTACT)
            .where(ContactAttemptRow.at >= lo, ContactAttemptRow.at < hi)
            .order_by(*_IN_ORDER)
        )
        return [ContactRecord(*r) for r in self.connection.execute(query)]

    def contact_counts(self, lo: datetime, hi: datetime) -> list[ContactCount]:
        """The contact attempts made in [lo, hi), counted by channel and outcome."""
        query = (
            select(ContactAttemptRow.channel, ContactAttemptRow.outcome, func.count())
            .where(ContactAttemptRow.at >= lo, ContactAttemptRow.at < hi)
            .group_by(ContactAttemptRow.channel, ContactAttemptRow.outcome)
        )
        return [ContactCount(c, o, int(n)) for c, o, n in self.connection.execute(query)]

    def contacted_loans(self, lo: datetime, hi: datetime) -> set[str]:
        """The loans with a contact attempt made in [lo, hi)."""
        query = (
            select(ContactAttemptRow.loan_id)
            .where(ContactAttemptRow.at >= lo, ContactAttemptRow.at < hi)
            .distinct()
        )
        return set(self.connection.scalars(query))

    def loans_on_channel(self, channel: str, lo: datetime, hi: datetime) -> set[str]:
        """The loans with a contact attempt on the channel in [lo, hi) (e.g. what borrowers did in the portal)."""
        query = (
            select(ContactAttemptRow.loan_id)
            .where(
                ContactAttemptRow.channel == channel, ContactAttemptRow.at >= lo, ContactAttemptRow.at < hi
            )
            .distinct()
        )
        return set(self.connection.scalars(query))

    def contact_history(
        self, borrower_ids: Sequence[str], since: datetime, before: datetime
    ) -> dict[str, list[ContactRecord]]:
        """Each borrower's attempts in [since, before) and its notices before `before` whatever their age
        (sent once, a validation notice stays sent), in the order they were made."""
        out: dict[str, list[ContactRecord]] = defaultdict(list)
        for chunk in _chunks(borrower_ids):
            query = (
                select(*_CONTACT)
                .where(
                    ContactAttemptRow.borrower_id.in_(chunk),
                    or_(
                        ContactAttemptRow.at >= since,
                        ContactAttemptRow.message_type.in_(sorted(NOTICE_TYPES)),
                    ),
                    ContactAttemptRow.at < before,
                )
                .order_by(*_IN_ORDER)
            )
            for r in self.connection.execute(query):
                out[r.borrower_id].append(ContactRecord(*r))
        return out

    def sends(self, lo: datetime, hi: datetime) -> list[Send]:
        """The outbox rows handed to a channel in [lo, hi)."""
        query = (
            select(OutboxRow.loan_id, OutboxRow.borrower_id, OutboxRow.channel, OutboxRow.tone)
            .join(DeliveryRow, DeliveryRow.outbox_id == OutboxRow.id)
            .where(DeliveryRow.sent_at >= lo, DeliveryRow.sent_at < hi)
        )
        return [Send(*r) for r in self.connection.execute(query)]

    def promises_settled(self, start: date, end: date) -> dict[str, int]:
        """Promises resolved in [start, end], counted by how they ended (kept | broken)."""
        query = (
            select(PromiseRow.status, func.count())
            .where(
                PromiseRow.resolved_on >= start,
                PromiseRow.resolved_on <= end,
                PromiseRow.status.in_(("kept", "broken")),
            )
            .group_by(PromiseRow.status)
        )
        return {status: int(n) for status, n in self.connection.execute(query)}

    def cases_opened(self, start: date, end: date) -> dict[str, int]:
        """Disputes and complaints opened in [start, end], counted by kind."""
        query = (
            select(DisputeRow.kind, func.count())
            .where(DisputeRow.opened_on >= start, DisputeRow.opened_on <= end)
            .group_by(DisputeRow.kind)
        )
        return {kind: int(n) for kind, n in self.connection.execute(query)}

    def borrowers(self, borrower_ids: Sequence[str]) -> dict[str, Borrower]:
        """The stored borrowers among these ids."""
        out: dict[str, Borrower] = {}
        for chunk in _chunks(borrower_ids):
            query = select(BorrowerRow).where(BorrowerRow.id.in_(chunk))
            for row in self.connection.execute(query).mappings():
                out[row["id"]] = borrower_from_row(row)
        return out

    def approvals(self, outbox_ids: Sequence[int]) -> dict[int, RecordedApproval]:
        """The legal-review approvals recorded for these outbox rows."""
        out: dict[int, RecordedApproval] = {}
        for chunk in _chunks(outbox_ids):
            query = select(OutboxApprovalRow).where(OutboxApprovalRow.outbox_id.in_(chunk))
            for r in self.connection.execute(query):
                out[r.outbox_id] = RecordedApproval(
                    r.outbox_id, Approval(r.ref, r.approved_by, r.at), r.law_firm or ""
                )
        return out
