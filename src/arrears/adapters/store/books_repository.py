"""The books' tables (migration 0015_books): credit lines, the delinquency history, charge-offs and their book
postings, and the outbound events. Writes that a re-run repeats are INSERT … ON CONFLICT DO NOTHING."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    String,
    UniqueConstraint,
    and_,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.run_models import OutboxRow
from arrears.adapters.store.types import BigId, JSONDoc, UtcDateTime
from arrears.domain.charge_off import ChargeOff, ChargeOffRule, ChargeOffRules, Entry, Transaction
from arrears.domain.credit_lines import CreditLine
from arrears.domain.delinquency import DelinquencyChange, DelinquencyState
from arrears.domain.ledger import Amounts
from arrears.domain.outbound_events import OutboundEvent


class CreditLineRow(Base):
    __tablename__ = "credit_lines"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    limit_amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="active")
    opened_on: Mapped[date | None] = mapped_column(Date)
    frozen_on: Mapped[date | None] = mapped_column(Date)
    frozen_by: Mapped[str | None] = mapped_column(String(200))


class CreditLineLoanRow(Base):
    __tablename__ = "credit_line_loans"

    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), index=True)


class DelinquencyHistoryRow(Base):
    __tablename__ = "delinquency_history"
    __table_args__ = (UniqueConstraint("loan_id", "on_date", "kind", name="uq_delinquency_history_day_kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(String(64))
    on_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    from_bucket: Mapped[str | None] = mapped_column(String(32))
    to_bucket: Mapped[str] = mapped_column(String(32))
    dpd: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    charged_off: Mapped[bool] = mapped_column(Boolean, default=False)
    cause: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChargeOffRuleRow(Base):
    __tablename__ = "charge_off_rules"

    product_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    after_dpd: Mapped[int] = mapped_column(Integer)


class ChargeOffRow(Base):
    __tablename__ = "charge_offs"

    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    charged_off_on: Mapped[date] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    late_fee: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="charged_off")
    closed_on: Mapped[date | None] = mapped_column(Date)


class BookPostingRow(Base):
    __tablename__ = "book_postings"
    __table_args__ = (UniqueConstraint("loan_id", "ref", "seq", name="uq_book_postings_entry"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(String(64), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboundEventRow(Base):
    __tablename__ = "outbound_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    loan_id: Mapped[str] = mapped_column(String(64))
    on_date: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


DEFAULT_RULE_KEY = "*"  # the charge_off_rules row of products without their own
CANCELLABLE = ("pending", "deferred", "blocked", "awaiting_approval")


def _insert_or_ignore(connection: Connection, table: Any) -> Any:
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)


def _line(row: Any) -> CreditLine:
    return CreditLine(
        row.id,
        row.borrower_id,
        row.currency,
        row.limit_amount,
        row.status,
        row.opened_on,
        row.frozen_on,
        row.frozen_by,
    )


class CreditLineRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, line_id: str) -> CreditLine | None:
        t = CreditLineRow.__table__
        row = self.connection.execute(select(t).where(t.c.id == line_id)).first()
        return _line(row) if row is not None else None

    def all(self, *, status: str | None = None) -> list[CreditLine]:
        t = CreditLineRow.__table__
        query = select(t).order_by(t.c.id)
        if status is not None:
            query = query.where(t.c.status == status)
        return [_line(r) for r in self.connection.execute(query)]

    def upsert(self, line: CreditLine) -> bool:
        """Add the line, or change its limit (status and freeze kept); whether it was new."""
        if self.get(line.id) is None:
            self.connection.execute(
                CreditLineRow.__table__.insert().values(
                    id=line.id,
                    borrower_id=line.borrower_id,
                    currency=line.currency,
                    limit_amount=line.limit,
                    status=line.status,
                    opened_on=line.opened_on,
                )
            )
            return True
        self.connection.execute(
            update(CreditLineRow).where(CreditLineRow.id == line.id).values(limit_amount=line.limit)
        )
        return False

    def set_status(self, line_id: str, status: str, on: date | None, by: str | None) -> None:
        self.connection.execute(
            update(CreditLineRow)
            .where(CreditLineRow.id == line_id)
            .values(status=status, frozen_on=on, frozen_by=by)
        )

    def attach(self, line_id: str, loan_ids: Iterable[str]) -> int:
        """Put loans under a line (a loan already under one stays where it is); how many were added."""
        rows = [{"loan_id": loan, "line_id": line_id} for loan in loan_ids]
        if not rows:
            return 0
        result = self.connection.execute(_insert_or_ignore(self.connection, CreditLineLoanRow), rows)
        return int(result.rowcount or 0)

    def loans(self, line_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Line id → its loan ids."""
        t = CreditLineLoanRow.__table__
        query = select(t.c.line_id, t.c.loan_id).order_by(t.c.line_id, t.c.loan_id)
        if line_ids is not None:
            query = query.where(t.c.line_id.in_(list(line_ids)))
        out: dict[str, list[str]] = {}
        for line_id, loan_id in self.connection.execute(query):
            out.setdefault(line_id, []).append(loan_id)
        return out

    def open_for_every_borrower(self, limit: int, currency: str, opened_on: date) -> int:
        """A line `LN-<borrower>` for every borrower without one, with all their loans under it (the
        demo's 白条 portfolio); how many lines were opened."""
        added = self.connection.execute(
            text(
                "INSERT INTO credit_lines (id, borrower_id, currency, limit_amount, status, opened_on) "
                "SELECT 'LN-' || b.id, b.id, :currency, :limit, 'active', :opened_on FROM borrowers b "
                "WHERE NOT EXISTS (SELECT 1 FROM credit_lines c WHERE c.borrower_id = b.id)"
            ),
            {"currency": currency, "limit": limit, "opened_on": opened_on},
        ).rowcount
        self.connection.execute(
            text(
                "INSERT INTO credit_line_loans (loan_id, line_id) SELECT l.id, c.id FROM loans l "
                "JOIN credit_lines c ON c.id = 'LN-' || l.borrower_id "
                "WHERE NOT EXISTS (SELECT 1 FROM credit_line_loans x WHERE x.loan_id = l.id)"
            )
        )
        return int(added or 0)

    def cancel_notice(self, idempotency_key: str, reason: str) -> None:
        """Cancel a freeze step's outbox row that has no line to freeze (it would tell of a freeze that
        did not happen)."""
        self.connection.execute(
            update(OutboxRow)
            .where(OutboxRow.idempotency_key == idempotency_key, OutboxRow.status.in_(CANCELLABLE))
            .values(status="cancelled", last_error=reason)
        )

    def line_of(self, loan_ids: Sequence[str]) -> dict[str, str]:
        """Loan id → the line it is under (loans under none left out)."""
        t = CreditLineLoanRow.__table__
        query = select(t.c.loan_id, t.c.line_id).where(t.c.loan_id.in_(list(loan_ids)))
        return {loan_id: line_id for loan_id, line_id in self.connection.execute(query)}


class BooksRepository:
    """Delinquency history, charge-offs and book postings."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def states_before(self, day: date) -> dict[str, DelinquencyState]:
        """Each loan's last recorded state before `day` (loans with no history left out)."""
        t = DelinquencyHistoryRow.__table__
        last = (
            select(t.c.loan_id, func.max(t.c.id).label("id"))
            .where(t.c.on_date < day)
            .group_by(t.c.loan_id)
            .subquery()
        )
        query = select(t.c.loan_id, t.c.to_bucket, t.c.dpd, t.c.paused, t.c.charged_off).join(
            last, and_(t.c.id == last.c.id)
        )
        return {
            r.loan_id: DelinquencyState(r.to_bucket, r.dpd, bool(r.paused), bool(r.charged_off))
            for r in self.connection.execute(query)
        }

    def add_changes(
        self, changes: Sequence[tuple[DelinquencyChange, DelinquencyState]], at: datetime
    ) -> list[DelinquencyChange]:
        """Record the changes (with the state after each); those not recorded before, in order."""
        if not changes:
            return []
        t = DelinquencyHistoryRow.__table__
        days = sorted({c.on for c, _ in changes})
        have = {
            (r.loan_id, r.on_date, r.kind)
            for r in self.connection.execute(
                select(t.c.loan_id, t.c.on_date, t.c.kind).where(t.c.on_date.in_(days))
            )
        }
        new = [(c, s) for c, s in changes if (c.loan_id, c.on, c.kind) not in have]
        if new:
            rows = [
                {
                    "loan_id": c.loan_id,
                    "on_date": c.on,
                    "kind": c.kind,
                    "from_bucket": c.from_bucket,
                    "to_bucket": c.to_bucket,
                    "dpd": c.dpd,
                    "paused": s.paused,
                    "charged_off": s.charged_off,
                    "cause": c.cause[:200],
                    "recorded_at": at,
                }
                for c, s in new
            ]
            self.connection.execute(_insert_or_ignore(self.connection, DelinquencyHistoryRow), rows)
        return [c for c, _ in new]

    def history(self, loan_id: str) -> list[DelinquencyChange]:
        t = DelinquencyHistoryRow.__table__
        query = select(t).where(t.c.loan_id == loan_id).order_by(t.c.on_date, t.c.id)
        return [
            DelinquencyChange(r.loan_id, r.on_date, r.kind, r.from_bucket, r.to_bucket, r.dpd, r.cause)
            for r in self.connection.execute(query)
        ]

    def charge_off_rules(self) -> ChargeOffRules:
        t = ChargeOffRuleRow.__table__
        found = {r.product_code: ChargeOffRule(r.after_dpd) for r in self.connection.execute(select(t))}
        default = found.pop(DEFAULT_RULE_KEY, ChargeOffRule())
        return ChargeOffRules(default, found)

    def set_charge_off_rule(self, product_code: str | None, after_dpd: int) -> None:
        """The product's charge-off threshold (None: the default for products without one)."""
        key = product_code or DEFAULT_RULE_KEY
        t = ChargeOffRuleRow.__table__
        self.connection.execute(t.delete().where(t.c.product_code == key))
        self.connection.execute(t.insert().values(product_code=key, after_dpd=after_dpd))

    def charge_offs(
        self, *, open_only: bool = False, loan_ids: Sequence[str] | None = None
    ) -> list[tuple[ChargeOff, str, date | None]]:
        """(charge-off, status, closed on) per loan."""
        t = ChargeOffRow.__table__
        query = select(t).order_by(t.c.loan_id)
        if open_only:
            query = query.where(t.c.status == "charged_off")
        if loan_ids is not None:
            query = query.where(t.c.loan_id.in_(list(loan_ids)))
        return [
            (
                ChargeOff(
                    r.loan_id, r.charged_off_on, r.dpd, Amounts(r.principal, r.interest, r.fees, r.late_fee)
                ),
                r.status,
                r.closed_on,
            )
            for r in self.connection.execute(query)
        ]

    def add_charge_off(self, co: ChargeOff) -> bool:
        result = self.connection.execute(
            _insert_or_ignore(self.connection, ChargeOffRow).values(
                loan_id=co.loan_id,
                charged_off_on=co.on,
                dpd=co.dpd,
                principal=co.amounts.principal,
                interest=co.amounts.interest,
                fees=co.amounts.fees,
                late_fee=co.amounts.late_fee,
                status="charged_off",
            )
        )
        return bool(result.rowcount)

    def close_charge_off(self, loan_id: str, status: str, on: date) -> None:
        self.connection.execute(
            update(ChargeOffRow).where(ChargeOffRow.loan_id == loan_id).values(status=status, closed_on=on)
        )

    def add_transactions(self, transactions: Sequence[Transaction], at: datetime) -> int:
        """Post the transactions not posted yet (by loan and ref); how many entries were new."""
        rows = [
            {
                "loan_id": t.loan_id,
                "on_date": t.on,
                "kind": t.kind,
                "ref": t.ref,
                "seq": seq,
                "account": e.account,
                "amount": e.amount,
                "posted_at": at,
            }
            for t in transactions
            for seq, e in enumerate(t.entries)
        ]
        if not rows:
            return 0
        return int(
            self.connection.execute(_insert_or_ignore(self.connection, BookPostingRow), rows).rowcount or 0
        )

    def transactions(
        self, loan_ids: Sequence[str] | None = None, *, kind: str | None = None
    ) -> list[Transaction]:
        t = BookPostingRow.__table__
        query = select(t).order_by(t.c.loan_id, t.c.on_date, t.c.ref, t.c.seq)
        if loan_ids is not None:
            query = query.where(t.c.loan_id.in_(list(loan_ids)))
        if kind is not None:
            query = query.where(t.c.kind == kind)
        grouped: dict[tuple[str, str], list[Any]] = {}
        for r in self.connection.execute(query):
            grouped.setdefault((r.loan_id, r.ref), []).append(r)
        return [
            Transaction(
                rows[0].loan_id,
                rows[0].kind,
                rows[0].on_date,
                rows[0].ref,
                tuple(Entry(r.account, r.amount) for r in rows),
            )
            for rows in grouped.values()
        ]


class OutboundEventRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, events: Sequence[OutboundEvent], at: datetime) -> int:
        rows = [
            {
                "event_key": e.key,
                "kind": e.kind,
                "loan_id": e.loan_id,
                "on_date": e.on,
                "payload": e.payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            }
            for e in events
        ]
        if not rows:
            return 0
        return int(
            self.connection.execute(_insert_or_ignore(self.connection, OutboundEventRow), rows).rowcount or 0
        )

    def due(self, now: datetime, limit: int) -> list[OutboundEvent]:
        t = OutboundEventRow.__table__
        query = (
            select(t).where(t.c.status == "pending", t.c.next_attempt_at <= now).order_by(t.c.id).limit(limit)
        )
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_event(r) for r in self.connection.execute(query)]

    def all(
        self, *, loan_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboundEvent]:
        t = OutboundEventRow.__table__
        query = select(t).order_by(t.c.id).limit(limit)
        if loan_id is not None:
            query = query.where(t.c.loan_id == loan_id)
        if status is not None:
            query = query.where(t.c.status == status)
        return [_event(r) for r in self.connection.execute(query)]

    def mark(
        self,
        event_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        delivered_at: datetime | None = None,
        last_error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_error": (last_error or None) and last_error[:500],
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if delivered_at is not None:
            values["delivered_at"] = delivered_at
        self.connection.execute(
            update(OutboundEventRow).where(OutboundEventRow.id == event_id).values(**values)
        )


def _event(r: Any) -> OutboundEvent:
    return OutboundEvent(
        r.kind,
        r.loan_id,
        r.on_date,
        dict(r.payload),
        id=r.id,
        status=r.status,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        delivered_at=r.delivered_at,
        last_error=r.last_error,
        key=r.event_key,
    )
