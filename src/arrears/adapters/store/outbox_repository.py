"""The outbox in the store: claim and lock a batch, read what it needs, write back what dispatch did, apply
receipts and approvals, and list rows for people. Rows in, `arrears.domain.outbox` values out.

The claim takes rows with FOR UPDATE SKIP LOCKED and a transaction-scoped advisory lock per borrower on
PostgreSQL (several workers never share a row or a borrower); SQLite has one writer, so one worker. A
batch's writes are one statement per table (executemany; on PostgreSQL the statuses in one UPDATE from
arrays), whatever the batch's size.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.store.dispatch_models import ContactAttemptRow, DeliveryRow, OutboxApprovalRow
from arrears.adapters.store.models import AccountEventRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.adapters.store.types import UtcDateTime
from arrears.domain.activity import RecordedApproval
from arrears.domain.outbox import (
    CLAIMABLE_AGAIN,
    DISPUTE_EVENTS,
    IN_FLIGHT,
    READY,
    ContactMade,
    Delivery,
    OutboxEntry,
    StatusChange,
)

_OUTBOX = OutboxRow.__table__
_ENTRY_COLUMNS = tuple(_OUTBOX.c[f.name] for f in fields(OutboxEntry))
_DELIVERY_COLUMNS = tuple(DeliveryRow.__table__.c[f.name] for f in fields(Delivery))
_CONTACT_COLUMNS = tuple(ContactAttemptRow.__table__.c[f.name] for f in fields(ContactMade))
# Borrower advisory locks: a key of their own (hashtextextended's seed), so no other lock collides.
_LOCK_SEED = 7215530003


# OutboxRepository.record_sends on PostgreSQL. Data-modifying CTEs run whether or not the query reads them;
# the SELECT reads `unflushed` so that its set_config runs (the commit then does not wait for the disk).
_RECORD_SENDS = text(
    "WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true) AS v), "
    "statuses AS (UPDATE outbox AS o SET status = v.status, updated_at = v.updated_at, "
    "attempts = v.attempts, next_allowed_at = v.next_allowed_at, last_error = v.last_error, "
    "rules = v.rules, request_key = v.request_key "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:updated AS timestamptz[]), "
    "CAST(:attempts AS integer[]), CAST(:next AS timestamptz[]), CAST(:errors AS text[]), "
    "CAST(:rules AS text[]), CAST(:requests AS text[])) "
    "AS v(id, status, updated_at, attempts, next_allowed_at, last_error, rules, request_key) "
    "WHERE o.id = v.id AND o.claimed_by = :owner AND o.status <> 'cancelled' RETURNING o.id), "
    "deliveries AS (INSERT INTO deliveries (outbox_id, idempotency_key, channel, provider, provider_id, "
    "status, sent_at, updated_at, detail) "
    "SELECT * FROM unnest(CAST(:d_ids AS bigint[]), CAST(:d_keys AS text[]), CAST(:d_channels AS text[]), "
    "CAST(:d_providers AS text[]), CAST(:d_provider_ids AS text[]), CAST(:d_statuses AS text[]), "
    "CAST(:d_sent AS timestamptz[]), CAST(:d_updated AS timestamptz[]), CAST(:d_details AS jsonb[])) "
    "ON CONFLICT (outbox_id) DO UPDATE SET provider_id = EXCLUDED.provider_id, status = EXCLUDED.status, "
    "updated_at = EXCLUDED.updated_at RETURNING outbox_id), "
    "settled AS (UPDATE contact_attempts AS c SET outcome = v.outcome, provider_id = v.provider_id "
    "FROM unnest(CAST(:s_ids AS bigint[]), CAST(:s_outcomes AS text[]), CAST(:s_providers AS text[])) "
    "AS v(outbox_id, outcome, provider_id) WHERE c.outbox_id = v.outbox_id RETURNING c.outbox_id), "
    "dropped AS (DELETE FROM contact_attempts WHERE outbox_id = ANY(CAST(:dropped AS bigint[])) "
    "RETURNING outbox_id) "
    "SELECT v FROM unflushed"
)


def _ready(now: datetime) -> ColumnElement[bool]:
    """Rows a dispatch at `now` may claim: pending, or deferred / failed whose next_allowed_at has come."""
    return or_(
        OutboxRow.status == READY,
        and_(OutboxRow.status.in_(CLAIMABLE_AGAIN), OutboxRow.next_allowed_at <= now),
    )


class OutboxRepository:
    """The outbox and what hangs off it (approvals, deliveries, contact attempts), on the unit of work's
    connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgresql = connection.dialect.name == "postgresql"

    # --- claiming a batch -------------------------------------------------------------------------

    def claim(
        self,
        now: datetime,
        limit: int,
        owner: str,
        lease_until: datetime,
        exclude: Iterable[int] = (),
        in_flight_first: bool = True,
    ) -> list[OutboxEntry]:
        """Take up to `limit` rows nobody holds, in id order, for `owner` until `lease_until`: first rows
        left in flight (`sending`) by a worker that died, then rows ready at `now`, leaving out the ids in
        `exclude` (PostgreSQL: rows another worker is claiming are skipped, never waited for). The hold
        outlives this transaction: other workers skip held rows until `release`."""
        taken = []
        if in_flight_first:
            taken = self._take(OutboxRow.status == IN_FLIGHT, limit, owner, lease_until, exclude)
        if len(taken) < limit:
            taken += self._take(_ready(now), limit - len(taken), owner, lease_until, exclude)
        return sorted(taken, key=lambda e: e.id)

    def _take(
        self,
        where: ColumnElement[bool],
        limit: int,
        owner: str,
        lease_until: datetime,
        exclude: Iterable[int],
    ) -> list[OutboxEntry]:
        pick = (
            select(OutboxRow.id)
            .where(where, OutboxRow.claimed_by.is_(None))
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        excluded = sorted(exclude)
        if excluded and self.postgresql:
            # One array parameter: a NOT IN list would be compiled and parsed afresh for every length.
            pick = pick.where(
                OutboxRow.id != func.all(bindparam("excluded", excluded, type_=postgresql.ARRAY(Integer)))
            )
        elif excluded:
            pick = pick.where(OutboxRow.id.not_in(excluded))
        stmt = update(OutboxRow).values(claimed_by=owner, lease_until=lease_until).returning(*_ENTRY_COLUMNS)
        if self.postgresql:
            # A CTE is evaluated once: a LIMIT … SKIP LOCKED subquery inside IN (…) may be run again by
            # the plan and take more rows than the limit.
            picked = pick.with_for_update(skip_locked=True).cte("picked")
            stmt = stmt.where(OutboxRow.id == picked.c.id)
        else:
            stmt = stmt.where(OutboxRow.id.in_(pick))
        return [
            OutboxEntry(*row) for row in self.connection.execute(stmt.where(OutboxRow.claimed_by.is_(None)))
        ]

    def lock_borrowers(self, entries: list[OutboxEntry]) -> list[OutboxEntry]:
        """PostgreSQL: a session-level advisory lock per borrower, held across the claim's commits until
        `release_borrowers` (or until the worker's connection dies with it); returns the entries whose
        borrower is locked and gives the others back (claimable again; SQLite: all of them, one writer).

        Only locks that are free are taken: the rows of borrowers another worker holds are given back, so
        workers never wait for each other here (a worker waiting while it keeps its claim's row locks could
        close a cycle with one that waits for those rows). None free: all given back, the caller tries again.
        """
        if not self.postgresql or not entries:
            return entries
        ids = sorted({e.borrower_id for e in entries})
        free = set(
            self.connection.scalars(
                text(
                    "SELECT b FROM unnest(CAST(:ids AS text[])) AS b "
                    f"WHERE pg_try_advisory_lock(hashtextextended(b, {_LOCK_SEED}))"
                ),
                {"ids": ids},
            )
        )
        kept = [e for e in entries if e.borrower_id in free]
        others = [e.id for e in entries if e.borrower_id not in free]
        if others:
            self.connection.execute(
                update(OutboxRow).where(OutboxRow.id.in_(others)).values(claimed_by=None, lease_until=None)
            )
        return kept

    def release_borrowers(self) -> None:
        """PostgreSQL: let go of the borrower locks this connection holds (at the end of a claim)."""
        if self.postgresql:
            self.connection.execute(text("SELECT pg_advisory_unlock_all()"))

    def extend_lease(self, owner: str, until: datetime) -> None:
        self.connection.execute(
            update(OutboxRow).where(OutboxRow.claimed_by == owner).values(lease_until=until)
        )

    def commit_unflushed(self) -> None:
        """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk (visible to
        every session at once; lost only if the server itself crashes in the next few hundred ms)."""
        if self.postgresql:
            self.connection.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def holders(self) -> list[tuple[str, datetime | None]]:
        """Who holds rows, with the earliest end of their leases."""
        query = (
            select(OutboxRow.claimed_by, func.min(OutboxRow.lease_until))
            .where(OutboxRow.claimed_by.is_not(None))
            .group_by(OutboxRow.claimed_by)
        )
        return [(str(owner), until) for owner, until in self.connection.execute(query)]

    def release(self, owner: str) -> list[StatusChange]:
        """Let go of every row `owner` holds (its claim is done, or it died); returns those rows (id,
        status, updated_at, attempts, rules), for the audit entries still owed on them."""
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.claimed_by == owner)
            .values(claimed_by=None, lease_until=None)
            .returning(
                OutboxRow.id, OutboxRow.status, OutboxRow.updated_at, OutboxRow.attempts, OutboxRow.rules
            )
        )
        return [StatusChange(*row) for row in self.connection.execute(stmt)]

    def contacts_for(self, outbox_ids: Sequence[int]) -> list[ContactMade]:
        """The contact attempts recorded for these rows."""
        if not outbox_ids:
            return []
        query = select(*_CONTACT_COLUMNS).where(ContactAttemptRow.outbox_id.in_(sorted(outbox_ids)))
        return [ContactMade(*row) for row in self.connection.execute(query)]

    def settle_contacts(self, results: Sequence[tuple[int, str, str | None]]) -> None:
        """The outcome and provider id of attempts recorded in flight, by outbox id, once the provider
        answered."""
        if results and self.postgresql:  # one statement from arrays (an executemany is one a row there)
            self.connection.execute(
                text(
                    "UPDATE contact_attempts AS c SET outcome = v.outcome, provider_id = v.provider_id "
                    "FROM unnest(CAST(:ids AS bigint[]), CAST(:outcomes AS text[]), CAST(:providers AS text[])) "
                    "AS v(outbox_id, outcome, provider_id) WHERE c.outbox_id = v.outbox_id"
                ),
                {
                    "ids": [i for i, _, _ in results],
                    "outcomes": [o for _, o, _ in results],
                    "providers": [p for _, _, p in results],
                },
            )
        elif results:
            self.connection.execute(
                update(ContactAttemptRow)
                .where(ContactAttemptRow.outbox_id == bindparam("b_id"))
                .values(outcome=bindparam("b_outcome"), provider_id=bindparam("b_provider")),
                [{"b_id": i, "b_outcome": o, "b_provider": p} for i, o, p in results],
            )

    def drop_contacts(self, outbox_ids: Sequence[int]) -> None:
        """Attempts recorded in flight whose send the provider refused or never took (not a contact)."""
        if outbox_ids:
            self.connection.execute(
                delete(ContactAttemptRow).where(ContactAttemptRow.outbox_id.in_(sorted(outbox_ids)))
            )

    def release_connections(self) -> None:
        """Close the idle connections this process keeps to the store: before worker processes are forked
        (none may inherit one) and when a worker process ends (they close cleanly)."""
        self.connection.engine.dispose()

    def dispute_events(self, loan_ids: Iterable[str]) -> dict[str, list[tuple[str, date]]]:
        """Each loan's dispute events (kind, day), in no particular order."""
        out: dict[str, list[tuple[str, date]]] = defaultdict(list)
        query = select(AccountEventRow.loan_id, AccountEventRow.kind, AccountEventRow.on_date).where(
            AccountEventRow.loan_id.in_(sorted(loan_ids)), AccountEventRow.kind.in_(sorted(DISPUTE_EVENTS))
        )
        for loan_id, kind, on in self.connection.execute(query):
            out[loan_id].append((kind, on))
        return out

    # --- what a batch writes ----------------------------------------------------------------------

    def add_contacts(self, contacts: Sequence[ContactMade]) -> None:
        """The contact attempts made (one executemany)."""
        if contacts:
            self.connection.execute(
                insert(ContactAttemptRow),
                [
                    {
                        "loan_id": c.loan_id,
                        "borrower_id": c.borrower_id,
                        "channel": c.channel,
                        "target": c.target,
                        "at": c.at,
                        "outcome": c.outcome,
                        "message_type": c.message_type,
                        "outbox_id": c.outbox_id,
                        "provider_id": c.provider_id,
                    }
                    for c in contacts
                ],
            )

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """The providers' answers (one executemany); a row sent again keeps one delivery, updated."""
        if not deliveries:
            return
        stmt = (postgresql.insert if self.postgresql else sqlite.insert)(DeliveryRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["outbox_id"],
            set_={
                "provider_id": stmt.excluded.provider_id,
                "status": stmt.excluded.status,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        self.connection.execute(
            stmt,
            [
                {
                    "outbox_id": d.outbox_id,
                    "idempotency_key": d.idempotency_key,
                    "channel": d.channel,
                    "provider": d.provider,
                    "provider_id": d.provider_id,
                    "status": d.status,
                    "sent_at": d.sent_at,
                    "updated_at": d.updated_at,
                    "detail": d.detail,
                }
                for d in deliveries
            ],
        )

    def set_statuses(
        self, changes: Sequence[StatusChange], owner: str | None = None, returning: str | None = None
    ) -> set[int]:
        """The rows' new statuses; with `owner` (a dispatch worker), only of rows it holds (a row it no
                longer holds, or one a payment cancelled meanwhile, is left as it is); returns the ids of the rows
        now in status `returning` (none without it). PostgreSQL in one UPDATE from arrays (an executemany is a statement
                a row there), SQLite in one executemany."""
        if not changes:
            return set()
        if self.postgresql:
            instant = UtcDateTime()

            def at(value: datetime | None) -> datetime | None:
                return instant.process_bind_param(value, self.connection.dialect)  # refuses naive ones

            done = self.connection.execute(
                text(
                    "UPDATE outbox AS o SET status = v.status, updated_at = v.updated_at, "
                    "attempts = v.attempts, next_allowed_at = v.next_allowed_at, last_error = v.last_error, "
                    "rules = v.rules, request_key = v.request_key "
                    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), "
                    "CAST(:updated AS timestamptz[]), CAST(:attempts AS integer[]), "
                    "CAST(:next AS timestamptz[]), CAST(:errors AS text[]), CAST(:rules AS text[]), "
                    "CAST(:requests AS text[])) "
                    "AS v(id, status, updated_at, attempts, next_allowed_at, last_error, rules, request_key) "
                    "WHERE o.id = v.id"
                    + (" AND o.claimed_by = :owner AND o.status <> 'cancelled'" if owner else "")
                    + " RETURNING o.id, o.status"
                ),
                {
                    "ids": [c.outbox_id for c in changes],
                    "statuses": [c.status for c in changes],
                    "updated": [at(c.at) for c in changes],
                    "attempts": [c.attempts for c in changes],
                    "next": [at(c.next_allowed_at) for c in changes],
                    "errors": [c.last_error for c in changes],
                    "rules": [c.rules for c in changes],
                    "requests": [c.request_key for c in changes],
                    "owner": owner,
                },
            )
            return {int(i) for i, status in done if status == returning}
        stmt = (
            update(OutboxRow)
            .where(
                OutboxRow.id == bindparam("b_id"),
                *(
                    (OutboxRow.claimed_by == bindparam("b_owner"), OutboxRow.status != "cancelled")
                    if owner
                    else ()
                ),
            )
            .values(
                status=bindparam("status"),
                updated_at=bindparam("updated_at"),
                attempts=bindparam("attempts"),
                next_allowed_at=bindparam("next_allowed_at"),
                last_error=bindparam("last_error"),
                rules=bindparam("rules"),
                request_key=bindparam("request_key"),
            )
        )
        self.connection.execute(
            stmt,
            [
                {
                    "b_id": c.outbox_id,
                    **({"b_owner": owner} if owner else {}),
                    "status": c.status,
                    "updated_at": c.at,
                    "attempts": c.attempts,
                    "next_allowed_at": c.next_allowed_at,
                    "last_error": c.last_error,
                    "rules": c.rules,
                    "request_key": c.request_key,
                }
                for c in changes
            ],
        )
        if returning is None:
            return set()
        query = select(OutboxRow.id).where(
            OutboxRow.id.in_(sorted(c.outbox_id for c in changes)), OutboxRow.status == returning
        )
        if owner:
            query = query.where(OutboxRow.claimed_by == owner)
        return set(self.connection.scalars(query))

    def record_sends(
        self,
        statuses: Sequence[StatusChange],
        deliveries: Sequence[Delivery],
        settled: Sequence[tuple[int, str, str | None]],
        dropped: Sequence[int],
        owner: str,
    ) -> None:
        """What became of a request's messages, right after it went: the rows' statuses (of rows `owner`
        still holds), the deliveries, the attempts recorded in flight settled with the provider's outcome
        or dropped (not a contact after all); the commit does not wait for the disk (commit_unflushed).

        PostgreSQL: one statement (writable CTEs from arrays), so a message sent one by one costs this
        statement and its commit; SQLite: the methods one after the other."""
        if not self.postgresql:
            self.add_deliveries(deliveries)
            self.settle_contacts(settled)
            self.drop_contacts(dropped)
            self.set_statuses(statuses, owner)
            return
        instant = UtcDateTime()

        def at(value: datetime | None) -> datetime | None:
            return instant.process_bind_param(value, self.connection.dialect)  # refuses naive ones

        self.connection.execute(
            _RECORD_SENDS,
            {
                "ids": [c.outbox_id for c in statuses],
                "statuses": [c.status for c in statuses],
                "updated": [at(c.at) for c in statuses],
                "attempts": [c.attempts for c in statuses],
                "next": [at(c.next_allowed_at) for c in statuses],
                "errors": [c.last_error for c in statuses],
                "rules": [c.rules for c in statuses],
                "requests": [c.request_key for c in statuses],
                "owner": owner,
                "d_ids": [d.outbox_id for d in deliveries],
                "d_keys": [d.idempotency_key for d in deliveries],
                "d_channels": [d.channel for d in deliveries],
                "d_providers": [d.provider for d in deliveries],
                "d_provider_ids": [d.provider_id for d in deliveries],
                "d_statuses": [d.status for d in deliveries],
                "d_sent": [at(d.sent_at) for d in deliveries],
                "d_updated": [at(d.updated_at) for d in deliveries],
                "d_details": [
                    None if d.detail is None else json.dumps(d.detail, ensure_ascii=False) for d in deliveries
                ],
                "s_ids": [i for i, _, _ in settled],
                "s_outcomes": [o for _, o, _ in settled],
                "s_providers": [p for _, _, p in settled],
                "dropped": sorted(dropped),
            },
        ).all()

    def request_keys(self, ids: Sequence[int]) -> dict[int, str]:
        """The batch request each of these rows was in flight in, when it was."""
        if not ids:
            return {}
        query = select(OutboxRow.id, OutboxRow.request_key).where(
            OutboxRow.id.in_(sorted(ids)), OutboxRow.request_key.is_not(None)
        )
        return {int(i): str(k) for i, k in self.connection.execute(query)}

    # --- receipts and approvals -------------------------------------------------------------------

    def get(self, outbox_id: int) -> OutboxEntry | None:
        row = self.connection.execute(select(*_ENTRY_COLUMNS).where(OutboxRow.id == outbox_id)).first()
        return OutboxEntry(*row) if row is not None else None

    def delivery(
        self, *, idempotency_key: str | None = None, provider_id: str | None = None
    ) -> Delivery | None:
        """The delivery of the message sent with this idempotency key (else with this provider id)."""
        query = select(*_DELIVERY_COLUMNS)
        if idempotency_key:
            query = query.where(DeliveryRow.idempotency_key == idempotency_key)
        elif provider_id:
            query = query.where(DeliveryRow.provider_id == provider_id)
        else:
            return None
        row = self.connection.execute(query).first()
        return Delivery(*row) if row is not None else None

    def record_receipt(
        self, outbox_id: int, status: str, outcome: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        """A receipt: the delivery's new status and detail, and the contact attempt's outcome."""
        self.connection.execute(
            update(DeliveryRow)
            .where(DeliveryRow.outbox_id == outbox_id)
            .values(status=status, updated_at=at, detail=detail)
        )
        self.connection.execute(
            update(ContactAttemptRow).where(ContactAttemptRow.outbox_id == outbox_id).values(outcome=outcome)
        )

    def approve(self, approval: RecordedApproval, expires_at: datetime | None) -> None:
        """Record the approval and make the row pending, valid until `expires_at`."""
        at = approval.approval.approved_at
        self.connection.execute(
            insert(OutboxApprovalRow).values(
                outbox_id=approval.outbox_id,
                approved_by=approval.approval.approved_by,
                ref=approval.approval.ref,
                law_firm=approval.law_firm,
                at=at,
            )
        )
        self.connection.execute(
            update(OutboxRow)
            .where(OutboxRow.id == approval.outbox_id)
            .values(status=READY, updated_at=at, expires_at=expires_at)
        )

    # --- views ------------------------------------------------------------------------------------

    def find(
        self,
        *,
        status: str | None = None,
        borrower_id: str | None = None,
        loan_id: str | None = None,
        day: date | None = None,
        channel: str | None = None,
        limit: int,
    ) -> tuple[list[OutboxEntry], int]:
        """Rows matching every filter given, in id order, at most `limit`; and how many match in all."""
        where = []
        if status is not None:
            where.append(OutboxRow.status == status)
        if borrower_id is not None:
            where.append(OutboxRow.borrower_id == borrower_id)
        if loan_id is not None:
            where.append(OutboxRow.loan_id == loan_id)
        if day is not None:
            where.append(OutboxRow.as_of == day)
        if channel is not None:
            where.append(OutboxRow.channel == channel)
        c = self.connection
        total = int(c.scalar(select(func.count()).select_from(OutboxRow).where(*where)) or 0)
        rows = c.execute(select(*_ENTRY_COLUMNS).where(*where).order_by(OutboxRow.id).limit(limit))
        return [OutboxEntry(*row) for row in rows], total

    def ready_by_channel(self, now: datetime, except_channels: Iterable[str]) -> dict[str, int]:
        """Rows a dispatch at `now` would claim whose channel is not among `except_channels`, by channel."""
        query = (
            select(OutboxRow.channel, func.count())
            .where(_ready(now), OutboxRow.channel.not_in(sorted(except_channels)))
            .group_by(OutboxRow.channel)
            .order_by(OutboxRow.channel)
        )
        return {str(channel): int(n) for channel, n in self.connection.execute(query).all()}

    def deliveries_of(self, outbox_id: int) -> list[Delivery]:
        query = (
            select(*_DELIVERY_COLUMNS).where(DeliveryRow.outbox_id == outbox_id).order_by(DeliveryRow.sent_at)
        )
        return [Delivery(*row) for row in self.connection.execute(query)]

    def contacts_of(self, outbox_id: int) -> list[dict[str, Any]]:
        """The contact attempts a row made (its columns, `id` first), oldest first."""
        query = (
            select(ContactAttemptRow)
            .where(ContactAttemptRow.outbox_id == outbox_id)
            .order_by(ContactAttemptRow.at, ContactAttemptRow.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]
