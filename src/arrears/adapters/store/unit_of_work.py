"""The SQL unit of work: one transaction on the store (SQLite or PostgreSQL) with its repositories.

It implements the port `arrears.services.unit_of_work.UnitOfWork`; `arrears.bootstrap.configure()` makes
`UnitOfWork(url)` hand out this class. Services never import it.
"""

from __future__ import annotations

from datetime import date
from importlib import import_module
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.engine import Connection, Engine, NestedTransaction
from sqlalchemy.orm import Session

from arrears.adapters.store import open_store
from arrears.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    import pyarrow as pa

# The repositories of a unit of work: attribute → "module:factory", the factory called with the unit of work's
# connection (and, for the few named in SIBLINGS, those repositories after it). A repository's module is
# imported the first time a unit of work hands it out, so a command pays only for the repositories it uses
# (`db info`, `account show` start without the outbox, the bulk writer, pyarrow ...). A new repository is
# one line here and its protocol on the port (arrears.services.unit_of_work.UnitOfWork).
REPOSITORIES: dict[str, str] = {
    "products": "arrears.adapters.store.repositories:ProductRepository",
    "borrowers": "arrears.adapters.store.repositories:BorrowerRepository",
    "loans": "arrears.adapters.store.repositories:LoanRepository",
    "payments": "arrears.adapters.store.repositories:PaymentRepository",
    "postings": "arrears.adapters.store.repositories:PostingRepository",
    "events": "arrears.adapters.store.repositories:EventRepository",
    "flags": "arrears.adapters.store.flags:BorrowerFlagRepository",
    "contacts": "arrears.adapters.store.contacts:ContactRepository",
    "bulk": "arrears.adapters.store.bulk:bulk_writer",
    "imports": "arrears.adapters.store.import_repository:ImportRepository",
    "outbox": "arrears.adapters.store.outbox_repository:OutboxRepository",
    "agent_tasks": "arrears.adapters.store.agent_task_repository:AgentTaskRepository",
    "staff": "arrears.adapters.store.staff_repository:StaffRepository",
    "desk": "arrears.adapters.store.desk_repository:DeskRepository",
    "personal_data": "arrears.adapters.store.personal_data_repository:PersonalDataRepository",
    "runs": "arrears.adapters.store.run_repository:RunRepository",
    "audit": "arrears.adapters.store.audit_repository:AuditRepository",
    "activity": "arrears.adapters.store.activity_repository:ActivityRepository",
    "promises": "arrears.adapters.store.casework_repositories:PromiseRepository",
    "plans": "arrears.adapters.store.casework_repositories:PlanRepository",
    "schedules": "arrears.adapters.store.casework_repositories:ScheduleRepository",
    "cases": "arrears.adapters.store.casework_repositories:CaseRepository",
    "disputes": "arrears.adapters.store.casework_repositories:DisputeRepository",
    "agencies": "arrears.adapters.store.casework_repositories:AgencyRepository",
    "api_keys": "arrears.adapters.store.casework_repositories:ApiKeyRepository",
    "webhook_receipts": "arrears.adapters.store.casework_repositories:WebhookReceiptRepository",
    "loan_actions": "arrears.adapters.store.run_log:LoanActionRepository",
    "run_log": "arrears.adapters.store.run_log:RunLogReader",
    "models": "arrears.adapters.store.model_repository:ModelRepository",
    "bureau": "arrears.adapters.store.bureau_repository:BureauRepository",
    "case_refresh": "arrears.adapters.store.case_refresh_repository:CaseRefreshRepository",
    "credit_lines": "arrears.adapters.store.books_repository:CreditLineRepository",
    "books": "arrears.adapters.store.books_repository:BooksRepository",
    "outbound_events": "arrears.adapters.store.books_repository:OutboundEventRepository",
    "portal_links": "arrears.adapters.store.portal_repository:PortalLinkRepository",
    "visits": "arrears.adapters.store.field_repository:VisitRepository",
    "litigation": "arrears.adapters.store.field_repository:LitigationRepository",
    "printed_letters": "arrears.adapters.store.field_repository:PrintedLetterRepository",
    "checkout_orders": "arrears.adapters.store.checkout_repository:CheckoutOrderRepository",
}
# Repositories built on others of the same unit of work (passed after the connection, in this order).
SIBLINGS: dict[str, tuple[str, ...]] = {"loans": ("products",)}


class SqlUnitOfWork(UnitOfWork):
    """One transaction: commit() to keep the work, otherwise it is rolled back on exit."""

    connection: Connection
    engine: Engine

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._session: Session | None = None

    def __enter__(self) -> Self:
        self.engine = open_store(self.url)
        self.connection = self.engine.connect()
        self.connection.begin()
        for name in REPOSITORIES.keys() & vars(self).keys():  # a unit of work entered again
            del self.__dict__[name]
        return self

    def __getattr__(self, name: str) -> Any:
        """A repository, made on first use in this transaction (see REPOSITORIES)."""
        spec = REPOSITORIES.get(name)
        if spec is None or "connection" not in vars(self):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        module, factory = spec.split(":")
        siblings = (getattr(self, sibling) for sibling in SIBLINGS.get(name, ()))
        repository = getattr(import_module(module), factory)(self.connection, *siblings)
        setattr(self, name, repository)
        return repository

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    def snapshot(self, as_of: date, tables: tuple[str, ...] = ()) -> dict[str, pa.Table]:
        """The store as of `as_of` as pyarrow Tables (see arrears.adapters.store.snapshot); all when empty."""
        from arrears.adapters.store.snapshot import TABLES, snapshot

        return snapshot(self.connection, as_of, tables or TABLES)

    @property
    def session(self) -> Session:
        """An ORM session inside this unit of work's transaction (for code that prefers the ORM)."""
        if self._session is None:
            self._session = Session(bind=self.connection)
        return self._session

    def commit(self) -> None:
        """Keep everything done so far; the unit of work can go on with a new transaction."""
        if self._session is not None:
            self._session.flush()
            self._session.close()
            self._session = None
        self.connection.commit()

    def rollback(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self.connection.rollback()

    def savepoint(self) -> NestedTransaction:
        """A SAVEPOINT: rolled back to if the `with` block raises, released if not."""
        return self.connection.begin_nested()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.connection.in_transaction():
                self.rollback()
        finally:
            if self._session is not None:
                self._session.close()
            self.connection.close()
