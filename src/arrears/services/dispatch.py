"""Outbox dispatch (DESIGN.md step 7): claim, re-check, render, send, record — at least once, never twice.

A worker claims a small batch of outbox rows in one short transaction (PostgreSQL: FOR UPDATE SKIP
LOCKED, so workers never share a row; SQLite: one worker), takes a per-borrower advisory lock, reads the
ledger, events and contact history, and for each row:

1. cancels it if it became moot (paid, disputed, paused) since the run planned it;
2. asks the compliance engine again, at the send instant, against the contact history *in this
   transaction* (the lock makes two workers' checks for one borrower happen one after the other);
3. renders the template with the account's amounts as of the run day and the lender's contacts;
4. sends through the channel with the row's idempotency key (providers de-duplicate on it);
5. records the contact attempt, the delivery and the new status, and commits.

A crash between send and commit leaves the row claimable: the retry sends again with the same key and the
provider drops the duplicate. A channel that is down is retried with exponential backoff and jitter
(`failed` with next_allowed_at) and dead-lettered (`dead`) after retry.max_attempts.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import threading
import time as clock
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.channels import (
    BatchOutcome,
    Channel,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    after_fork,
    batch_size,
)
from arrears.adapters.channels.agent_tasks import AgentTaskChannel
from arrears.adapters.channels.config import ChannelsConfig, close_channels
from arrears.adapters.rendering import library
from arrears.adapters.store.dispatch_models import (
    ContactAttemptRow,
    DeliveryRow,
    OutboxApprovalRow,
)
from arrears.adapters.store.engine import engine_for
from arrears.adapters.store.models import AccountEventRow, BorrowerRow
from arrears.adapters.store.records import LoanRecord
from arrears.adapters.store.run_models import OutboxRow
from arrears.adapters.store.types import UtcDateTime
from arrears.domain.compliance.batch import lookback
from arrears.domain.compliance.channels import VOICE
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.engine import ComplianceDecision, decide
from arrears.domain.compliance.facts import BorrowerFlag, contact_address, debtor_for
from arrears.domain.compliance.model import Approval, Attempt, ContactEvent, LawFirm
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.domain.loans import Loan
from arrears.domain.masking import mask_name, mask_phone
from arrears.domain.messages import MessageChannel, RenderedMessage, validation_period_end
from arrears.services.compliance_audit import audit_dispatch
from arrears.services.daily_run import CHANNEL_FOR_RULES, NOT_CONTACTS
from arrears.services.unit_of_work import UnitOfWork

CLAIMABLE_AGAIN = ("deferred", "failed")  # claimable again once next_allowed_at has passed
POSITIONS_KEPT = 8192  # ledger positions kept per process, by loan (as read) and day
BATCH = 200  # rows per claim: the batch's reads and writes are a few queries whatever its size
# Messages about money already overdue: moot once nothing is overdue.
OVERDUE_TYPES = frozenset(
    {
        "reminder",
        "strong",
        "legal_warning",
        "lawyer_letter",
        "bureau_notice",
        "call_script",
        "placement",
        "validation_notice",
    }
)
# Messages about an instalment coming due: moot once that instalment is paid.
DUE_TYPES = frozenset({"pre_due", "due_today"})
# Messages that still go out while a dispute or pause holds collection.
HOLD_EXEMPT_TYPES = frozenset({"dispute_ack", "payment_confirmation", "plan_offer", "promise_confirmation"})
# Account events that put collection on hold (the store's event kinds), and the one that lifts a dispute.
DISPUTE_EVENTS = frozenset({"dispute_opened", "identity_dispute", "dispute_closed"})
DISPUTE_CLOSED = "dispute_closed"
# What a provider's immediate status means for the contact history (the caps count outcomes).
OUTCOME_FOR_STATUS = {
    "answered": "connected",
    "connected": "connected",
    "pressed_1": "conversation",
    "voicemail": "voicemail",
    "no_answer": "no_answer",
    "busy": "busy",
    "delivered": "delivered",
    "read": "read",
}
OUTBOX_ORDER = (OutboxRow.id,)


@dataclass
class DispatchReport:
    """What one dispatch did, by outcome and by channel."""

    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    workers: int = 1

    def add(self, outcome: str, channel: str) -> None:
        self.claimed += 1
        self.outcomes[outcome] += 1
        if outcome == "sent":
            self.channels[channel] += 1

    def merge(self, other: DispatchReport) -> None:
        self.claimed += other.claimed
        self.outcomes.update(other.outcomes)
        self.channels.update(other.channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            **{
                k: self.outcomes.get(k, 0)
                for k in ("sent", "cancelled", "deferred", "blocked", "failed", "dead", "expired")
            },
            "sent_by_channel": dict(sorted(self.channels.items())),
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.outcomes.get("sent", 0) / self.seconds, 1) if self.seconds else 0.0,
        }


@dataclass(frozen=True)
class Dispatcher:
    """Settings of a dispatch: where, with which channels, lender, profile and clock."""

    url: str | None
    channels: dict[str, Channel]
    config: ChannelsConfig
    profile: ComplianceProfile
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)
    # Test hooks: after the batch is claimed and locked / after a send, before the commit.
    on_claimed: Callable[[list[int]], None] | None = None
    after_send: Callable[[int, SendResult], None] | None = None

    def backoff(self, attempts: int) -> timedelta:
        """base · 2^(attempts−1), capped, times a jitter factor in [1 − j, 1 + j]."""
        retry = self.config.retry
        seconds = min(retry["max_seconds"], retry["base_seconds"] * 2 ** max(0, attempts - 1))
        jitter = retry["jitter"]
        return timedelta(seconds=seconds * self.rng.uniform(1 - jitter, 1 + jitter))


def dispatch(
    dispatcher: Dispatcher,
    *,
    workers: int = 1,
    limit: int | None = None,
    batch: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
    processes: bool | None = None,
) -> DispatchReport:
    """Dispatch every claimable row once (up to `limit`) with `workers` workers; returns the report.

    On PostgreSQL several workers are processes (forked; `processes=False`: threads), so rendering,
    the ledger and the HTTP clients do not share one GIL; SQLite has one worker.
    """
    started = clock.perf_counter()
    with UnitOfWork(dispatcher.url) as probe:
        dialect = probe.dialect
    if dialect != "postgresql":
        workers = 1  # SQLite has one writer: more workers would only wait on each other
    if processes is None:
        processes = workers > 1 and "fork" in multiprocessing.get_all_start_methods()
    if workers > 1 and processes:
        reports = _run_processes(dispatcher, workers, limit, batch, on_progress)
    else:
        reports = _run_threads(dispatcher, workers, limit, batch, on_progress)
    total = DispatchReport(workers=workers)
    for r in reports:
        total.merge(r)
    total.seconds = clock.perf_counter() - started
    return total


def _run_threads(
    d: Dispatcher, workers: int, limit: int | None, batch: int, on_progress: Callable[[int], None] | None
) -> list[DispatchReport]:
    budget = _Budget(limit)
    reports = [DispatchReport() for _ in range(workers)]
    errors: list[BaseException] = []

    def work(report: DispatchReport) -> None:
        try:
            _worker(d, report, budget, batch, on_progress)
        except BaseException as exc:
            errors.append(exc)

    if workers == 1:
        work(reports[0])
    else:
        threads = [
            threading.Thread(target=work, args=(r,), name=f"dispatch-{i}") for i, r in enumerate(reports)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return reports


def _run_processes(
    d: Dispatcher, workers: int, limit: int | None, batch: int, on_progress: Callable[[int], None] | None
) -> list[DispatchReport]:
    """Fork `workers` processes; each claims its own batches. Reports and progress come back by queue."""
    context = multiprocessing.get_context("fork")
    budget = _SharedBudget(limit, context)
    results: Any = context.Queue()
    # The children open their own connections: none of this engine's pooled ones may be inherited.
    engine_for(d.url).dispose()
    children = [
        context.Process(
            target=_child, args=(d, i, workers, budget, batch, results, on_progress is not None), daemon=True
        )
        for i in range(workers)
    ]
    for child in children:
        child.start()
    reports: list[DispatchReport] = []
    errors: list[str] = []
    done = 0
    while done < workers:
        try:
            kind, value = results.get(timeout=1.0)
        except queue.Empty:
            if all(not c.is_alive() for c in children) and results.empty():
                errors.append("a dispatch worker process died without a report")
                break
            continue
        if kind == "progress":
            if on_progress is not None:
                on_progress(value)
            continue
        done += 1
        if kind == "report":
            reports.append(value)
        else:
            errors.append(value)
    for child in children:
        child.join(timeout=10)
    if errors:
        raise RuntimeError(f"dispatch worker failed: {errors[0]}")
    return reports


def _child(
    d: Dispatcher,
    index: int,
    workers: int,
    budget: _SharedBudget,
    batch: int,
    results: Any,
    progress: bool,
) -> None:
    """One worker process (forked): own channels' connections, own share of the rate limits."""
    try:
        after_fork(d.channels, 1 / workers)
        d.rng.seed(f"{d.rng.random()}:{index}")  # the same inherited state would give every worker one jitter
        report = DispatchReport()
        _worker(d, report, budget, batch, (lambda n: results.put(("progress", n))) if progress else None)
        close_channels(d.channels)
        results.put(("report", report))
    except BaseException:
        results.put(("error", traceback.format_exc()))
    finally:
        engine_for(d.url).dispose()  # close this process's connections cleanly
        results.close()
        results.join_thread()
        os._exit(0)  # skip the parent's atexit handlers and finalizers (test servers, pools)


class _Budget:
    """How many rows the workers may still claim (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit
        self._lock = threading.Lock()

    def take(self, want: int) -> int:
        with self._lock:
            if self.left is None:
                return want
            got = min(want, self.left)
            self.left -= got
            return got

    def give_back(self, count: int) -> None:
        """Rows taken but not claimed after all."""
        if count > 0:
            with self._lock:
                if self.left is not None:
                    self.left += count


class _SharedBudget(_Budget):
    """The same, shared by worker processes."""

    def __init__(self, limit: int | None, context: Any) -> None:
        self.limited = limit is not None
        self.value = context.Value("q", limit or 0)

    def take(self, want: int) -> int:
        if not self.limited:
            return want
        with self.value.get_lock():
            got = min(want, int(self.value.value))
            self.value.value -= got
            return got

    def give_back(self, count: int) -> None:
        if count > 0 and self.limited:
            with self.value.get_lock():
                self.value.value += count


def _worker(
    d: Dispatcher,
    report: DispatchReport,
    budget: _Budget,
    batch: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    # A row this worker deferred (or failed) to a time still before `now` must not loop forever; rows
    # it sent, cancelled or blocked cannot be claimed again anyway, so only the others are excluded.
    seen: set[int] = set()
    while True:
        want = budget.take(batch)
        if want == 0:
            return
        with UnitOfWork(d.url) as uow:
            now = d.now()
            rows = claim(uow.connection, now, want, exclude=seen)
            if not rows:
                return
            rows = _lock_borrowers(uow.connection, rows)
            budget.give_back(want - len(rows))
            if d.on_claimed is not None:
                d.on_claimed([r.id for r in rows])
            batch_report, again = _process(d, uow, rows, now)
            uow.commit()
        seen.update(again)
        report.merge(batch_report)
        if on_progress is not None:
            on_progress(len(rows))


def claim(connection: Connection, now: datetime, limit: int, exclude: set[int] | None = None) -> list[Any]:
    """Lock and return up to `limit` rows ready to send (pending, or deferred/failed whose time has come)."""
    ready = or_(
        OutboxRow.status == "pending",
        and_(OutboxRow.status.in_(CLAIMABLE_AGAIN), OutboxRow.next_allowed_at <= now),
    )
    query = select(OutboxRow).where(ready).order_by(*OUTBOX_ORDER).limit(limit)
    if exclude and connection.dialect.name == "postgresql":
        # One array parameter: a NOT IN list would be compiled and parsed afresh for every length.
        query = query.where(
            OutboxRow.id != func.all(bindparam("excluded", sorted(exclude), type_=postgresql.ARRAY(Integer)))
        )
    elif exclude:
        query = query.where(OutboxRow.id.not_in(sorted(exclude)))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(connection.execute(query).all())


def _lock_borrowers(connection: Connection, rows: list[Any]) -> list[Any]:
    """PostgreSQL: a transaction-scoped advisory lock per borrower; returns the rows whose borrower is locked.

    Locks that are free are taken at once and the rows of borrowers another worker holds are left for later
    (they stay claimable: this transaction neither changes nor keeps them), so workers do not queue behind
    each other's batches. When no borrower is free, all are waited for, in one global order (no deadlock).
    """
    if connection.dialect.name != "postgresql" or not rows:
        return rows
    ids = sorted({r.borrower_id for r in rows})
    free = set(
        connection.scalars(
            text(
                "SELECT b FROM unnest(CAST(:ids AS text[])) AS b "
                "WHERE pg_try_advisory_xact_lock(hashtextextended(b, 7215530003))"
            ),
            {"ids": ids},
        )
    )
    if free:
        return [r for r in rows if r.borrower_id in free]
    connection.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) FROM "
            "(SELECT DISTINCT hashtextextended(b, 7215530003) AS k FROM unnest(CAST(:ids AS text[])) AS b "
            "ORDER BY k) AS locks"
        ),
        {"ids": ids},
    )
    return rows


# --- one batch ---------------------------------------------------------------------------------------


@dataclass
class _Facts:
    """What a batch reads from the store once, after the locks are held."""

    records: dict[str, LoanRecord]
    borrowers: dict[str, Any]
    events: dict[str, list[tuple[str, date]]]
    flags: dict[str, list[BorrowerFlag]]  # the borrowers' compliance facts (those not cleared by now)
    history: dict[str, list[ContactEvent]]
    approvals: dict[int, Any]
    # Ledger positions by loan and day, computed at most once per batch (the loans were read once).
    positions: dict[str, dict[date, LedgerPosition]] = field(default_factory=lambda: defaultdict(dict))


def read_facts(
    connection: Connection, uow: UnitOfWork, rows: Sequence[Any], now: datetime, profile: ComplianceProfile
) -> _Facts:
    loan_ids = sorted({r.loan_id for r in rows})
    borrower_ids = sorted({r.borrower_id for r in rows})
    records = {rec.id: rec for rec in uow.loans.stream_records(loan_ids)}
    borrowers = {
        b.id: b
        for b in connection.execute(
            select(
                BorrowerRow.id,
                BorrowerRow.name,
                BorrowerRow.phone,
                BorrowerRow.email,
                BorrowerRow.timezone,
                BorrowerRow.language,
            ).where(BorrowerRow.id.in_(borrower_ids))
        )
    }
    events: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for loan_id, kind, on in connection.execute(
        select(AccountEventRow.loan_id, AccountEventRow.kind, AccountEventRow.on_date).where(
            AccountEventRow.loan_id.in_(loan_ids), AccountEventRow.kind.in_(sorted(DISPUTE_EVENTS))
        )
    ):
        events[loan_id].append((kind, on))
    flags = uow.flags.for_borrowers(borrower_ids, since=now)
    back = lookback(profile)
    history: dict[str, list[ContactEvent]] = defaultdict(list)
    history.update(uow.contacts.events(borrower_ids, None if back is None else now - back))
    approvals = {
        a.outbox_id: a
        for a in connection.execute(
            select(OutboxApprovalRow).where(OutboxApprovalRow.outbox_id.in_([r.id for r in rows]))
        )
    }
    return _Facts(records, borrowers, events, flags, history, approvals)


@dataclass
class _Writes:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Outgoing:
    """A row decided and rendered, waiting to go out with the other messages of its batch-send."""

    row: Any
    channel: Channel
    message: OutgoingMessage
    rendered: RenderedMessage
    target: str
    is_contact: bool


@dataclass
class _Pending:
    """Messages held for batch-capable channels; a borrower has at most one message held at a time."""

    by_channel: dict[int, list[_Outgoing]] = field(default_factory=dict)
    borrowers: set[str] = field(default_factory=set)


def _process(
    d: Dispatcher, uow: UnitOfWork, rows: Sequence[Any], now: datetime
) -> tuple[DispatchReport, list[int]]:
    """Decide, send and record one claimed batch; also returns the ids left claimable again.

    Messages for a channel with a batch-send API are held and sent together. The rows go in rounds, a
    borrower's k-th row in round k (claim order within each), and the held messages go out and are
    recorded at the end of each round: a borrower's compliance check (which looks at that borrower's
    history only) sees the earlier sends exactly as if every message had gone one at a time.
    """
    connection = uow.connection
    facts = read_facts(connection, uow, rows, now, d.profile)
    writes = _Writes()
    report = DispatchReport()
    pending = _Pending()
    for round_rows in _rounds(rows):
        for row in round_rows:
            if row.borrower_id in pending.borrowers:  # cannot happen within a round; kept as the rule
                _send_pending(d, pending, facts, writes, now, report)
            outcome = _one(d, connection, row, facts, writes, now, pending)
            if outcome is not None:
                report.add(outcome, row.channel)
            elif any(len(group) >= batch_size(group[0].channel) for group in pending.by_channel.values()):
                _send_pending(d, pending, facts, writes, now, report)
        _send_pending(d, pending, facts, writes, now, report)
    _flush(connection, writes)
    audit_dispatch(uow, writes.attempts, writes.statuses)  # every contact and send-time block
    again = [w["b_id"] for w in writes.statuses if w["status"] in CLAIMABLE_AGAIN]
    return report, again


def _rounds(rows: Sequence[Any]) -> list[list[Any]]:
    """The rows with at most one per borrower in each list: a borrower's k-th row in the k-th."""
    seen: Counter[str] = Counter()
    rounds: list[list[Any]] = []
    for row in rows:
        k = seen[row.borrower_id]
        seen[row.borrower_id] += 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(row)
    return rounds


def _send_pending(
    d: Dispatcher, pending: _Pending, facts: _Facts, writes: _Writes, now: datetime, report: DispatchReport
) -> None:
    groups = list(pending.by_channel.values())
    pending.by_channel.clear()
    pending.borrowers.clear()
    for group in groups:
        results = group[0].channel.send_batch(  # type: ignore[attr-defined]
            [(o.message, o.row.idempotency_key) for o in group]
        )
        for outgoing, result in zip(group, results, strict=True):
            report.add(_sent(d, outgoing, result, facts, writes, now), outgoing.row.channel)


def _status(writes: _Writes, row: Any, now: datetime, status: str, **extra: Any) -> str:
    writes.statuses.append(
        {
            "b_id": row.id,
            "status": status,
            "updated_at": now,
            "attempts": extra.get("attempts", row.attempts),
            "next_allowed_at": extra.get("next_allowed_at"),
            "last_error": extra.get("last_error"),
            "rules": extra.get("rules", row.rules),
        }
    )
    return status


def message_type(template: str) -> str:
    """ "sms/reminder" -> "reminder"."""
    return template.split("/", 1)[-1]


def _moot(
    row: Any,
    record: LoanRecord,
    events: list[tuple[str, date]],
    check_day: date,
    positions: dict[date, LedgerPosition],
) -> str | None:
    """Why a planned row no longer applies (paid, disputed, paused), or None.

    The ledger position it computes is left in `positions` (by day) for the message to reuse.
    """
    mtype = message_type(row.template)
    if mtype not in HOLD_EXEMPT_TYPES:
        since = row.anchor or date.min
        opened: tuple[str, date] | None = None
        for kind, on in sorted(events, key=lambda e: e[1]):
            if on > check_day:
                break
            if kind == DISPUTE_CLOSED:
                opened = None if opened is not None and opened[0] != "identity_dispute" else opened
            elif on >= since:
                opened = (kind, on)
        if opened is not None:
            return f"{opened[0]} recorded on {opened[1].isoformat()}"
        for pause in record.loan.pauses:
            if pause.covers(check_day):
                return f"{pause.reason} pause since {pause.start.isoformat()}"
    if row.kind == "jump" and row.channel in NOT_CONTACTS:
        return None
    position = _position(record, check_day, positions)
    if mtype in OVERDUE_TYPES and position.overdue.total == 0:
        return "nothing overdue any more (paid)"
    if mtype in DUE_TYPES:
        due = [i for i in position.instalments if row.anchor is None or i.due == row.anchor]
        if due and all(i.status in ("paid", "paid_late") for i in due):
            return "the instalment is paid"
    return None


def _position(record: LoanRecord, day: date, positions: dict[date, LedgerPosition]) -> LedgerPosition:
    # The cancel check (as of today) and the message (as of the run day) usually ask for the same day:
    # the ledger is the costliest part of a row, so it is computed once per row and day.
    found = positions.get(day)
    if found is None:
        found = positions[day] = _ledger(record.loan, day)
    return found


@lru_cache(maxsize=POSITIONS_KEPT)
def _ledger(loan: Loan, day: date) -> LedgerPosition:
    """compute_position, kept across batches for a loan whose every input is unchanged.

    The key is the whole loan as just read under the lock (instalments, payments, reversals, pauses,
    waivers, settings: frozen and compared by value) and the day, so a payment recorded since gives
    another key and a fresh position; an unchanged loan, planned again in a later batch, is not replayed.
    """
    return compute_position(loan, day)


def amount_due(position: LedgerPosition, upto: date) -> int:
    """What is due now: the unpaid amount (late fees included) of every instalment due by `upto`."""
    return sum(i.outstanding.total for i in position.instalments if i.due <= upto)


def message_context(
    d: Dispatcher,
    row: Any,
    record: LoanRecord,
    borrower: Any,
    language: str,
    now: datetime,
    positions: dict[date, LedgerPosition] | None = None,
) -> dict[str, Any]:
    """The template context of one outbox row: the account as of the day it is sent (the borrower's local
    day, never before the plan day) and the lender's contacts. Amounts, days past due and every deadline
    are counted from that day, so a message sent late quotes today's figures, not the plan day's.

    `positions` holds ledger positions already computed for this loan, by day (reused, and added to).
    """
    lender = d.config.lender
    local_today = now.astimezone(zone((borrower.timezone if borrower else None) or "Asia/Shanghai")).date()
    send_day = max(row.as_of, local_today)
    position = _position(record, send_day, {} if positions is None else positions)
    mtype = message_type(row.template)
    upto = row.anchor if mtype in DUE_TYPES and row.anchor else send_day
    context: dict[str, Any] = {
        "lender_name": lender["name"],
        "hotline": lender["hotline"],
        "dispute_contact": lender["dispute_contact"],
        "complaint_contact": lender["complaint_contact"],
        "borrower_name": (borrower.name if borrower else None) or "客户",
        "amount_due": amount_due(position, upto),
        "due_date": position.oldest_unpaid_due or row.anchor or row.as_of,
        "days_past_due": position.dpd,
        "late_fee_daily_rate": record.loan.settings.late_fee.daily_rate,
        "pay_link": str(lender["pay_link"]).format(loan_id=record.id),
        "contract_clause": d.config.contract_clause(language),
        "law_firm": lender["law_firm"],
        "approval_ref": "",
        "letter_date": send_day,
        "loan_ref": record.id,
        "report_date": send_day + timedelta(days=7),
        "bureau_name": lender["bureau_name"],
        "agency_name": lender["agency_name"],
        "agency_contact": lender["agency_contact"],
        "currency": record.loan.currency,
        "overdue_principal": position.overdue.principal,
        "overdue_interest": position.overdue.interest,
        "late_fee": position.overdue.late_fee,
    }
    if mtype == "plan_offer":
        count = max(1, int(lender.get("plan_instalments", 3)))
        due_now = context["amount_due"]
        context["plan_terms"] = {
            "instalments": count,
            "instalment_amount": -(-due_now // count),  # rounded up: the plan never collects less
            "first_due_date": send_day + timedelta(days=7),
            "accept_by": send_day + timedelta(days=5),
        }
    if mtype == "validation_notice":
        context["dispute_by"] = validation_period_end(send_day)
    return context


def _address(channel: str, borrower: Any) -> str:
    if borrower is None:
        return ""
    # letters: the records keep the name masked
    return contact_address(channel, borrower.phone, borrower.email, mask_name(borrower.name) or borrower.id)


def _one(
    d: Dispatcher,
    connection: Connection,
    row: Any,
    facts: _Facts,
    writes: _Writes,
    now: datetime,
    pending: _Pending | None = None,
) -> str | None:
    """Decide, render and send one row (its outcome), or hold it in `pending` for a batch send (None)."""
    record = facts.records.get(row.loan_id)
    if record is None:
        return _status(writes, row, now, "dead", last_error=f"unknown loan {row.loan_id}")
    borrower = facts.borrowers.get(row.borrower_id)
    tz_name = (borrower.timezone if borrower else None) or None
    check_day = max(row.as_of, now.astimezone(zone(tz_name or "Asia/Shanghai")).date())
    positions = facts.positions[row.loan_id]
    why = _moot(row, record, facts.events.get(row.loan_id, []), check_day, positions)
    if why:
        return _status(writes, row, now, "cancelled", last_error=why)
    if row.expires_at is not None and now >= row.expires_at:
        return _status(writes, row, now, "expired", last_error=_expired(row))

    target = _address(row.channel, borrower)
    approval_row = facts.approvals.get(row.id)
    is_contact = row.channel not in NOT_CONTACTS
    if is_contact:
        decision = send_time_decision(d, row, borrower, facts, now)
        if decision.decision == "block":
            return _status(writes, row, now, "blocked", rules=",".join(decision.rules))
        if decision.decision == "defer":
            later = decision.next_allowed_at
            if row.expires_at is not None and later is not None and later >= row.expires_at:
                return _status(
                    writes, row, now, "expired", rules=",".join(decision.rules), last_error=_expired(row)
                )
            return _status(
                writes, row, now, "deferred", rules=",".join(decision.rules), next_allowed_at=later
            )

    language = (borrower.language if borrower else None) or "zh-CN"
    try:
        context = message_context(d, row, record, borrower, language, now, positions)
        if approval_row is not None:
            context["approval_ref"] = approval_row.ref
            context["law_firm"] = approval_row.law_firm or context["law_firm"]
        rendered = library().render(
            row.template,
            language,
            context,
            opt_out=d.profile.templates.opt_out_electronic or None,
            over_limit="flag",
        )
    except (InputError, NotFound) as exc:
        return _status(writes, row, now, "dead", attempts=row.attempts + 1, last_error=f"render: {exc}")

    channel = d.channels.get(row.channel)
    if isinstance(channel, AgentTaskChannel):
        channel = channel.bound(connection)
    if channel is None:
        return _retry(d, writes, row, now, f"channel {row.channel!r} is not configured")
    message = OutgoingMessage(
        channel=row.channel,
        to=target,
        body=rendered.body,
        subject=rendered.subject,
        language=rendered.language,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        rendered=rendered if rendered.channel is MessageChannel.LETTER else None,
        metadata={"outbox_id": str(row.id), "reason": row.channel, "template": row.template},
    )
    outgoing = _Outgoing(row, channel, message, rendered, target, is_contact)
    if pending is not None and batch_size(channel) > 1:
        pending.by_channel.setdefault(id(channel), []).append(outgoing)
        pending.borrowers.add(row.borrower_id)
        return None  # decided later, when the held messages go out
    result: BatchOutcome
    try:
        result = channel.send(message, row.idempotency_key)
    except ChannelError as exc:
        result = exc
    return _sent(d, outgoing, result, facts, writes, now)


def _sent(
    d: Dispatcher, outgoing: _Outgoing, result: BatchOutcome, facts: _Facts, writes: _Writes, now: datetime
) -> str:
    """Record what became of one message: sent, dead (refused for good) or to be retried."""
    row, target = outgoing.row, outgoing.target
    if isinstance(result, PermanentFailure):
        return _status(writes, row, now, "dead", attempts=row.attempts + 1, last_error=result.reason)
    if isinstance(result, ChannelError):
        return _retry(d, writes, row, now, result.reason)
    if d.after_send is not None:
        d.after_send(row.id, result)
    attempt_row = _record_sent(
        writes, row, outgoing.rendered, outgoing.channel, result, target, now, outgoing.is_contact
    )
    if attempt_row is not None:
        facts.history[row.borrower_id].append(
            ContactEvent(
                attempt_row["channel"],
                now,
                attempt_row["outcome"],
                target,
                "debtor",
                message_type(row.template),
                row.loan_id,
            )
        )
    return _status(writes, row, now, "sent", attempts=row.attempts + 1)


def send_time_decision(
    d: Dispatcher, row: Any, borrower: Any, facts: _Facts, now: datetime
) -> ComplianceDecision:
    """The authoritative check of one outbox row at `now`: the attempt as it will be made (its address,
    law firm and approval), the debtor's recorded facts and the contact history read under the lock."""
    lender = d.config.lender
    approval_row = facts.approvals.get(row.id)
    tz_name = (borrower.timezone if borrower else None) or None
    attempt = Attempt(
        channel=CHANNEL_FOR_RULES.get(row.channel, row.channel),
        at=now,
        target=_address(row.channel, borrower),
        message_type=message_type(row.template),
        debt=row.loan_id,
        law_firm=LawFirm(
            str((approval_row.law_firm if approval_row is not None else "") or lender["law_firm"]),
            bool(lender["law_firm_engaged"]),
        ),
        approval=Approval(approval_row.ref, approval_row.approved_by, approval_row.at)
        if approval_row is not None
        else None,
    )
    local = zone(tz_name or d.profile.unknown_timezones[0])
    debtor = debtor_for(
        row.borrower_id,
        (tz_name,) if tz_name else (),
        facts.flags.get(row.borrower_id, ()),
        now,
        now.astimezone(local).date(),
        row.loan_id,
        recorded=True,
    )
    return decide(d.profile, debtor, facts.history.get(row.borrower_id, []), attempt)


def _expired(row: Any) -> str:
    return f"not sent by {row.expires_at.isoformat()}: valid for {row.valid_days or '?'} day(s)"


def _retry(d: Dispatcher, writes: _Writes, row: Any, now: datetime, reason: str) -> str:
    attempts = row.attempts + 1
    if attempts >= d.config.retry["max_attempts"]:
        return _status(
            writes, row, now, "dead", attempts=attempts, last_error=f"after {attempts} tries: {reason}"
        )
    return _status(
        writes,
        row,
        now,
        "failed",
        attempts=attempts,
        last_error=reason,
        next_allowed_at=now + d.backoff(attempts),
    )


def _record_sent(
    writes: _Writes,
    row: Any,
    rendered: RenderedMessage,
    channel: Channel,
    result: SendResult,
    target: str,
    now: datetime,
    is_contact: bool,
) -> dict[str, Any] | None:
    outcome = OUTCOME_FOR_STATUS.get(result.status, "sent" if row.channel not in VOICE else "unknown")
    attempt: dict[str, Any] | None = None
    if is_contact and row.channel != "agent_call":  # a queued agent task is not a contact yet
        attempt = {
            "loan_id": row.loan_id,
            "borrower_id": row.borrower_id,
            "channel": CHANNEL_FOR_RULES.get(row.channel, row.channel),
            "target": target,
            "at": now,
            "outcome": outcome,
            "message_type": message_type(row.template),
            "outbox_id": row.id,
            "provider_id": result.provider_id,
        }
        writes.attempts.append(attempt)
    writes.deliveries.append(
        {
            "outbox_id": row.id,
            "idempotency_key": row.idempotency_key,
            "channel": row.channel,
            "provider": getattr(channel, "name", type(channel).__name__),
            "provider_id": result.provider_id,
            "status": result.status,
            "sent_at": now,
            "updated_at": now,
            "detail": {
                "template": rendered.template,
                "language": rendered.language,
                "to": mask_phone(target) if row.channel != "email" else "",
                "segments": rendered.sms.segments if rendered.sms else None,
            },
        }
    )
    return attempt


def _insert(connection: Connection) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _flush(connection: Connection, writes: _Writes) -> None:
    # One executemany per table. Within the batch, later rows saw earlier rows' attempts through the
    # in-memory history (_one appends to it), so writing them only now changes no decision.
    if writes.attempts:
        connection.execute(ContactAttemptRow.__table__.insert(), writes.attempts)
    if writes.deliveries:
        stmt = _insert(connection)(DeliveryRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["outbox_id"],
            set_={
                "provider_id": stmt.excluded.provider_id,
                "status": stmt.excluded.status,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        connection.execute(stmt, writes.deliveries)
    if writes.statuses and connection.dialect.name == "postgresql":
        _update_statuses(connection, writes.statuses)
    elif writes.statuses:
        table = OutboxRow.__table__
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("status"),
                updated_at=bindparam("updated_at"),
                attempts=bindparam("attempts"),
                next_allowed_at=bindparam("next_allowed_at"),
                last_error=bindparam("last_error"),
                rules=bindparam("rules"),
            )
        )
        connection.execute(stmt, writes.statuses)


def _update_statuses(connection: Connection, statuses: list[dict[str, Any]]) -> None:
    """PostgreSQL: the batch's new statuses in one UPDATE from arrays (an executemany is a statement a row)."""
    instant = UtcDateTime()

    def at(value: datetime | None) -> datetime | None:
        return instant.process_bind_param(value, connection.dialect)  # refuses naive datetimes

    connection.execute(
        text(
            "UPDATE outbox AS o SET status = v.status, updated_at = v.updated_at, attempts = v.attempts, "
            "next_allowed_at = v.next_allowed_at, last_error = v.last_error, rules = v.rules "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:updated AS timestamptz[]), "
            "CAST(:attempts AS integer[]), CAST(:next AS timestamptz[]), CAST(:errors AS text[]), "
            "CAST(:rules AS text[])) AS v(id, status, updated_at, attempts, next_allowed_at, last_error, rules) "
            "WHERE o.id = v.id"
        ),
        {
            "ids": [w["b_id"] for w in statuses],
            "statuses": [w["status"] for w in statuses],
            "updated": [at(w["updated_at"]) for w in statuses],
            "attempts": [w["attempts"] for w in statuses],
            "next": [at(w["next_allowed_at"]) for w in statuses],
            "errors": [w["last_error"] for w in statuses],
            "rules": [w["rules"] for w in statuses],
        },
    )
