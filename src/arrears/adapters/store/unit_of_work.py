"""The SQL unit of work: one transaction on the store (SQLite or PostgreSQL) with its repositories.

It implements the port `arrears.services.unit_of_work.UnitOfWork`; `arrears.bootstrap.configure()` makes
`UnitOfWork(url)` hand out this class. Services never import it.
"""

from __future__ import annotations

from datetime import date
from types import TracebackType
from typing import Self

import pyarrow as pa
from sqlalchemy.engine import Connection, Engine, NestedTransaction
from sqlalchemy.orm import Session

from arrears.adapters.store import open_store
from arrears.adapters.store.activity_repository import ActivityRepository
from arrears.adapters.store.agent_task_repository import AgentTaskRepository
from arrears.adapters.store.audit_repository import AuditRepository
from arrears.adapters.store.bulk import BulkWriter, bulk_writer
from arrears.adapters.store.casework_repositories import (
    AgencyRepository,
    ApiKeyRepository,
    CaseRepository,
    DisputeRepository,
    PlanRepository,
    PromiseRepository,
    ScheduleRepository,
    WebhookReceiptRepository,
)
from arrears.adapters.store.contacts import ContactRepository
from arrears.adapters.store.desk_repository import DeskRepository
from arrears.adapters.store.flags import BorrowerFlagRepository
from arrears.adapters.store.import_repository import ImportRepository
from arrears.adapters.store.model_repository import ModelRepository
from arrears.adapters.store.outbox_repository import OutboxRepository
from arrears.adapters.store.personal_data_repository import PersonalDataRepository
from arrears.adapters.store.portal_repository import PortalLinkRepository
from arrears.adapters.store.reply_repository import ReplyRepository
from arrears.adapters.store.repositories import (
    BorrowerRepository,
    EventRepository,
    LoanRepository,
    PaymentRepository,
    PostingRepository,
    ProductRepository,
)
from arrears.adapters.store.run_log import LoanActionRepository, RunLogReader
from arrears.adapters.store.run_repository import RunRepository
from arrears.adapters.store.snapshot import TABLES as SNAPSHOT_TABLES
from arrears.adapters.store.snapshot import snapshot
from arrears.adapters.store.staff_repository import StaffRepository
from arrears.services.unit_of_work import UnitOfWork


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
        self.products = ProductRepository(self.connection)
        self.borrowers = BorrowerRepository(self.connection)
        self.loans = LoanRepository(self.connection, self.products)
        self.payments = PaymentRepository(self.connection)
        self.postings = PostingRepository(self.connection)
        self.events = EventRepository(self.connection)
        self.flags = BorrowerFlagRepository(self.connection)
        self.contacts = ContactRepository(self.connection)
        self.bulk: BulkWriter = bulk_writer(self.connection)
        self.imports = ImportRepository(self.connection)
        self.outbox = OutboxRepository(self.connection)
        self.agent_tasks = AgentTaskRepository(self.connection)
        self.staff = StaffRepository(self.connection)
        self.desk = DeskRepository(self.connection)
        self.replies = ReplyRepository(self.connection)
        self.personal_data = PersonalDataRepository(self.connection)
        self.runs = RunRepository(self.connection)
        self.audit = AuditRepository(self.connection)
        self.activity = ActivityRepository(self.connection)
        self.promises = PromiseRepository(self.connection)
        self.plans = PlanRepository(self.connection)
        self.schedules = ScheduleRepository(self.connection)
        self.cases = CaseRepository(self.connection)
        self.disputes = DisputeRepository(self.connection)
        self.agencies = AgencyRepository(self.connection)
        self.api_keys = ApiKeyRepository(self.connection)
        self.webhook_receipts = WebhookReceiptRepository(self.connection)
        self.loan_actions = LoanActionRepository(self.connection)
        self.run_log = RunLogReader(self.connection)
        self.models = ModelRepository(self.connection)
        self.portal_links = PortalLinkRepository(self.connection)
        return self

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    def snapshot(self, as_of: date, tables: tuple[str, ...] = ()) -> dict[str, pa.Table]:
        """The store as of `as_of` as pyarrow Tables (see arrears.adapters.store.snapshot); all when empty."""
        return snapshot(self.connection, as_of, tables or SNAPSHOT_TABLES)

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
