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
from contextlib import AbstractContextManager
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

if TYPE_CHECKING:  # annotations only: importing the port stays cheap (CLI start-up)
    from arrears.domain.activity import (
        ContactCount,
        ContactRecord,
        DecisionCount,
        PlannedSegment,
        RecordedApproval,
        Send,
    )
    from arrears.domain.audit import AuditEntry
    from arrears.domain.borrower_accounts import BorrowerAccounts
    from arrears.domain.cases import QueueEntry
    from arrears.domain.casework_records import (
        Agency,
        ApiKey,
        CaseNote,
        CaseRecord,
        CaseStanding,
        ComplaintSource,
        DisputeRecord,
        Evidence,
        Placement,
        PlanRecord,
        PromiseRecord,
        ScheduleVersion,
        WebhookReceipt,
    )
    from arrears.domain.checkout import CheckoutOrder
    from arrears.domain.compliance.facts import BorrowerFlag
    from arrears.domain.compliance.model import ContactEvent
    from arrears.domain.imports import ImportedLoan, ImportRecord, OriginalPayment
    from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
    from arrears.domain.outbox import ContactMade, Delivery, OutboxEntry, StatusChange
    from arrears.domain.plans import PlanTerms, Rewrite
    from arrears.domain.portal import PortalLink
    from arrears.domain.products import LedgerSettings
    from arrears.domain.promises import Promise, PromiseOutcome
    from arrears.domain.records import AccountEvent, Borrower, LoanRecord, Posting
    from arrears.domain.runs import PlannedAction, RunRecord
    from arrears.domain.staff import StaffUser
    from arrears.services.books_port import BooksPort, CreditLinePort, OutboundEventPort
    from arrears.services.bureau_port import BureauPort
    from arrears.services.case_refresh_port import CaseRefreshPort
    from arrears.services.model_port import ModelPort


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

    def of_borrowers(self, borrower_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each borrower's loan ids, sorted (a borrower with none is left out)."""
        ...

    def count(self) -> int: ...

    def stream(self, loan_ids: Iterable[str] | None = None, *, batch_size: int = ...) -> Iterator[Loan]: ...

    def stream_records(
        self, loan_ids: Iterable[str] | None = None, *, batch_size: int = ...
    ) -> Iterator[LoanRecord]: ...

    def accounts(
        self, as_of: date, *, loan_id: str | None = None, borrower_id: str | None = None
    ) -> BorrowerAccounts:
        """The borrower's loans, pending promises, the loan's active plans, the case and the broken-promise
        count, read in a few statements (the borrower of `loan_id`, or `borrower_id`)."""
        ...

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

    def of_kind(self, kind: str, start: date, end: date) -> list[AccountEvent]: ...


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
        self, borrower_ids: Sequence[str], since: datetime | None, excluding: Sequence[int] = ()
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


class RunPort(Protocol):
    """The daily run's records and the outbox rows it plans."""

    def steps_before(self, before: date) -> Any: ...  # a pyarrow Table in the engine's history layout

    def part_bounds(self, as_of: date, part_accounts: int) -> list[tuple[str | None, str | None]]: ...

    def snapshot_part(
        self, as_of: date, key_range: tuple[str | None, str | None] = (None, None)
    ) -> dict[str, Any]: ...  # pyarrow Tables, as UnitOfWork.snapshot, of the loans in the range

    def last_run_before(self, as_of: date) -> date | None: ...

    def last_import_day(self) -> date | None: ...

    def planned_on(self, as_of: date) -> int: ...

    def add_planned(self, actions: Sequence[PlannedAction]) -> None: ...

    def exists(self, run_id: str) -> bool: ...

    def add(self, record: RunRecord) -> None: ...


class AuditPort(Protocol):
    """The hash-chained audit log's entries and its head (seq, hash), which the store advances itself as
    entries that follow it are added (and refuses entries that do not)."""

    def tip(self, *, lock: bool = False) -> tuple[int, str] | None: ...

    def add(self, entries: Sequence[AuditEntry]) -> None: ...

    def entry(self, seq: int) -> AuditEntry | None: ...

    def entries(self, *, subject: str | None = None, limit: int | None = None) -> list[AuditEntry]: ...

    def walk(self, *, batch: int = ..., start: int = ...) -> Iterator[AuditEntry]: ...


class ActivityPort(Protocol):
    """What was planned, decided, contacted, sent, promised and complained about over a period (reports)."""

    def decisions(self, start: date, end: date) -> list[DecisionCount]: ...

    def segments(self, start: date, end: date) -> list[PlannedSegment]: ...

    def contacts(self, lo: datetime, hi: datetime) -> list[ContactRecord]: ...

    def contact_counts(self, lo: datetime, hi: datetime) -> list[ContactCount]: ...

    def contacted_loans(self, lo: datetime, hi: datetime) -> set[str]: ...

    def loans_on_channel(self, channel: str, lo: datetime, hi: datetime) -> set[str]: ...

    def contact_history(
        self, borrower_ids: Sequence[str], since: datetime, before: datetime
    ) -> dict[str, list[ContactRecord]]: ...

    def sends(self, lo: datetime, hi: datetime) -> list[Send]: ...

    def promises_settled(self, start: date, end: date) -> dict[str, int]: ...

    def cases_opened(self, start: date, end: date) -> dict[str, int]: ...

    def borrowers(self, borrower_ids: Sequence[str]) -> dict[str, Borrower]: ...

    def approvals(self, outbox_ids: Sequence[int]) -> dict[int, RecordedApproval]: ...


class OutboxPort(Protocol):
    """The outbox: claim (hold) and lock a batch, mark it in flight, write back what dispatch did, take
    over what a dead worker held, receipts and approvals, views."""

    def claim(
        self,
        now: datetime,
        limit: int,
        owner: str,
        lease_until: datetime,
        exclude: Iterable[int] = (),
        in_flight_first: bool = True,
    ) -> list[OutboxEntry]: ...

    def lock_borrowers(self, entries: list[OutboxEntry]) -> list[OutboxEntry]: ...

    def release_borrowers(self) -> None: ...

    def extend_lease(self, owner: str, until: datetime) -> None: ...

    def commit_unflushed(self) -> None: ...

    def holders(self) -> list[tuple[str, datetime | None]]: ...

    def release(self, owner: str) -> list[StatusChange]: ...

    def contacts_for(self, outbox_ids: Sequence[int]) -> list[ContactMade]: ...

    def settle_contacts(self, results: Sequence[tuple[int, str, str | None]]) -> None: ...

    def drop_contacts(self, outbox_ids: Sequence[int]) -> None: ...

    def record_sends(
        self,
        statuses: Sequence[StatusChange],
        deliveries: Sequence[Delivery],
        settled: Sequence[tuple[int, str, str | None]],
        dropped: Sequence[int],
        owner: str,
    ) -> None: ...

    def request_keys(self, ids: Sequence[int]) -> dict[int, str]: ...

    def release_connections(self) -> None: ...

    def dispute_events(self, loan_ids: Iterable[str]) -> dict[str, list[tuple[str, date]]]: ...

    def add_contacts(self, contacts: Sequence[ContactMade]) -> None: ...

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None: ...

    def set_statuses(
        self, changes: Sequence[StatusChange], owner: str | None = None, returning: str | None = None
    ) -> set[int]: ...

    def get(self, outbox_id: int) -> OutboxEntry | None: ...

    def delivery(
        self, *, idempotency_key: str | None = None, provider_id: str | None = None
    ) -> Delivery | None: ...

    def record_receipt(
        self, outbox_id: int, status: str, outcome: str, at: datetime, detail: dict[str, Any]
    ) -> None: ...

    def approve(self, approval: RecordedApproval, expires_at: datetime | None) -> None: ...

    def find(
        self,
        *,
        status: str | None = None,
        borrower_id: str | None = None,
        loan_id: str | None = None,
        day: date | None = None,
        channel: str | None = None,
        limit: int,
    ) -> tuple[list[OutboxEntry], int]: ...

    def ready_by_channel(self, now: datetime, except_channels: Iterable[str]) -> dict[str, int]: ...

    def deliveries_of(self, outbox_id: int) -> list[Delivery]: ...

    def contacts_of(self, outbox_id: int) -> list[dict[str, Any]]: ...


class AgentTaskPort(Protocol):
    """The agents' call queue: a task once per idempotency key."""

    def enqueue(
        self,
        idempotency_key: str,
        loan_id: str,
        borrower_id: str,
        reason: str,
        script: str = "",
        outbox_id: int | None = None,
    ) -> int: ...

    def for_outbox(self, outbox_id: int) -> list[dict[str, Any]]: ...

    def open_for(self, loan_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def open_tasks(self, limit: int) -> list[dict[str, Any]]: ...

    def close_for_loan(self, loan_id: str) -> list[int]: ...


class DeskPort(Protocol):
    """The desk's batched reads: the cases a queue page shows, the placements, the queue's candidates."""

    def cases(self, case_ids: Sequence[int]) -> list[CaseRecord]: ...

    def placements(self, limit: int) -> list[dict[str, Any]]: ...

    def queue_candidates(self, agent: str, today: date, limit: int, offset: int) -> list[QueueEntry]: ...


class StaffPort(Protocol):
    """Console users (argon2 hashes, lock-outs) and their sessions (keyed by the cookie's SHA-256)."""

    def get(self, name: str) -> StaffUser | None: ...

    def add(self, user: StaffUser, at: datetime) -> None: ...

    def all(self) -> list[StaffUser]: ...

    def set_disabled(self, name: str, disabled: bool) -> bool: ...

    def set_password(self, name: str, password_hash: str) -> None: ...

    def record_failure(self, name: str, failures: int, locked_until: datetime | None) -> None: ...

    def record_success(self, name: str) -> None: ...

    def add_session(self, token_hash: str, user_name: str, csrf: str, at: datetime) -> None: ...

    def session(self, token_hash: str) -> tuple[str, str, datetime, datetime] | None: ...

    def touch_session(self, token_hash: str, at: datetime) -> None: ...

    def end_session(self, token_hash: str) -> None: ...

    def end_sessions_of(self, user_name: str) -> int: ...


class PortalLinkPort(Protocol):
    """The borrower's portal links, keyed by the SHA-256 of their token (domain/portal.py)."""

    def add(self, link: PortalLink) -> None: ...

    def add_all(self, links: Sequence[PortalLink]) -> None: ...

    def get(self, token_hash: str) -> PortalLink | None: ...

    def revoke(self, *, loan_id: str, at: datetime, token_hash: str | None = None) -> int: ...

    def record_failure(self, token_hash: str) -> int: ...

    def step_up(self, token_hash: str, session_hash: str, until: datetime) -> None: ...


class CheckoutOrderPort(Protocol):
    """Pay-now orders at the payment provider (domain/checkout.py)."""

    def add(self, order: CheckoutOrder) -> None: ...

    def get(self, order_id: str) -> CheckoutOrder | None: ...

    def mark_paid(self, order_id: str, provider_ref: str, paid_at: datetime, payment_id: str) -> bool: ...

    def mark_refunded(self, order_id: str) -> None: ...

    def of_ids(self, order_ids: list[str]) -> list[CheckoutOrder]: ...

    def paid_between(self, lo: datetime, hi: datetime) -> list[CheckoutOrder]: ...

    def of_loan(self, loan_id: str) -> list[CheckoutOrder]: ...


class PersonalDataPort(Protocol):
    """The borrowers' personal data as a whole: key rotation, sealing old plain text, erasure (the store
    seals and opens it; services see plain Borrowers)."""

    def status(self) -> dict[str, Any]: ...

    def rewrap(self, limit: int) -> int: ...

    def reseal(self, after: str | None, limit: int) -> tuple[int, str | None]: ...

    def seal_plain(self, limit: int) -> int: ...

    def find(self, kind: str, value: str) -> list[str]: ...

    def duplicates(self, kind: str) -> list[list[str]]: ...

    def not_erased_loans(self) -> dict[str, list[str]]: ...

    def erased_at(self, borrower_id: str) -> datetime | None: ...

    def erase(self, borrower_id: str, kinds: Sequence[str], at: datetime) -> dict[str, int]: ...


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
    imports: ImportPort
    outbox: OutboxPort
    agent_tasks: AgentTaskPort
    staff: StaffPort
    desk: DeskPort
    personal_data: PersonalDataPort
    bureau: BureauPort
    case_refresh: CaseRefreshPort
    runs: RunPort
    audit: AuditPort
    activity: ActivityPort
    promises: PromisePort
    plans: PlanPort
    schedules: SchedulePort
    cases: CasePort
    disputes: DisputePort
    agencies: AgencyPort
    api_keys: ApiKeyPort
    webhook_receipts: WebhookReceiptPort
    loan_actions: LoanActionPort
    run_log: RunLogPort
    models: ModelPort
    credit_lines: CreditLinePort
    books: BooksPort
    outbound_events: OutboundEventPort
    portal_links: PortalLinkPort
    visits: VisitPort
    litigation: LitigationPort
    printed_letters: PrintedLetterPort
    checkout_orders: CheckoutOrderPort

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

    def savepoint(self) -> AbstractContextManager[Any]:
        """`with uow.savepoint():` what the block did is undone, alone, if it raises; kept (uncommitted) if not."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        raise NotImplementedError

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        raise NotImplementedError


# --- case work: promises, plans and schedules, cases, disputes, agencies, API keys, webhook receipts ---


class PromisePort(Protocol):
    def add(self, loan_id: str, promise: Promise, created_by: str) -> int: ...

    def get(self, promise_id: int) -> PromiseRecord | None: ...

    def has_pending(self, loan_ids: Sequence[str]) -> bool: ...

    def pending(self, loan_ids: Sequence[str] | None = None) -> list[PromiseRecord]: ...

    def settle(self, promise_id: int, outcome: PromiseOutcome) -> None: ...

    def of_loans(self, loan_ids: Sequence[str]) -> list[PromiseRecord]: ...

    def broken_count(self, loan_ids: Sequence[str], after: date, through: date) -> int: ...


class PlanPort(Protocol):
    def add(self, loan_id: str, terms: PlanTerms, change: Rewrite, requested_by: str) -> int: ...

    def get(self, plan_id: int) -> PlanRecord | None: ...

    def open_count(self, loan_id: str) -> int: ...

    def active(self, loan_ids: Sequence[str] | None = None) -> list[PlanRecord]: ...

    def awaiting_approval(self, limit: int) -> list[PlanRecord]: ...

    def approve(
        self,
        plan_id: int,
        approved_by: str,
        status: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        pause_id: int | None = None,
    ) -> None: ...

    def close(self, plan_id: int, status: str, broken_on: date | None = None) -> None: ...

    def of_loans(self, loan_ids: Sequence[str]) -> list[PlanRecord]: ...


class SchedulePort(Protocol):
    """A loan's schedule versions; the newest is the schedule in force."""

    def versions(self, loan_id: str) -> list[ScheduleVersion]: ...

    def latest_version(self, loan_id: str) -> int: ...

    def add_version(
        self,
        loan_id: str,
        version: int,
        effective_from: date | None,
        instalments: Sequence[Instalment],
        reason: str,
        plan_id: int | None,
        at: datetime,
    ) -> None: ...

    def replace_instalments(self, loan_id: str, instalments: Sequence[Instalment]) -> None: ...


class CasePort(Protocol):
    def borrowers_with_loans(self) -> list[str]: ...

    def get(self, case_id: int) -> CaseRecord | None: ...

    def of_borrower(self, borrower_id: str) -> CaseRecord | None: ...

    def open(self, borrower_id: str, language: str | None, standing: CaseStanding) -> CaseRecord: ...

    def update_standing(self, case_id: int, standing: CaseStanding) -> CaseRecord: ...

    def close(self, case_id: int) -> CaseRecord: ...

    def open_count(self) -> int: ...

    def queue_entries(self) -> list[QueueEntry]: ...

    def assign(self, case_id: int, agent: str | None) -> None: ...

    def add_note(
        self,
        case_id: int,
        author: str,
        note: str,
        *,
        channel: str | None,
        outcome: str | None,
        next_action_on: date | None,
    ) -> None: ...

    def follow_up(
        self, case_id: int, next_action_on: date | None, *, outcome: str | None = None, close: bool = False
    ) -> None: ...

    def notes(self, case_id: int) -> list[CaseNote]: ...

    def notes_per_author(self) -> dict[str, int]: ...


class DisputePort(Protocol):
    def add(
        self,
        *,
        kind: str,
        category: str,
        loan_id: str,
        borrower_id: str,
        description: str,
        opened_on: date,
        ack_by: date,
        resolve_by: date,
        pause_id: int | None,
        created_by: str,
        channel: str | None = None,
        agent: str | None = None,
        agency_id: str | None = None,
    ) -> int: ...

    def get(self, dispute_id: int) -> DisputeRecord | None: ...

    def ids(self, *, loan_ids: Sequence[str] | None = None, kind: str | None = None) -> list[int]: ...

    def acknowledge(self, dispute_id: int, at: datetime) -> None: ...

    def resolve(
        self, dispute_id: int, resolution: str, resolved_on: date, at: datetime, acknowledged_at: datetime
    ) -> None: ...

    def complaint_sources(self) -> list[ComplaintSource]: ...

    def add_evidence(
        self, dispute_id: int, filename: str, sha256: str, size: int, stored_path: str, uploaded_by: str
    ) -> int: ...

    def evidence(self, dispute_id: int) -> list[Evidence]: ...


class AgencyPort(Protocol):
    def get(self, agency_id: str) -> Agency | None: ...

    def all(self) -> list[Agency]: ...

    def add(self, agency: Agency) -> None: ...

    def place(
        self,
        loan_id: str,
        agency_id: str,
        placed_on: date,
        recall_on: date,
        commission_rate: str,
        *,
        borrower_id: str | None = None,
        placed_balance: int = 0,
        cause: str = "manual",
    ) -> None: ...

    def active_placement(self, loan_id: str) -> Placement | None: ...

    def recall(self, placement_id: int, recalled_on: date | None = None) -> None: ...

    def holder(self, loan_id: str, today: date) -> str | None: ...

    def placed_loans(self, agency_id: str, today: date) -> list[str]: ...

    def active_placements(self) -> list[Placement]: ...

    def placements(self, agency_id: str | None = None, before: date | None = None) -> list[Placement]: ...

    def payments_of(
        self, loan_ids: Sequence[str], start: date, end: date
    ) -> list[tuple[str, str, date, int]]: ...

    def add_activity(
        self, agency_id: str, loan_id: str, kind: str, outcome: str | None, note: str
    ) -> int: ...

    def activity_per_agency(self) -> dict[str, int]: ...


class VisitPort(Protocol):
    """Field visit tasks (services/visits.py): rows as dicts of the field_visits columns."""

    def add(self, visit: dict[str, Any]) -> bool: ...

    def get(self, visit_id: int) -> dict[str, Any] | None: ...

    def find(self, *, status: str | None = None, team: str | None = None) -> list[dict[str, Any]]: ...

    def close(self, visit_id: int, values: dict[str, Any]) -> None: ...


class LitigationPort(Protocol):
    """Litigation cases and their events (services/litigation.py)."""

    def add_case(self, case: dict[str, Any]) -> int: ...

    def get(self, case_id: int) -> dict[str, Any] | None: ...

    def open_for_loan(self, loan_id: str) -> dict[str, Any] | None: ...

    def cases(self) -> list[dict[str, Any]]: ...

    def update_case(self, case_id: int, values: dict[str, Any]) -> None: ...

    def add_event(self, event: dict[str, Any]) -> int: ...

    def events(self, case_ids: Sequence[int] | None = None) -> list[dict[str, Any]]: ...


class PrintedLetterPort(Protocol):
    """Letters handed to the print vendor (services/letters.py)."""

    def printed_ids(self, letter_ids: Sequence[str]) -> set[str]: ...

    def add(self, letters: Sequence[dict[str, Any]]) -> None: ...

    def get(self, letter_id: str) -> dict[str, Any] | None: ...

    def mark_returned(self, letter_id: str, on: date, reason: str) -> None: ...

    def of_batch(self, batch_id: str) -> list[dict[str, Any]]: ...


class ApiKeyPort(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def active(self, key_hash: str) -> ApiKey | None: ...

    def revoke(self, key_id: str) -> bool: ...


class WebhookReceiptPort(Protocol):
    def get(self, idempotency_key: str) -> WebhookReceipt | None: ...

    def add(self, receipt: WebhookReceipt) -> None: ...


class LoanActionPort(Protocol):
    """A loan's collection actions in the outbox, as case work sees them."""

    def cancel(self, loan_id: str, statuses: Sequence[str], reason: str) -> int: ...

    def planned_steps(self, loan_id: str, anchor: date, before: date) -> set[str]: ...

    def notices_sent(self, loan_id: str, template: str) -> list[date]: ...

    def sent_per_channel(self) -> dict[str, int]: ...


class RunLogPort(Protocol):
    """The runs and the outbox rows as stored, for listing."""

    def runs(self, limit: int, *, offset: int = 0) -> list[dict[str, Any]]: ...

    def actions(
        self, *, loan_id: str | None = None, status: str | None = None, limit: int, offset: int = 0
    ) -> list[dict[str, Any]]: ...


class ImportPort(Protocol):
    """The imports' book (one `imports` row per run), the look-ups that check a file against the store, and
    the bulk writes: Arrow tables inserted or ignored (an id already stored is left as it is), the ledger
    postings derived from the rows actually added, every row marked with the import's id. Writes return
    how many rows they added; `progress` is called with the rows just written."""

    def start(self, kind: str, source: str, actor: str, rows: int) -> ImportRecord: ...

    def finish(self, import_id: int, *, written: int, duplicates: int, rejected: int) -> None: ...

    def loan_terms(self, loan_ids: Sequence[str]) -> Any: ...  # a pyarrow Table: id, currency, opened_on

    def payment_totals(self, loan_ids: Sequence[str]) -> dict[str, int]: ...

    def loans(self, loan_ids: Sequence[str]) -> dict[str, ImportedLoan]: ...  # with their schedules

    def borrower_ids(self, borrower_ids: Sequence[str]) -> set[str]: ...  # those stored

    def loan_owners(self, loan_ids: Sequence[str]) -> dict[str, str]: ...  # loan id → borrower id

    def payments(self, payment_ids: Sequence[str]) -> dict[str, OriginalPayment]: ...

    def any_reversals(self) -> bool: ...

    def reversed_payments(self, reversal_ids: Sequence[str]) -> dict[str, str]: ...  # reversal → payment

    def add_loans(
        self,
        record: ImportRecord,
        borrowers: Any,
        loans: Any,
        instalments: Any,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, int, int]:
        """Tables: borrowers (id, name, phone, id_number, email, timezone, region, language, persona), loans
        (id, borrower_id, product_code, currency, opened_on), instalments (loan_id, seq, due_date, principal,
        interest, fees), with their schedule postings; how many borrowers, loans, instalments were added."""
        ...

    def add_payments(
        self, record: ImportRecord, payments: Any, progress: Callable[[int], None] | None = None
    ) -> int:
        """A table: id, loan_id, paid_on, amount, source; a payment posting each."""
        ...

    def add_reversals(self, record: ImportRecord, reversals: Any) -> int:
        """A table: id, payment_id, reversed_on, loan_id, amount; each recorded on its (unreversed) payment."""
        ...

    def add_events(
        self, record: ImportRecord, events: Any, progress: Callable[[int], None] | None = None
    ) -> int:
        """A table: id, loan_id, kind, on_date, at, detail (JSON text)."""
        ...
