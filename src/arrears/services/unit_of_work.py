"""The unit of work port: one transaction on the store, with its repositories — the only door to it.

    with UnitOfWork() as uow:          # ARREARS_DB_URL, else ./arrears.db
        loan = uow.loans.get("L1")
        uow.payments.add("L1", payment)
        uow.commit()                   # without it, everything is rolled back

Services see only this module: the abstract unit of work and the repository protocols. The concrete store
(`arrears.adapters.store.unit_of_work.SqlUnitOfWork`, SQLAlchemy on SQLite or PostgreSQL) is composed in one
place, `arrears.bootstrap.configure()`, which entrypoints (CLI, API), the test suite and the benchmark
scripts call first; after it, `UnitOfWork(url)` opens a unit of work of the configured store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from arrears.domain.compliance.facts import BorrowerFlag
from arrears.domain.compliance.model import ContactEvent
from arrears.domain.loans import Loan, Pause, Payment, Waiver
from arrears.domain.products import LedgerSettings
from arrears.domain.records import AccountEvent, Borrower, LoanRecord, Posting


class ProductPort(Protocol):
    def codes(self) -> dict[str, str]: ...

    def settings(self, code: str) -> LedgerSettings: ...


class BorrowerPort(Protocol):
    def get(self, borrower_id: str) -> Borrower | None: ...

    def add(self, borrower: Borrower) -> bool: ...


class LoanPort(Protocol):
    def exists(self, loan_id: str) -> bool: ...

    def get(self, loan_id: str) -> Loan: ...

    def record(self, loan_id: str) -> LoanRecord: ...

    def ids(self) -> list[str]: ...

    def count(self) -> int: ...

    def stream(self, loan_ids: Iterable[str] | None = None, *, batch_size: int = ...) -> Iterator[Loan]: ...

    def stream_records(
        self, loan_ids: Iterable[str] | None = None, *, batch_size: int = ...
    ) -> Iterator[LoanRecord]: ...

    def add_pause(self, loan_id: str, pause: Pause) -> int: ...

    def end_pause(self, pause_id: int, end_on: date) -> None: ...

    def add_waiver(self, loan_id: str, waiver: Waiver) -> int: ...


class PaymentPort(Protocol):
    def add(self, loan_id: str, payment: Payment, *, source: str | None = None) -> bool: ...

    def reverse(self, payment_id: str, on: date, reversal_id: str) -> bool: ...


class PostingPort(Protocol):
    def add(self, posting: Posting, at: datetime | None = None) -> None: ...

    def for_loan(self, loan_id: str) -> list[Posting]: ...

    def totals(self, loan_ids: Sequence[str] | None = None) -> dict[str, dict[tuple[str, str], int]]: ...


class EventPort(Protocol):
    def add(self, event: AccountEvent) -> bool: ...

    def for_loan(self, loan_id: str) -> list[AccountEvent]: ...


class BorrowerFlagPort(Protocol):
    def add(self, flag: BorrowerFlag, set_at: datetime) -> int: ...

    def open_ids(
        self, borrower_id: str, name: str, channel: str, debt: str, value: str | None
    ) -> list[int]: ...

    def clear(self, ids: Sequence[int], at: datetime, by: str, reason: str) -> None: ...

    def history(self, borrower_id: str) -> list[dict[str, Any]]: ...

    def for_borrowers(
        self, borrower_ids: Sequence[str], *, since: datetime | None = None
    ) -> dict[str, list[BorrowerFlag]]: ...


class ContactPort(Protocol):
    def events(
        self, borrower_ids: Sequence[str], since: datetime | None
    ) -> dict[str, list[ContactEvent]]: ...

    def table(self, borrower_ids: Sequence[str], since: datetime | None) -> Any: ...  # a pyarrow Table

    def addresses(
        self, borrower_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str | None, str | None]]: ...


class BulkPort(Protocol):
    """Bulk insert-or-ignore of Arrow tables and key look-ups: the import's fast path."""

    dialect: str

    def insert(
        self,
        table: str,
        data: Any,
        *,
        constants: dict[str, Any] | None = None,
        then: Sequence[str] = (),
        params: dict[str, Any] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int: ...

    def lookup(
        self, table: str, key: str, keys: Sequence[Any], columns: Sequence[str]
    ) -> list[tuple[Any, ...]]: ...

    def deferred_indexes(self, tables: Sequence[str], rows: int) -> Any: ...  # a context manager


class UnitOfWork:
    """One transaction on the store: commit() to keep the work, otherwise it is rolled back on exit.

    Calling `UnitOfWork(url)` returns a unit of work of the store `arrears.bootstrap.configure()` set up.
    """

    _factory: ClassVar[Callable[[str | None], UnitOfWork] | None] = None

    url: str | None
    products: ProductPort
    borrowers: BorrowerPort
    loans: LoanPort
    payments: PaymentPort
    postings: PostingPort
    events: EventPort
    flags: BorrowerFlagPort
    contacts: ContactPort
    bulk: BulkPort

    def __new__(cls, url: str | None = None) -> Self:
        if cls is UnitOfWork:
            factory = UnitOfWork._factory
            if factory is None:
                raise RuntimeError("no store is configured: call arrears.bootstrap.configure() first")
            return factory(url)  # type: ignore[return-value]
        return super().__new__(cls)

    @classmethod
    def use(cls, factory: Callable[[str | None], UnitOfWork]) -> None:
        """Make `UnitOfWork(url)` open units of work of this store (called by the bootstrap)."""
        UnitOfWork._factory = factory

    @property
    def dialect(self) -> str:
        """The store's kind ("sqlite", "postgresql"): some bulk paths differ."""
        raise NotImplementedError

    def snapshot(self, as_of: date, tables: tuple[str, ...] = ()) -> dict[str, Any]:
        """The store as of `as_of` as Arrow tables (every table when `tables` is empty)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        raise NotImplementedError

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        raise NotImplementedError
