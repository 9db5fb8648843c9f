"""Repositories: the store's rows in, domain objects out. They work on the unit of work's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.catalog import settings_from_json
from arrears.adapters.store.models import (
    AccountEventRow,
    BorrowerRow,
    InstalmentRow,
    LoanRow,
    PauseRow,
    PaymentRow,
    PostingRow,
    ProductRow,
    WaiverRow,
)
from arrears.adapters.store.personal_data_repository import borrower_from_row, sealed_values
from arrears.adapters.store.records import AccountEvent, Borrower, LoanRecord, Posting
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.products import LedgerSettings

STREAM_BATCH = 2_000


def now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ProductRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._settings: dict[str, LedgerSettings] = {}

    def codes(self) -> dict[str, str]:
        """Every product code with its currency."""
        return {
            code: cur for code, cur in self.connection.execute(select(ProductRow.code, ProductRow.currency))
        }

    def settings(self, code: str) -> LedgerSettings:
        """The ledger settings of a product (parsed once per unit of work)."""
        if code not in self._settings:
            raw = self.connection.scalar(select(ProductRow.settings).where(ProductRow.code == code))
            if raw is None:
                raise NotFound(f"unknown product {code!r}")
            self._settings[code] = settings_from_json(raw)
        return self._settings[code]


class BorrowerRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, borrower_id: str) -> Borrower | None:
        row = (
            self.connection.execute(select(BorrowerRow).where(BorrowerRow.id == borrower_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return borrower_from_row(row)

    def add(self, borrower: Borrower) -> bool:
        """Store a new borrower (personal data sealed); False if the id is already stored (kept as it is)."""
        if self.connection.scalar(select(BorrowerRow.id).where(BorrowerRow.id == borrower.id)) is not None:
            return False
        self.connection.execute(
            insert(BorrowerRow).values(id=borrower.id, **sealed_values(borrower), created_at=now())
        )
        return True


class LoanRepository:
    """Loans as domain objects, one at a time or streamed in batches."""

    def __init__(self, connection: Connection, products: ProductRepository) -> None:
        self.connection = connection
        self.products = products

    def exists(self, loan_id: str) -> bool:
        return self.connection.scalar(select(LoanRow.id).where(LoanRow.id == loan_id)) is not None

    def get(self, loan_id: str) -> Loan:
        """The domain Loan (payments with reversals, pauses, waivers, the product's settings)."""
        return self.record(loan_id).loan

    def record(self, loan_id: str) -> LoanRecord:
        """The loan with its borrower id, product code and opening date; NotFound if not stored."""
        found = self._load([loan_id])
        if not found:
            raise NotFound(f"unknown loan {loan_id!r}")
        return found[0]

    def ids(self) -> list[str]:
        """Every stored loan id, sorted."""
        return list(self.connection.scalars(select(LoanRow.id).order_by(LoanRow.id)))

    def count(self) -> int:
        return int(self.connection.scalar(select(func.count()).select_from(LoanRow)) or 0)

    def stream(
        self, loan_ids: Iterable[str] | None = None, *, batch_size: int = STREAM_BATCH
    ) -> Iterator[Loan]:
        """Loans for many ids (all when None), loaded a batch at a time with one query per table."""
        for record in self.stream_records(loan_ids, batch_size=batch_size):
            yield record.loan

    def stream_records(
        self, loan_ids: Iterable[str] | None = None, *, batch_size: int = STREAM_BATCH
    ) -> Iterator[LoanRecord]:
        """Like stream(), with borrower ids and product codes. Unknown ids are skipped."""
        ids = self.ids() if loan_ids is None else list(loan_ids)
        for chunk in _chunks(ids, batch_size):
            yield from self._load(chunk)

    def _load(self, ids: Sequence[str]) -> list[LoanRecord]:
        c = self.connection
        heads = c.execute(
            select(LoanRow.id, LoanRow.borrower_id, LoanRow.product_code, LoanRow.opened_on).where(
                LoanRow.id.in_(ids)
            )
        ).all()
        if not heads:
            return []
        instalments: dict[str, list[Instalment]] = defaultdict(list)
        for r in c.execute(
            select(
                InstalmentRow.loan_id,
                InstalmentRow.seq,
                InstalmentRow.due_date,
                InstalmentRow.principal,
                InstalmentRow.interest,
                InstalmentRow.fees,
            )
            .where(InstalmentRow.loan_id.in_(ids))
            .order_by(InstalmentRow.loan_id, InstalmentRow.seq)
        ):
            instalments[r[0]].append(Instalment(r[1], r[2], r[3], r[4], r[5]))
        payments: dict[str, list[Payment]] = defaultdict(list)
        for r in c.execute(
            select(
                PaymentRow.loan_id,
                PaymentRow.id,
                PaymentRow.paid_on,
                PaymentRow.amount,
                PaymentRow.reversed_on,
            )
            .where(PaymentRow.loan_id.in_(ids))
            .order_by(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.id)
        ):
            payments[r[0]].append(Payment(r[1], r[2], r[3], r[4]))
        pauses: dict[str, list[Pause]] = defaultdict(list)
        for r in c.execute(
            select(PauseRow.loan_id, PauseRow.start_on, PauseRow.end_on, PauseRow.reason)
            .where(PauseRow.loan_id.in_(ids))
            .order_by(PauseRow.loan_id, PauseRow.start_on, PauseRow.id)
        ):
            pauses[r[0]].append(Pause(r[1], r[2], r[3]))
        waivers: dict[str, list[Waiver]] = defaultdict(list)
        for r in c.execute(
            select(
                WaiverRow.loan_id,
                WaiverRow.on_date,
                WaiverRow.amount,
                WaiverRow.requested_by,
                WaiverRow.approved_by,
                WaiverRow.reason,
                WaiverRow.instalment_seq,
            )
            .where(WaiverRow.loan_id.in_(ids))
            .order_by(WaiverRow.loan_id, WaiverRow.on_date, WaiverRow.id)
        ):
            waivers[r[0]].append(Waiver(r[1], r[2], r[3], r[4], r[5], r[6]))
        order = {loan_id: i for i, loan_id in enumerate(ids)}
        records = [
            LoanRecord(
                loan=Loan(
                    id=loan_id,
                    instalments=tuple(instalments[loan_id]),
                    payments=tuple(payments[loan_id]),
                    pauses=tuple(pauses[loan_id]),
                    waivers=tuple(waivers[loan_id]),
                    settings=self.products.settings(product),
                ),
                borrower_id=borrower_id,
                product_code=product,
                opened_on=opened_on,
            )
            for loan_id, borrower_id, product, opened_on in heads
        ]
        records.sort(key=lambda r: order.get(r.id, 0))
        return records

    def add_pause(self, loan_id: str, pause: Pause) -> int:
        """Record a pause (dispute, identity theft, hardship plan); returns its id."""
        self._need(loan_id)
        if pause.end is not None and pause.end < pause.start:
            raise InputError("a pause cannot end before it starts", field="end_on")
        result = self.connection.execute(
            insert(PauseRow)
            .values(
                loan_id=loan_id, start_on=pause.start, end_on=pause.end, reason=pause.reason, created_at=now()
            )
            .returning(PauseRow.id)
        )
        return int(result.scalar_one())

    def end_pause(self, pause_id: int, end_on: date) -> None:
        """Close an open pause on `end_on` (inclusive)."""
        self.connection.execute(update(PauseRow).where(PauseRow.id == pause_id).values(end_on=end_on))

    def add_waiver(self, loan_id: str, waiver: Waiver) -> int:
        """Record a late-fee waiver and its posting; returns its id."""
        self._need(loan_id)
        at = now()
        result = self.connection.execute(
            insert(WaiverRow)
            .values(
                loan_id=loan_id,
                on_date=waiver.on,
                amount=waiver.amount,
                requested_by=waiver.user,
                approved_by=waiver.approver,
                reason=waiver.reason,
                instalment_seq=waiver.instalment_seq,
                created_at=at,
            )
            .returning(WaiverRow.id)
        )
        waiver_id = int(result.scalar_one())
        PostingRepository(self.connection).add(
            Posting(loan_id, waiver.on, "waiver", "late_fee", -waiver.amount, f"waiver:{waiver_id}"), at
        )
        return waiver_id

    def _need(self, loan_id: str) -> None:
        if not self.exists(loan_id):
            raise NotFound(f"unknown loan {loan_id!r}")


class PaymentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, loan_id: str, payment: Payment, *, source: str | None = None) -> bool:
        """Record a payment and its posting; False (nothing written) if the id is already stored."""
        if self.connection.scalar(select(PaymentRow.id).where(PaymentRow.id == payment.id)) is not None:
            return False
        if payment.amount <= 0:
            raise InputError(f"payment {payment.id} must be positive", field="amount")
        at = now()
        self.connection.execute(
            insert(PaymentRow).values(
                id=payment.id,
                loan_id=loan_id,
                paid_on=payment.on,
                amount=payment.amount,
                source=source,
                recorded_at=at,
            )
        )
        PostingRepository(self.connection).add(
            Posting(loan_id, payment.on, "payment", "payment", -payment.amount, payment.id), at
        )
        if payment.reversed_on is not None:
            self.reverse(payment.id, payment.reversed_on, f"{payment.id}:reversal")
        return True

    def reverse(self, payment_id: str, on: date, reversal_id: str) -> bool:
        """Mark a payment reversed (bounced) on `on`; False if it already is, by the same reversal."""
        row = self.connection.execute(
            select(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.amount, PaymentRow.reversal_id).where(
                PaymentRow.id == payment_id
            )
        ).first()
        if row is None:
            raise NotFound(f"unknown payment {payment_id!r}")
        loan_id, paid_on, amount, stored_reversal = row
        if stored_reversal == reversal_id:
            return False
        if stored_reversal is not None:
            raise InputError(
                f"payment {payment_id} is already reversed by {stored_reversal}", field="reverses"
            )
        if on < paid_on:
            raise InputError(f"payment {payment_id} cannot be reversed before it was made", field="paid_on")
        self.connection.execute(
            update(PaymentRow)
            .where(PaymentRow.id == payment_id)
            .values(reversed_on=on, reversal_id=reversal_id)
        )
        PostingRepository(self.connection).add(
            Posting(loan_id, on, "reversal", "payment", amount, reversal_id)
        )
        return True


class PostingRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, posting: Posting, at: datetime | None = None) -> None:
        self.connection.execute(
            insert(PostingRow).values(
                loan_id=posting.loan_id,
                posted_at=at or now(),
                effective_on=posting.effective_on,
                kind=posting.kind,
                component=posting.component,
                amount=posting.amount,
                ref=posting.ref,
            )
        )

    def for_loan(self, loan_id: str) -> list[Posting]:
        rows = self.connection.execute(
            select(
                PostingRow.loan_id,
                PostingRow.effective_on,
                PostingRow.kind,
                PostingRow.component,
                PostingRow.amount,
                PostingRow.ref,
                PostingRow.posted_at,
            )
            .where(PostingRow.loan_id == loan_id)
            .order_by(PostingRow.id)
        )
        return [Posting(*r) for r in rows]

    def totals(self, loan_ids: Sequence[str] | None = None) -> dict[str, dict[tuple[str, str], int]]:
        """Sum of postings per loan, per (kind, component)."""
        q = select(
            PostingRow.loan_id, PostingRow.kind, PostingRow.component, func.sum(PostingRow.amount)
        ).group_by(PostingRow.loan_id, PostingRow.kind, PostingRow.component)
        out: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        for ids in _chunks(list(loan_ids), 5_000) if loan_ids is not None else [None]:
            qq = q if ids is None else q.where(PostingRow.loan_id.in_(ids))
            for loan_id, kind, component, total in self.connection.execute(qq):
                out[loan_id][(kind, component)] = int(total)
        return out


class EventRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, event: AccountEvent) -> bool:
        """Record an account event; False if the id is already stored."""
        if (
            self.connection.scalar(select(AccountEventRow.id).where(AccountEventRow.id == event.id))
            is not None
        ):
            return False
        self.connection.execute(
            insert(AccountEventRow).values(
                id=event.id,
                loan_id=event.loan_id,
                kind=event.kind,
                on_date=event.on,
                at=event.at,
                detail=event.detail or None,
                recorded_at=now(),
            )
        )
        return True

    def for_loan(self, loan_id: str) -> list[AccountEvent]:
        rows = self.connection.execute(
            select(
                AccountEventRow.id,
                AccountEventRow.loan_id,
                AccountEventRow.kind,
                AccountEventRow.on_date,
                AccountEventRow.at,
                AccountEventRow.detail,
            )
            .where(AccountEventRow.loan_id == loan_id)
            .order_by(AccountEventRow.on_date, AccountEventRow.id)
        )
        return [AccountEvent(r[0], r[1], r[2], r[3], r[4], dict(r[5] or {})) for r in rows]


def row_counts(connection: Connection, tables: Sequence[Any]) -> dict[str, int]:
    """How many rows each table holds (for `db info` and tests)."""
    return {t.__tablename__: int(connection.scalar(select(func.count()).select_from(t)) or 0) for t in tables}
