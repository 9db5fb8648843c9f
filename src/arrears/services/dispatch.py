"""Outbox dispatch (DESIGN.md step 7): claim, re-check, render, send, record — at least once, never twice.

A worker claims a small batch of outbox rows in one short transaction (PostgreSQL: FOR UPDATE SKIP
LOCKED, so workers never share a row; SQLite: one worker), takes a per-borrower advisory lock, reads the
ledger, events and contact history, and for each row:

1. cancels it if it became moot (paid, disputed, paused) since the run planned it (domain/outbox.py);
2. asks the compliance engine again, at the send instant, against the contact history *in this
   transaction* (the lock makes two workers' checks for one borrower happen one after the other);
3. renders the template with the account's amounts as of the send day and the lender's contacts;
4. sends through the channel with the row's idempotency key (providers de-duplicate on it);
5. records the contact attempt, the delivery and the new status, and commits.

A crash between send and commit leaves the row claimable: the retry sends again with the same key and the
provider drops the duplicate. A channel that is down is retried with exponential backoff and jitter
(`failed` with next_allowed_at) and dead-lettered (`dead`) after retry.max_attempts. The claim, the locks
and the batch's reads and writes are the outbox repository's (`uow.outbox`); the worker threads and
processes are services/worker_pool.py's.
"""

from __future__ import annotations

import multiprocessing
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from arrears.domain.activity import RecordedApproval
from arrears.domain.compliance.batch import lookback
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.decision import ComplianceDecision, decide
from arrears.domain.compliance.facts import BorrowerFlag, contact_address, debtor_for
from arrears.domain.compliance.model import Attempt, ContactEvent, LawFirm
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.domain.loans import Loan
from arrears.domain.masking import mask_name, mask_phone
from arrears.domain.messages import (
    UNSIGNED_RULE,
    MessageChannel,
    RenderedMessage,
    unsigned_letter,
    validation_period_end,
)
from arrears.domain.outbox import (
    CLAIMABLE_AGAIN,
    DISPATCH_OUTCOMES,
    DUE_TYPES,
    IN_FLIGHT,
    IN_FLIGHT_OUTCOME,
    ContactMade,
    Delivery,
    OutboxEntry,
    StatusChange,
    batch_request_key,
    message_type,
    outcome_at_send,
    why_moot,
)
from arrears.domain.portal import PortalLink
from arrears.domain.records import Borrower, LoanRecord
from arrears.services import portal
from arrears.services.channels import (
    BatchOutcome,
    Channel,
    ChannelError,
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    after_fork,
    batch_size,
    bind,
    close_channels,
)
from arrears.services.compliance_audit import audit_dispatch
from arrears.services.daily_run import CHANNEL_FOR_RULES, NOT_CONTACTS
from arrears.services.rendering import Renderer
from arrears.services.unit_of_work import UnitOfWork
from arrears.services.worker_pool import (
    ClaimBudget,
    Progress,
    run_in_processes,
    run_in_threads,
    worker_gone,
    worker_identity,
)

POSITIONS_KEPT = 8192  # ledger positions kept per process, by loan (as read) and day
BATCH = 200  # rows per claim: the batch's reads and writes are a few queries whatever its size
TAKE_OVER_SECONDS = 2.0  # how often a worker looks for rows held by workers that died
BUSY_SECONDS = 0.02  # the pause before claiming again when every borrower claimed was another worker's
LEASE = timedelta(seconds=60)  # a claim's hold without a sign of life from its worker (extended as it goes)
DEFAULT_ZONE = "Asia/Shanghai"  # the borrower's day when their time zone is unknown


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
            **{k: self.outcomes.get(k, 0) for k in DISPATCH_OUTCOMES},
            "sent_by_channel": dict(sorted(self.channels.items())),
            "workers": self.workers,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.outcomes.get("sent", 0) / self.seconds, 1) if self.seconds else 0.0,
        }


@dataclass(frozen=True)
class DispatchSettings:
    """What the dispatcher reads of the channel configuration, as plain values: the lender's identity
    (name, hotline, contacts, pay link, law firm ... printed in messages and checked at send time) and
    the retry policy (max_attempts, base_seconds, max_seconds, jitter). Built from channels.yaml by the
    caller (`arrears.bootstrap.dispatch_settings`)."""

    lender: Mapping[str, Any]
    retry: Mapping[str, Any]

    def contract_clause(self, language: str) -> str:
        """The contract clause the messages cite, in `language` (else zh-CN, else the first given)."""
        clause = self.lender["contract_clause"]
        if isinstance(clause, dict):
            return str(clause.get(language) or clause.get("zh-CN") or next(iter(clause.values())))
        return str(clause)


@dataclass(frozen=True)
class Dispatcher:
    """Settings of a dispatch: where, with which channels, lender and retry settings, profile, template
    renderer and clock (`arrears.bootstrap.make_dispatcher` composes one from channels.yaml)."""

    url: str | None
    channels: dict[str, Channel]
    settings: DispatchSettings
    profile: ComplianceProfile
    renderer: Renderer
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    rng: random.Random = field(default_factory=random.Random)
    # Test hooks: after the batch is claimed and locked / after a send, before the commit.
    on_claimed: Callable[[list[int]], None] | None = None
    after_send: Callable[[int, SendResult], None] | None = None

    def backoff(self, attempts: int) -> timedelta:
        """base · 2^(attempts−1), capped, times a jitter factor in [1 − j, 1 + j]."""
        retry = self.settings.retry
        seconds = min(retry["max_seconds"], retry["base_seconds"] * 2 ** max(0, attempts - 1))
        jitter = retry["jitter"]
        return timedelta(seconds=seconds * self.rng.uniform(1 - jitter, 1 + jitter))


def dispatch(
    dispatcher: Dispatcher,
    *,
    workers: int = 1,
    limit: int | None = None,
    batch: int = BATCH,
    on_progress: Progress | None = None,
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
        release_store_connections(dispatcher.url)  # the children open their own: none may be inherited
        work = partial(work_in_process, dispatcher, workers, batch)
        reports = run_in_processes(work, workers, limit, on_progress)
    else:
        reports = run_in_threads(
            lambda budget: work_through_outbox(dispatcher, budget, batch, on_progress), workers, limit
        )
    total = DispatchReport(workers=workers)
    for r in reports:
        total.merge(r)
    total.seconds = clock.perf_counter() - started
    return total


def work_in_process(
    d: Dispatcher, workers: int, batch: int, index: int, budget: ClaimBudget, progress: Progress | None
) -> DispatchReport:
    """One worker process (forked): own channels' connections, own share of the rate limits."""
    try:
        after_fork(d.channels, 1 / workers)
        d.rng.seed(f"{d.rng.random()}:{index}")  # the same inherited state would give every worker one jitter
        report = work_through_outbox(d, budget, batch, progress)
        close_channels(d.channels)
        return report
    finally:
        release_store_connections(d.url)  # close this process's connections cleanly


def release_store_connections(url: str | None) -> None:
    """Close the idle connections this process keeps to the store (before worker processes are forked,
    and as each of them ends)."""
    with UnitOfWork(url) as uow:
        pass
    uow.outbox.release_connections()


def work_through_outbox(
    d: Dispatcher, budget: ClaimBudget, batch: int, on_progress: Progress | None
) -> DispatchReport:
    """One worker: take over what dead workers left, claim a batch, lock its borrowers, dispatch it (each
    message marked in flight, committed, before it goes, and recorded right after) — until the budget is
    spent or nothing is ready."""
    owner = worker_identity()
    report = DispatchReport()
    # A row this worker deferred (or failed) to a time still before `now` must not loop forever; rows
    # it sent, cancelled or blocked cannot be claimed again anyway, so only the others are excluded.
    seen: set[int] = set()
    looked = -TAKE_OVER_SECONDS  # when this worker last looked for dead workers' rows
    while True:
        want = budget.take(batch)
        if want == 0:
            return report
        with UnitOfWork(d.url) as uow:
            # Dead workers' rows: at the start, then every few seconds (rows in flight are claimed first).
            look = clock.monotonic() - looked >= TAKE_OVER_SECONDS
            if look:
                take_over_abandoned(uow)
                looked = clock.monotonic()
            now = d.now()
            entries = uow.outbox.claim(now, want, owner, lease_end(), exclude=seen, in_flight_first=look)
            if not entries:
                uow.commit()
                if look:
                    return report
                looked = -TAKE_OVER_SECONDS  # nothing ready: one last look before the worker stops
                budget.give_back(want)
                continue
            try:
                # Held from the first round's commit (before anything is sent) until the claim lets go of
                # them: the other workers skip these rows. Nobody waits for a lock while holding them.
                entries = uow.outbox.lock_borrowers(entries)
                budget.give_back(want - len(entries))
                if not entries:  # every borrower is another worker's just now: try again shortly
                    uow.commit()
                    clock.sleep(BUSY_SECONDS)
                    continue
                if d.on_claimed is not None:
                    d.on_claimed([e.id for e in entries])
                claim_report, again = dispatch_claim(d, uow, entries, now, owner)
            except BaseException:
                give_up_claim(uow, owner)
                raise
            finally:
                release_borrowers(uow)
        seen.update(again)
        report.merge(claim_report)
        if on_progress is not None:
            on_progress(len(entries))


def lease_end() -> datetime:
    """The end of a lease taken or extended now (the wall clock: `Dispatcher.now` may be a fixed instant)."""
    return datetime.now(UTC) + LEASE


def take_over_abandoned(uow: UnitOfWork) -> int:
    """Let go of the rows held by workers that died (their process is gone, or their lease ran out): rows
    they left in flight are claimable again and go out again with the same keys; the audit entries they
    owed for what they sent are written. Returns how many workers were taken over (committed)."""
    wall = datetime.now(UTC)
    gone = [
        owner
        for owner, until in uow.outbox.holders()
        if worker_gone(owner) or (until is not None and until < wall)
    ]
    for owner in gone:
        owed_audit(uow, uow.outbox.release(owner))
    uow.commit()
    return len(gone)


def owed_audit(uow: UnitOfWork, released: Sequence[StatusChange]) -> None:
    """The contact entries a worker that died owed for the rows it had sent (it audits them when its claim
    ends; blocks are audited as they are written)."""
    sent = [r.outbox_id for r in released if r.status == "sent"]
    write_audit(uow, uow.outbox.contacts_for(sent), [])


def give_up_claim(uow: UnitOfWork, owner: str) -> None:
    """After an error mid-claim (this process lives on): let go of the claim as if this worker had died, so
    the next claim sends what was in flight again (best effort: the store may be what failed)."""
    with suppress(Exception):
        uow.rollback()
        owed_audit(uow, uow.outbox.release(owner))
        uow.commit()


def release_borrowers(uow: UnitOfWork) -> None:
    with suppress(Exception):
        uow.outbox.release_borrowers()


# --- one claim ---------------------------------------------------------------------------------------


@dataclass
class BatchFacts:
    """What a batch reads from the store once, after the locks are held."""

    records: dict[str, LoanRecord]
    borrowers: dict[str, Borrower]
    events: dict[str, list[tuple[str, date]]]  # each loan's dispute events (kind, day)
    flags: dict[str, list[BorrowerFlag]]  # the borrowers' compliance facts (those not cleared by now)
    history: dict[str, list[ContactEvent]]
    approvals: dict[int, RecordedApproval]
    # Ledger positions by loan and day, computed at most once per batch (the loans were read once).
    positions: dict[str, dict[date, LedgerPosition]] = field(default_factory=lambda: defaultdict(dict))


def read_facts(
    uow: UnitOfWork,
    entries: Sequence[OutboxEntry],
    now: datetime,
    profile: ComplianceProfile,
    excluding: Sequence[int] = (),
) -> BatchFacts:
    """The loans, borrowers, dispute events, compliance facts, contact history (without the attempts of the
    rows in `excluding`: messages in flight judged again) and approvals of a batch."""
    loan_ids = sorted({e.loan_id for e in entries})
    borrower_ids = sorted({e.borrower_id for e in entries})
    back = lookback(profile)
    history: dict[str, list[ContactEvent]] = defaultdict(list)
    history.update(uow.contacts.events(borrower_ids, None if back is None else now - back, excluding))
    return BatchFacts(
        records={rec.id: rec for rec in uow.loans.stream_records(loan_ids)},
        borrowers=uow.activity.borrowers(borrower_ids),
        events=uow.outbox.dispute_events(loan_ids),
        flags=uow.flags.for_borrowers(borrower_ids, since=now),
        history=history,
        approvals=uow.activity.approvals([e.id for e in entries]),
    )


@dataclass
class BatchWrites:
    """What a step of a claim records, written together in one commit."""

    contacts: list[ContactMade] = field(default_factory=list)  # attempts made (in flight)
    settled: list[tuple[int, str, str | None]] = field(
        default_factory=list
    )  # (outbox id, outcome, provider id)
    dropped: list[int] = field(default_factory=list)  # rows whose attempt turned out not to be one
    deliveries: list[Delivery] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    links: list[PortalLink] = field(default_factory=list)  # portal links in the messages rendered


@dataclass
class HeldMessage:
    """A row decided and rendered, ready to go (alone, or in a batch request with others)."""

    entry: OutboxEntry
    channel: Channel
    message: OutgoingMessage
    rendered: RenderedMessage
    target: str
    is_contact: bool

    @property
    def counted(self) -> bool:
        """Whether it is a contact attempt the caps count (a queued agent task is not a contact yet)."""
        return self.is_contact and self.entry.channel != "agent_call"


@dataclass
class Claim:
    """One worker's claim as it goes: who holds it, the rows it took over in flight (and the requests they
    were in), the contact attempts to audit when it ends, the rows to leave alone for the rest of the pass."""

    owner: str
    recovered: set[int]
    requests: dict[int, str]
    audit: list[ContactMade] = field(default_factory=list)
    again: list[int] = field(default_factory=list)
    in_history: dict[int, ContactEvent] = field(default_factory=dict)  # in-flight attempts, by row
    lease_at: float = field(default_factory=clock.monotonic)


def dispatch_claim(
    d: Dispatcher, uow: UnitOfWork, entries: Sequence[OutboxEntry], now: datetime, owner: str
) -> tuple[DispatchReport, list[int]]:
    """Decide, send and record one claimed batch; also returns the ids left claimable again.

    The rows go in rounds, a borrower's k-th row in round k (rows taken over in flight first), so a
    borrower's compliance check (which looks at that borrower's history only) sees its earlier rows' sends.
    Each round: every row is decided; the decisions and the messages to send, marked in flight with their
    contact attempts, are committed; then each message (or each batch request) goes out and its result is
    committed at once. A crash re-sends only what was on the wire. The claim ends with the audit entries of
    its contacts and lets go of its rows (one commit).
    """
    recovered = {e.id for e in entries if e.status == IN_FLIGHT}
    ordered = sorted(entries, key=lambda e: e.id not in recovered)  # stable: claim order otherwise
    facts = read_facts(uow, ordered, now, d.profile, excluding=sorted(recovered))
    claim = Claim(owner, recovered, uow.outbox.request_keys(sorted(recovered)) if recovered else {})
    report = DispatchReport()
    rounds = rounds_by_borrower(ordered)
    for k, round_entries in enumerate(rounds):
        writes = BatchWrites()
        ready: list[HeldMessage] = []
        for entry in round_entries:
            decided = dispatch_row(d, uow, entry, facts, writes, now)
            if isinstance(decided, HeldMessage):
                ready.append(decided)
            else:
                report.add(decided, entry.channel)
        requests = mark_in_flight(uow, claim, ready, writes, facts, now)
        for gone in {h.entry.id for h in ready} - {h.entry.id for r in requests for h in r}:
            report.add("cancelled", next(h.entry.channel for h in ready if h.entry.id == gone))
        for n, request in enumerate(requests):
            last = k == len(rounds) - 1 and n == len(requests) - 1
            send_request(d, uow, claim, request, facts, now, report, finish=last)
        if k == len(rounds) - 1 and not requests:
            finish_claim(uow, claim)
            uow.outbox.commit_unflushed()
            uow.commit()
    return report, claim.again


def finish_claim(uow: UnitOfWork, claim: Claim) -> None:
    """The claim's end (in its last commit): the audit entries of its contacts, and its rows let go of.
    Lost with the database server, both are redone by the take-over of the rows it still holds."""
    write_audit(uow, claim.audit, [])
    uow.outbox.release(claim.owner)


def keep_lease(uow: UnitOfWork, claim: Claim) -> None:
    """Extend the claim's lease when a third of it has gone by."""
    if clock.monotonic() - claim.lease_at > LEASE.total_seconds() / 3:
        uow.outbox.extend_lease(claim.owner, lease_end())
        claim.lease_at = clock.monotonic()


def rounds_by_borrower(entries: Sequence[OutboxEntry]) -> list[list[OutboxEntry]]:
    """The rows with at most one per borrower in each list: a borrower's k-th row in the k-th."""
    seen: Counter[str] = Counter()
    rounds: list[list[OutboxEntry]] = []
    for entry in entries:
        k = seen[entry.borrower_id]
        seen[entry.borrower_id] += 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(entry)
    return rounds


def requests_of(ready: Sequence[HeldMessage], taken_over: Mapping[int, str]) -> list[list[HeldMessage]]:
    """How the round's messages go out: one request each, or for a channel with a batch-send API, requests
    of up to its batch size — messages taken over in flight in the request they were in before."""
    requests: list[list[HeldMessage]] = []
    batched: dict[tuple[int, str], list[HeldMessage]] = {}
    for held in ready:
        size = batch_size(held.channel)
        if size <= 1:
            requests.append([held])
            continue
        group = batched.setdefault((id(held.channel), taken_over.get(held.entry.id, "")), [])
        group.append(held)
        if len(group) >= size:
            requests.append(group[:])
            group.clear()
    requests.extend(group for group in batched.values() if group)
    return requests


def mark_in_flight(
    uow: UnitOfWork,
    claim: Claim,
    ready: Sequence[HeldMessage],
    writes: BatchWrites,
    facts: BatchFacts,
    now: datetime,
) -> list[list[HeldMessage]]:
    """Commit, before anything of the round is sent: its decided rows, and its messages as `sending` with
    their contact attempts (outcome unknown: the caps count them) and the batch requests they go in. Returns
    the requests, without rows that are not in flight after all (a payment cancelled them meanwhile)."""
    requests = requests_of(ready, claim.requests)
    for request in requests:
        batched = batch_size(request[0].channel) > 1
        key = batch_request_key(h.entry.idempotency_key for h in request) if batched else None
        for h in request:
            e = h.entry
            writes.statuses.append(StatusChange(e.id, IN_FLIGHT, now, e.attempts, e.rules, request_key=key))
            if h.counted and e.id not in claim.recovered:
                writes.contacts.append(contact_made(h, now, IN_FLIGHT_OUTCOME, None))
    decided = [s for s in writes.statuses if s.status != IN_FLIGHT]
    # A row taken over in flight and not sent again may have reached the person the first time: its
    # attempt stays (counted), audited now.
    kept = {s.outbox_id for s in decided} & claim.recovered
    kept_contacts = uow.outbox.contacts_for(sorted(kept)) if kept else []
    uow.outbox.add_contacts(writes.contacts)
    uow.portal_links.add_all(writes.links)
    flying = uow.outbox.set_statuses(writes.statuses, claim.owner, returning=IN_FLIGHT)
    write_audit(uow, kept_contacts, decided)
    keep_lease(uow, claim)
    uow.commit()  # durable before the send (the results after it need not wait for the disk)
    claim.again.extend(s.outbox_id for s in decided if s.status in CLAIMABLE_AGAIN)
    for contact in kept_contacts:
        remember(facts, claim, contact)
    for h in ready:
        if h.counted and h.entry.id in flying:
            remember(facts, claim, contact_made(h, now, IN_FLIGHT_OUTCOME, None))
    return [kept_ for kept_ in ([h for h in r if h.entry.id in flying] for r in requests) if kept_]


def remember(facts: BatchFacts, claim: Claim, contact: ContactMade) -> None:
    """The attempt in this claim's history at once: the borrower's later rows' checks read it."""
    event = ContactEvent(
        contact.channel,
        contact.at,
        contact.outcome,
        contact.target,
        "debtor",
        contact.message_type,
        contact.loan_id,
    )
    history = facts.history[contact.borrower_id]
    before = claim.in_history.pop(contact.outbox_id, None)
    if before is not None:
        with suppress(ValueError):
            history.remove(before)
    history.append(event)
    claim.in_history[contact.outbox_id] = event


def forget(facts: BatchFacts, claim: Claim, entry: OutboxEntry) -> None:
    before = claim.in_history.pop(entry.id, None)
    if before is not None:
        with suppress(ValueError):
            facts.history[entry.borrower_id].remove(before)


def send_request(
    d: Dispatcher,
    uow: UnitOfWork,
    claim: Claim,
    request: list[HeldMessage],
    facts: BatchFacts,
    now: datetime,
    report: DispatchReport,
    finish: bool = False,
) -> None:
    """Send one request (a message, or a batch-send) and commit what became of each of its messages (with
    the claim's end when it is the claim's last request)."""
    channel = request[0].channel
    results: list[BatchOutcome]
    if batch_size(channel) > 1:
        results = channel.send_batch(  # type: ignore[attr-defined]
            [(h.message, h.entry.idempotency_key) for h in request]
        )
    else:
        try:
            results = [channel.send(request[0].message, request[0].entry.idempotency_key)]
        except ChannelError as exc:
            results = [exc]
    writes = BatchWrites()
    for held, result in zip(request, results, strict=True):
        report.add(record_result(d, claim, held, result, facts, writes, now), held.entry.channel)
    # A result lost with the database server (not with the worker: a commit the server has made stays)
    # only means the message goes again with its key, so its commit does not wait for the disk.
    uow.outbox.record_sends(writes.statuses, writes.deliveries, writes.settled, writes.dropped, claim.owner)
    if finish:
        finish_claim(uow, claim)
    else:
        keep_lease(uow, claim)
    uow.commit()
    claim.again.extend(s.outbox_id for s in writes.statuses if s.status in CLAIMABLE_AGAIN)


def dispatch_row(
    d: Dispatcher,
    uow: UnitOfWork,
    entry: OutboxEntry,
    facts: BatchFacts,
    writes: BatchWrites,
    now: datetime,
) -> str | HeldMessage:
    """Decide and render one row: what became of it (its status, recorded in `writes`), or the message
    ready to go."""
    record = facts.records.get(entry.loan_id)
    if record is None:
        return record_status(writes, entry, now, "dead", last_error=f"unknown loan {entry.loan_id}")
    borrower = facts.borrowers.get(entry.borrower_id)
    tz_name = (borrower.timezone if borrower else None) or None
    check_day = max(entry.as_of, now.astimezone(zone(tz_name or DEFAULT_ZONE)).date())
    positions = facts.positions[entry.loan_id]
    why = why_moot(
        entry.template,
        entry.anchor,
        day=check_day,
        events=facts.events.get(entry.loan_id, ()),
        pauses=record.loan.pauses,
        position=lambda: position_on(record, check_day, positions),
        stands_when_paid=entry.kind == "jump" and entry.channel in NOT_CONTACTS,
    )
    if why:
        return record_status(writes, entry, now, "cancelled", last_error=why)
    if entry.expires_at is not None and now >= entry.expires_at:
        return record_status(writes, entry, now, "expired", last_error=expiry_note(entry))
    lender = d.settings.lender
    unsigned = unsigned_letter(
        message_type(entry.template),
        str(lender.get("signing_lawyer") or ""),
        str(lender.get("firm_registration") or ""),
    )
    if unsigned:  # stopped here, not only at the print batch: nothing is rendered or spooled
        return record_status(writes, entry, now, "blocked", rules=UNSIGNED_RULE, last_error=unsigned)

    target = address_of(entry.channel, borrower)
    approval = facts.approvals.get(entry.id)
    is_contact = entry.channel not in NOT_CONTACTS
    if is_contact:
        decision = send_time_decision(d, entry, borrower, facts, now)
        rules = ",".join(decision.rules)
        if decision.decision == "block":
            return record_status(writes, entry, now, "blocked", rules=rules)
        if decision.decision == "defer":
            later = decision.next_allowed_at
            if entry.expires_at is not None and later is not None and later >= entry.expires_at:
                return record_status(
                    writes, entry, now, "expired", rules=rules, last_error=expiry_note(entry)
                )
            return record_status(writes, entry, now, "deferred", rules=rules, next_allowed_at=later)

    language = (borrower.language if borrower else None) or "zh-CN"
    try:
        context = message_context(d, entry, record, borrower, language, now, positions)
        if "{token}" in context["pay_link"]:  # the lender's pay_link is a portal link: one per message
            context["pay_link"], link = portal.message_link(
                str(d.settings.lender["pay_link"]), record.id, record.borrower_id, now
            )
            writes.links.append(link)
        if approval is not None:
            context["approval_ref"] = approval.approval.ref
            context["law_firm"] = approval.law_firm or context["law_firm"]
        rendered = d.renderer.render(
            entry.template,
            language,
            context,
            opt_out=d.profile.templates.opt_out_electronic or None,
            over_limit="flag",
        )
    except (InputError, NotFound) as exc:
        return record_status(
            writes, entry, now, "dead", attempts=entry.attempts + 1, last_error=f"render: {exc}"
        )

    channel = d.channels.get(entry.channel)
    if channel is not None:
        channel = bind(channel, uow)  # e.g. the agent-task queue writes in this batch's transaction
    if channel is None:
        return retry_later(d, writes, entry, now, f"channel {entry.channel!r} is not configured")
    message = OutgoingMessage(
        channel=entry.channel,
        to=target,
        body=rendered.body,
        subject=rendered.subject,
        language=rendered.language,
        loan_id=entry.loan_id,
        borrower_id=entry.borrower_id,
        rendered=rendered if rendered.channel is MessageChannel.LETTER else None,
        metadata={"outbox_id": str(entry.id), "reason": entry.channel, "template": entry.template},
    )
    return HeldMessage(entry, channel, message, rendered, target, is_contact)


def record_result(
    d: Dispatcher,
    claim: Claim,
    outgoing: HeldMessage,
    result: BatchOutcome,
    facts: BatchFacts,
    writes: BatchWrites,
    now: datetime,
) -> str:
    """Record what became of one message: sent, dead (refused for good) or to be retried. The attempt
    recorded in flight gets the provider's outcome; a message the provider refused or never took was no
    contact — unless it had been in flight before a crash (it may have reached the person then: kept)."""
    entry = outgoing.entry
    if isinstance(result, ChannelError):
        if outgoing.counted and entry.id not in claim.recovered:
            writes.dropped.append(entry.id)
            forget(facts, claim, entry)
        elif outgoing.counted:
            claim.audit.append(contact_made(outgoing, now, IN_FLIGHT_OUTCOME, None))
        if isinstance(result, PermanentFailure):
            return record_status(
                writes, entry, now, "dead", attempts=entry.attempts + 1, last_error=result.reason
            )
        return retry_later(d, writes, entry, now, result.reason)
    if d.after_send is not None:
        d.after_send(entry.id, result)
    if outgoing.counted:
        contact = contact_made(
            outgoing, now, outcome_at_send(result.status, entry.channel), result.provider_id
        )
        writes.settled.append((entry.id, contact.outcome, contact.provider_id))
        claim.audit.append(contact)
        remember(facts, claim, contact)
    writes.deliveries.append(delivery_of(outgoing, result, now))
    return record_status(writes, entry, now, "sent", attempts=entry.attempts + 1)


def send_time_decision(
    d: Dispatcher, entry: OutboxEntry, borrower: Borrower | None, facts: BatchFacts, now: datetime
) -> ComplianceDecision:
    """The authoritative check of one outbox row at `now`: the attempt as it will be made (its address,
    law firm and approval), the debtor's recorded facts and the contact history read under the lock."""
    lender = d.settings.lender
    approval = facts.approvals.get(entry.id)
    tz_name = (borrower.timezone if borrower else None) or None
    attempt = Attempt(
        channel=CHANNEL_FOR_RULES.get(entry.channel, entry.channel),
        at=now,
        target=address_of(entry.channel, borrower),
        message_type=message_type(entry.template),
        debt=entry.loan_id,
        law_firm=LawFirm(
            str((approval.law_firm if approval is not None else "") or lender["law_firm"]),
            bool(lender["law_firm_engaged"]),
        ),
        approval=approval.approval if approval is not None else None,
    )
    local = zone(tz_name or d.profile.unknown_timezones[0])
    debtor = debtor_for(
        entry.borrower_id,
        (tz_name,) if tz_name else (),
        facts.flags.get(entry.borrower_id, ()),
        now,
        now.astimezone(local).date(),
        entry.loan_id,
        recorded=True,
    )
    return decide(d.profile, debtor, facts.history.get(entry.borrower_id, []), attempt)


def address_of(channel: str, borrower: Borrower | None) -> str:
    """Where a message on `channel` goes (a letter: the masked name, as the records keep it)."""
    if borrower is None:
        return ""
    return contact_address(channel, borrower.phone, borrower.email, mask_name(borrower.name) or borrower.id)


def expiry_note(entry: OutboxEntry) -> str:
    expires_at = entry.expires_at.isoformat() if entry.expires_at is not None else "?"
    return f"not sent by {expires_at}: valid for {entry.valid_days or '?'} day(s)"


# --- what a batch records ----------------------------------------------------------------------------


def record_status(
    writes: BatchWrites,
    entry: OutboxEntry,
    now: datetime,
    status: str,
    *,
    attempts: int | None = None,
    rules: str | None = None,
    next_allowed_at: datetime | None = None,
    last_error: str | None = None,
) -> str:
    """The row's new status (with its tries, rule ids and error); returns the status."""
    writes.statuses.append(
        StatusChange(
            entry.id,
            status,
            now,
            attempts=entry.attempts if attempts is None else attempts,
            rules=entry.rules if rules is None else rules,
            next_allowed_at=next_allowed_at,
            last_error=last_error,
        )
    )
    return status


def retry_later(d: Dispatcher, writes: BatchWrites, entry: OutboxEntry, now: datetime, reason: str) -> str:
    """A send that failed for now: `failed` with the backoff's next time, `dead` after the last try."""
    attempts = entry.attempts + 1
    if attempts >= d.settings.retry["max_attempts"]:
        return record_status(
            writes, entry, now, "dead", attempts=attempts, last_error=f"after {attempts} tries: {reason}"
        )
    return record_status(
        writes,
        entry,
        now,
        "failed",
        attempts=attempts,
        last_error=reason,
        next_allowed_at=now + d.backoff(attempts),
    )


def contact_made(outgoing: HeldMessage, at: datetime, outcome: str, provider_id: str | None) -> ContactMade:
    """The contact attempt a message is (recorded in flight, then with the provider's outcome)."""
    entry = outgoing.entry
    return ContactMade(
        loan_id=entry.loan_id,
        borrower_id=entry.borrower_id,
        channel=CHANNEL_FOR_RULES.get(entry.channel, entry.channel),
        target=outgoing.target,
        at=at,
        outcome=outcome,
        message_type=message_type(entry.template),
        outbox_id=entry.id,
        provider_id=provider_id,
    )


def delivery_of(outgoing: HeldMessage, result: SendResult, now: datetime) -> Delivery:
    """The delivery of a sent message: the provider's id and status, what was sent (masked)."""
    entry, rendered, target = outgoing.entry, outgoing.rendered, outgoing.target
    return Delivery(
        outbox_id=entry.id,
        idempotency_key=entry.idempotency_key,
        channel=entry.channel,
        provider=getattr(outgoing.channel, "name", type(outgoing.channel).__name__),
        provider_id=result.provider_id,
        status=result.status,
        sent_at=now,
        updated_at=now,
        detail={
            "template": rendered.template,
            "language": rendered.language,
            "to": mask_phone(target) if entry.channel != "email" else "",
            "segments": rendered.sms.segments if rendered.sms else None,
        },
    )


def write_audit(uow: UnitOfWork, contacts: Sequence[ContactMade], statuses: Sequence[StatusChange]) -> None:
    """Audit entries: a contact entry per attempt, a block entry per row blocked at send time."""
    if not contacts and not any(s.status == "blocked" for s in statuses):
        return
    audit_dispatch(
        uow,
        [
            {
                "loan_id": c.loan_id,
                "outbox_id": c.outbox_id,
                "channel": c.channel,
                "target": c.target,
                "at": c.at,
                "outcome": c.outcome,
                "message_type": c.message_type,
            }
            for c in contacts
        ],
        [{"b_id": s.outbox_id, "status": s.status, "updated_at": s.at, "rules": s.rules} for s in statuses],
    )


# --- the account as of the send day ------------------------------------------------------------------


def position_on(record: LoanRecord, day: date, positions: dict[date, LedgerPosition]) -> LedgerPosition:
    """The loan's ledger position on `day`, computed once per row and day (kept in `positions`)."""
    # The cancel check (as of today) and the message (as of the run day) usually ask for the same day:
    # the ledger is the costliest part of a row.
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


# Channels printed and posted (the letter channel's PDFs): their letters carry the postal address.
PRINTED_CHANNELS = frozenset({"letter", "lawyer_letter", "credit_bureau_notice"})


def message_context(
    d: Dispatcher,
    entry: OutboxEntry,
    record: LoanRecord,
    borrower: Borrower | None,
    language: str,
    now: datetime,
    positions: dict[date, LedgerPosition] | None = None,
) -> dict[str, Any]:
    """The template context of one outbox row: the account as of the day it is sent (the borrower's local
    day, never before the plan day) and the lender's contacts. Amounts, days past due and every deadline
    are counted from that day, so a message sent late quotes today's figures, not the plan day's.

    `positions` holds ledger positions already computed for this loan, by day (reused, and added to).
    """
    lender = d.settings.lender
    local_today = now.astimezone(zone((borrower.timezone if borrower else None) or DEFAULT_ZONE)).date()
    send_day = max(entry.as_of, local_today)
    position = position_on(record, send_day, {} if positions is None else positions)
    mtype = message_type(entry.template)
    upto = entry.anchor if mtype in DUE_TYPES and entry.anchor else send_day
    context: dict[str, Any] = {
        "lender_name": lender["name"],
        "hotline": lender["hotline"],
        "dispute_contact": lender["dispute_contact"],
        "complaint_contact": lender["complaint_contact"],
        "borrower_name": (borrower.name if borrower else None) or "客户",
        "amount_due": amount_due(position, upto),
        "due_date": position.oldest_unpaid_due or entry.anchor or entry.as_of,
        "days_past_due": position.dpd,
        "late_fee_daily_rate": record.loan.settings.late_fee.daily_rate,
        "pay_link": str(lender["pay_link"]).format(loan_id=record.id, token="{token}"),
        "contract_clause": d.settings.contract_clause(language),
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
    if entry.channel in PRINTED_CHANNELS:  # only the print channel sees the full postal address
        context["borrower_address"] = (borrower.address if borrower else None) or ""
        context["signing_lawyer"] = str(lender.get("signing_lawyer") or "")
        context["firm_registration"] = str(lender.get("firm_registration") or "")
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
