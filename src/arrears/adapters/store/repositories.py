"""Repositories: the store's rows in, domain objects out. They work on the unit of work's connection."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from arrears.adapters.store.casework_models import CaseRow, PlanRow, PromiseRow
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
from arrears.domain.borrower_accounts import BorrowerAccounts
from arrears.domain.cases import BROKEN_PROMISE_WINDOW
from arrears.domain.casework_records import CaseRecord, PlanRecord, PromiseRecord
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.products import LedgerSettings

STREAM_BATCH = 2_000

# Ledger settings parsed from the stored JSON, by product and content (the same text always parses the same).
_PARSED_SETTINGS: dict[tuple[str, str], LedgerSettings] = {}


def now() -> datetime:
    return datetime.now(UTC)


def _insert_or_ignore(connection: Connection, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: one statement where a look-up and an insert were two (a row whose
    key is stored, also by a concurrent transaction that commits first, is left as it is; rowcount 0)."""
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # preserve_rowcount: psycopg's cursor forgets an INSERT's rowcount once SQLAlchemy closes it.
    return dialect_insert(table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)


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

    def stored(self, code: str, raw: dict[str, Any]) -> LedgerSettings:
        """The settings of a product from its stored JSON, read along with its loans (no statement)."""
        if code not in self._settings:
            key = (code, json.dumps(raw, sort_keys=True))
            if key not in _PARSED_SETTINGS:
                _PARSED_SETTINGS[key] = settings_from_json(raw)
            self._settings[code] = _PARSED_SETTINGS[key]
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

    def of_borrowers(self, borrower_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each borrower's loan ids, sorted (a borrower with none is left out)."""
        out: dict[str, list[str]] = {}
        if borrower_ids:
            query = (
                select(LoanRow.borrower_id, LoanRow.id)
                .where(LoanRow.borrower_id.in_(sorted(set(borrower_ids))))
                .order_by(LoanRow.id)
            )
            for borrower_id, loan_id in self.connection.execute(query):
                out.setdefault(str(borrower_id), []).append(str(loan_id))
        return out

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
        heads = self.connection.execute(_HEADS, {"ids": list(ids)}).all()
        if not heads:
            return []
        ledgers = _ledgers(self.connection, [h[0] for h in heads])
        order = {loan_id: i for i, loan_id in enumerate(ids)}
        records = [
            _record(ledgers, loan_id, borrower_id, product, opened_on, self.products.settings(product))
            for loan_id, borrower_id, product, opened_on in heads
        ]
        records.sort(key=lambda r: order.get(r.id, 0))
        return records

    def accounts(
        self, as_of: date, *, loan_id: str | None = None, borrower_id: str | None = None
    ) -> BorrowerAccounts:
        """The accounts of the borrower of `loan_id` (the loan at hand), or of `borrower_id`, as case work
        reads them as of `as_of` (arrears.domain.borrower_accounts): in two to four statements — the
        borrower, their case, loans and counts; the loans' ledger lines; the pending promises and the loan
        at hand's active plans when there are any. NotFound for an unknown loan or borrower."""
        c = self.connection
        rows = c.execute(
            _ACCOUNTS_OF_LOAN if loan_id is not None else _ACCOUNTS_OF_BORROWER,
            {
                "loan_id": loan_id,
                "borrower_id": borrower_id,
                "after": as_of - BROKEN_PROMISE_WINDOW,
                "through": as_of,
            },
        ).all()
        if not rows:
            raise NotFound(
                f"unknown loan {loan_id!r}" if loan_id is not None else f"unknown borrower {borrower_id!r}"
            )
        first = rows[0]
        heads = [r for r in rows if r.loan_id is not None]
        ledgers = _ledgers(c, [h.loan_id for h in heads])
        loans = tuple(
            _record(
                ledgers,
                h.loan_id,
                first.borrower_id,
                h.product_code,
                h.opened_on,
                self.products.stored(h.product_code, h.settings),
            )
            for h in heads
        )
        if loan_id is not None and all(r.id != loan_id for r in loans):
            raise NotFound(f"unknown loan {loan_id!r}")
        ids = [r.id for r in loans]
        promises: tuple[PromiseRecord, ...] = ()
        if first.pending_promises:
            promises = tuple(
                PromiseRecord(**r)
                for r in c.execute(
                    select(PromiseRow)
                    .where(PromiseRow.loan_id.in_(ids), PromiseRow.status == "pending")
                    .order_by(PromiseRow.id)
                ).mappings()
            )
        plans: tuple[PlanRecord, ...] = ()
        if first.active_plans:
            plans = tuple(
                PlanRecord(**r)
                for r in c.execute(
                    select(PlanRow)
                    .where(PlanRow.loan_id == loan_id, PlanRow.status == "active")
                    .order_by(PlanRow.id)
                ).mappings()
            )
        case = None
        if first.case_id is not None:
            case = CaseRecord(**{f: getattr(first, f"case_{f}") for f in CaseRecord.__slots__})
        return BorrowerAccounts(
            borrower_id=first.borrower_id,
            as_of=as_of,
            loans=loans,
            pending_promises=promises,
            active_plans=plans,
            case=case,
            broken_promises=int(first.broken_promises or 0),
            language=first.language,
            loan_id=loan_id,
        )

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


# --- how loans are read: heads, then every ledger line of the loans in one statement -------------------

_IDS = bindparam("ids", expanding=True)
_HEADS = select(LoanRow.id, LoanRow.borrower_id, LoanRow.product_code, LoanRow.opened_on).where(
    LoanRow.id.in_(_IDS)
)


def _ledger_lines() -> Any:
    """Instalments (kind 0), payments (1), pauses (2) and waivers (3) of the loans `ids`, in one UNION ALL,
    each kind in the order its own table would give: instalments by number, the others by day then id."""
    no_date, no_int, no_text = cast(null(), Date), cast(null(), BigInteger), cast(null(), Text)

    def line(kind: int, table: Any, key: Any, *cols: Any) -> Any:
        # kind, loan, sort keys (day, number, text), then the line's own values d1 d2 a1 a2 a3 t1 t2 t3 n
        return select(
            literal(kind, Integer).label("kind"), table.loan_id.label("loan_id"), *key, *cols
        ).where(table.loan_id.in_(_IDS))

    i, p, q, w = InstalmentRow, PaymentRow, PauseRow, WaiverRow
    lines = union_all(
        line(
            0, i, (no_date.label("s1"), cast(i.seq, BigInteger).label("s2"), no_text.label("s3")),
            i.due_date.label("d1"), no_date.label("d2"),
            i.principal.label("a1"), i.interest.label("a2"), i.fees.label("a3"),
            no_text.label("t1"), no_text.label("t2"), no_text.label("t3"), cast(i.seq, Integer).label("n"),
        ),
        line(
            1, p, (p.paid_on, no_int, cast(p.id, Text)),
            p.paid_on, p.reversed_on, p.amount, no_int, no_int,
            cast(p.id, Text), no_text, no_text, cast(null(), Integer),
        ),
        line(
            2, q, (q.start_on, cast(q.id, BigInteger), no_text),
            q.start_on, q.end_on, no_int, no_int, no_int,
            cast(q.reason, Text), no_text, no_text, cast(null(), Integer),
        ),
        line(
            3, w, (w.on_date, cast(w.id, BigInteger), no_text),
            w.on_date, no_date, w.amount, no_int, no_int,
            w.requested_by, w.approved_by, w.reason, w.instalment_seq,
        ),
    ).subquery()  # fmt: skip
    return select(lines).order_by(lines.c.kind, lines.c.loan_id, lines.c.s1, lines.c.s2, lines.c.s3)


_LEDGER_LINES = _ledger_lines()

Ledger = tuple[list[Instalment], list[Payment], list[Pause], list[Waiver]]


def _ledgers(connection: Connection, ids: Sequence[str]) -> dict[str, Ledger]:
    """Each loan's instalments, payments, pauses and waivers, in the order the ledger reads them."""
    out: dict[str, Ledger] = defaultdict(lambda: ([], [], [], []))
    if not ids:
        return out
    for kind, loan_id, _s1, _s2, _s3, d1, d2, a1, a2, a3, t1, t2, t3, n in connection.execute(
        _LEDGER_LINES, {"ids": list(ids)}
    ):
        ledger = out[loan_id]
        if kind == 0:
            ledger[0].append(Instalment(n, d1, a1, a2, a3))
        elif kind == 1:
            ledger[1].append(Payment(t1, d1, a1, d2))
        elif kind == 2:
            ledger[2].append(Pause(d1, d2, t1))
        else:
            ledger[3].append(Waiver(d1, a1, t1, t2, t3, n))
    return out


def _record(
    ledgers: dict[str, Ledger],
    loan_id: str,
    borrower_id: str,
    product: str,
    opened_on: date | None,
    settings: LedgerSettings,
) -> LoanRecord:
    instalments, payments, pauses, waivers = ledgers[loan_id]
    return LoanRecord(
        loan=Loan(
            id=loan_id,
            instalments=tuple(instalments),
            payments=tuple(payments),
            pauses=tuple(pauses),
            waivers=tuple(waivers),
            settings=settings,
        ),
        borrower_id=borrower_id,
        product_code=product,
        opened_on=opened_on,
    )


def _accounts_query(whose: Any) -> Any:
    """The borrower `whose` names, their case, the counts case work needs, and one row per loan (by id)."""
    # correlated to the outer query's borrower: without it the subquery has its own FROM borrowers and the
    # counts below were every borrower's promises, not this one's
    their_loans = select(LoanRow.id).where(LoanRow.borrower_id == BorrowerRow.id).correlate(BorrowerRow)
    e = AccountEventRow
    broken = (
        select(func.count())
        .select_from(e)
        .where(
            e.loan_id.in_(their_loans),
            e.kind == "promise_broken",
            e.on_date > bindparam("after", type_=Date),
            e.on_date <= bindparam("through", type_=Date),
        )
        .scalar_subquery()
    )
    pending = (
        select(func.count())
        .select_from(PromiseRow)
        .where(PromiseRow.loan_id.in_(their_loans), PromiseRow.status == "pending")
        .scalar_subquery()
    )
    active = (
        select(func.count())
        .select_from(PlanRow)
        .where(PlanRow.loan_id == bindparam("loan_id", type_=String), PlanRow.status == "active")
        .scalar_subquery()
    )
    case_columns = [getattr(CaseRow, f).label(f"case_{f}") for f in CaseRecord.__slots__]
    return (
        select(
            BorrowerRow.id.label("borrower_id"),
            BorrowerRow.language,
            broken.label("broken_promises"),
            pending.label("pending_promises"),
            active.label("active_plans"),
            *case_columns,
            LoanRow.id.label("loan_id"),
            LoanRow.product_code,
            LoanRow.opened_on,
            ProductRow.settings,
        )
        .select_from(BorrowerRow)
        .outerjoin(CaseRow, CaseRow.borrower_id == BorrowerRow.id)
        .outerjoin(LoanRow, LoanRow.borrower_id == BorrowerRow.id)
        .outerjoin(ProductRow, ProductRow.code == LoanRow.product_code)
        .where(BorrowerRow.id == whose)
        .order_by(LoanRow.id)
    )


_ACCOUNTS_OF_LOAN = _accounts_query(
    select(LoanRow.borrower_id).where(LoanRow.id == bindparam("loan_id", type_=String)).scalar_subquery()
)
_ACCOUNTS_OF_BORROWER = _accounts_query(bindparam("borrower_id", type_=String))


class PaymentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, loan_id: str, payment: Payment, *, source: str | None = None) -> bool:
        """Record a payment and its posting; False (nothing written) if the id is already stored."""
        if payment.amount <= 0:
            if self.connection.scalar(select(PaymentRow.id).where(PaymentRow.id == payment.id)) is not None:
                return False
            raise InputError(f"payment {payment.id} must be positive", field="amount")
        at = now()
        added = self.connection.execute(
            _insert_or_ignore(self.connection, PaymentRow).values(
                id=payment.id,
                loan_id=loan_id,
                paid_on=payment.on,
                amount=payment.amount,
                source=source,
                recorded_at=at,
            )
        )
        if not added.rowcount:
            return False
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
        added = self.connection.execute(
            _insert_or_ignore(self.connection, AccountEventRow).values(
                id=event.id,
                loan_id=event.loan_id,
                kind=event.kind,
                on_date=event.on,
                at=event.at,
                detail=event.detail or None,
                recorded_at=now(),
            )
        )
        return bool(added.rowcount)

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

    def of_kind(self, kind: str, start: date, end: date) -> list[AccountEvent]:
        """The events of a kind on days start..end (both included), by day."""
        rows = self.connection.execute(
            select(
                AccountEventRow.id,
                AccountEventRow.loan_id,
                AccountEventRow.kind,
                AccountEventRow.on_date,
                AccountEventRow.at,
                AccountEventRow.detail,
            )
            .where(AccountEventRow.kind == kind, AccountEventRow.on_date.between(start, end))
            .order_by(AccountEventRow.on_date, AccountEventRow.id)
        )
        return [AccountEvent(r[0], r[1], r[2], r[3], r[4], dict(r[5] or {})) for r in rows]


def row_counts(connection: Connection, tables: Sequence[Any]) -> dict[str, int]:
    """How many rows each table holds (for `db info` and tests)."""
    return {t.__tablename__: int(connection.scalar(select(func.count()).select_from(t)) or 0) for t in tables}
