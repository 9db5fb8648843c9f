"""The daily collections run (DESIGN.md, "Data flow of one daily run"), as one transaction per day.

snapshot → engine (ledger, features, segment, steps) → compliance filter → outbox → run record.
Re-running a day writes nothing new: outbox rows carry an idempotency key (loan, day, step, channel) and
the run record's id is derived from the day and the policy's content hash.
"""

from __future__ import annotations

import hashlib
import time as clock
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.compliance.batch import ContactSummary, PlannedContact, decide_batch, lookback
from arrears.domain.compliance.clock import at_local_time, zone
from arrears.domain.compliance.decision import decide
from arrears.domain.compliance.facts import contact_address, debtor_for
from arrears.domain.compliance.model import Attempt
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError
from arrears.domain.masking import mask_name
from arrears.domain.policy.model import DEFAULT_VALID_DAYS, Policy
from arrears.domain.runs import PlannedAction, RunRecord, idempotency_key
from arrears.engine.contact_summary import summaries_for
from arrears.engine.evaluation import (
    ASSIGNMENT_SCHEMA,
    HISTORY_SCHEMA,
    Evaluation,
    accidental_legal_actions,
    count_by,
)
from arrears.engine.evaluators import evaluator
from arrears.engine.portfolio import Portfolio
from arrears.services import books
from arrears.services.compliance_audit import audit_run_decisions
from arrears.services.credit_lines import line_level_rows
from arrears.services.field_day import run_field_day
from arrears.services.model_scoring import with_active_models, write_scores
from arrears.services.models import active_models
from arrears.services.unit_of_work import UnitOfWork

PLANNED_LOCAL_TIME = time(10, 0)  # the run plans contacts for mid-morning in the debtor's zone
# Policy channels that are not a contact with the debtor are not judged by contact rules at plan time.
NOT_CONTACTS = frozenset({"agency", "litigation"})
# Policy channel → the compliance engine's channel.
CHANNEL_FOR_RULES = {"credit_bureau_notice": "letter", "freeze_line": "sms"}  # a freeze is told by SMS


@dataclass
class RunSummary:
    run_id: str
    as_of: date
    policy_id: str
    engine: str
    accounts: int
    planned: int
    written: int
    seconds: float
    already_run: bool
    counts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # said before the run (a missing day, stale data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "policy": self.policy_id,
            "engine": self.engine,
            "accounts": self.accounts,
            "planned": self.planned,
            "written": self.written,
            "seconds": round(self.seconds, 3),
            "already_run": self.already_run,
            "warnings": list(self.warnings),
            **self.counts,
        }


def run_id_for(as_of: date, policy: Policy) -> str:
    return hashlib.sha256(f"{as_of.isoformat()}|{policy.id}|{policy.content_hash}".encode()).hexdigest()[:32]


def days(start: date, end: date) -> Iterator[date]:
    if end < start:
        raise InputError(f"--through {end} is before --as-of {start}", field="--through")
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class PlannedStatus:
    """What the compliance filter made of one planned action, and until when it may be sent."""

    status: str
    rules: str
    next_allowed_at: datetime | None
    valid_days: int
    expires_at: datetime | None


def compliance_statuses(
    uow: UnitOfWork,
    evaluation: Evaluation,
    borrowers: pa.Table,
    profile: ComplianceProfile,
    as_of: date,
    policy: Policy,
) -> list[PlannedStatus]:
    """The compliance filter of a day's actions, in order: each planned contact judged at 10:00 local time
    with the debtor's stored facts (flags in force then) and a summary of the contact history over the
    profile's windows, computed column-wise (engine/contact_summary.py)."""
    actions = evaluation.actions.to_pylist()
    # Only the columns the filter reads: a whole row per account would cost more than the filter itself.
    wanted = evaluation.assignments.select(
        ["loan_id", "borrower_id", "disputed", "identity_dispute", "hardship"]
    )
    accounts = {r["loan_id"]: r for r in wanted.to_pylist()}
    tz_of = dict(zip(borrowers["borrower_id"].to_pylist(), borrowers["timezone"].to_pylist(), strict=True))
    steps = policy.all_steps()
    out: list[PlannedStatus | None] = [None] * len(actions)
    contacts = [i for i, a in enumerate(actions) if not a["requires"] and a["channel"] not in NOT_CONTACTS]
    who = sorted({accounts[actions[i]["loan_id"]]["borrower_id"] for i in contacts})
    flags = uow.flags.for_borrowers(who)
    addresses = uow.contacts.addresses(who)
    back = lookback(profile)
    # The earliest planned instant of the day is 10:00 in the easternmost zone (UTC+14).
    earliest = datetime.combine(as_of, PLANNED_LOCAL_TIME, UTC) - timedelta(hours=14)
    since = None if back is None else earliest - back
    history = uow.contacts.table(who, since)

    def valid_days(action: dict[str, Any]) -> int:
        step = steps.get((action["ladder"] or "", action["step_id"])) or steps.get(("", action["step_id"]))
        return step.valid_days if step is not None else DEFAULT_VALID_DAYS

    planned: list[PlannedContact] = []
    where: list[int] = []
    expiry: dict[int, tuple[int, datetime]] = {}
    local_times: dict[tuple[str, int], datetime] = {}

    def local(zone_name: str, day_offset: int, at: time) -> datetime:
        """An instant on local day D + offset in a zone (computed once per zone and day)."""
        key = (zone_name, day_offset * 10_000 + at.hour * 100 + at.minute)
        if key not in local_times:
            local_times[key] = at_local_time(as_of + timedelta(days=day_offset), at, zone(zone_name))
        return local_times[key]

    for i, action in enumerate(actions):
        account = accounts[action["loan_id"]]
        tz_name = tz_of.get(account["borrower_id"])
        zone_name = tz_name or profile.unknown_timezones[0]
        days_valid = valid_days(action)
        if action["requires"]:  # a step awaiting approval counts its validity from the approval
            out[i] = PlannedStatus("awaiting_approval", "", None, days_valid, None)
            continue
        # Sendable through local day D + valid − 1.
        expires = local(zone_name, days_valid, time(0, 0))
        if action["channel"] in NOT_CONTACTS:
            out[i] = PlannedStatus("pending", "", None, days_valid, expires)
            continue
        expiry[i] = (days_valid, expires)
        at = local(zone_name, 0, PLANNED_LOCAL_TIME)
        borrower_id = account["borrower_id"]
        name, phone, email = addresses.get(borrower_id, (None, None, None))
        channel = CHANNEL_FOR_RULES.get(action["channel"], action["channel"])
        debtor = debtor_for(
            borrower_id,
            (tz_name,) if tz_name else (),
            flags.get(borrower_id, ()),
            at,
            as_of,
            action["loan_id"],
            disputed=account["disputed"],
            identity_theft=account["identity_dispute"],
            hardship=account["hardship"],
        )
        attempt = Attempt(
            channel=channel,
            at=at,
            target=contact_address(channel, phone, email, mask_name(name) or borrower_id),
            message_type=action["template"].split("/", 1)[-1],
            debt=action["loan_id"],
        )
        planned.append(PlannedContact(action["loan_id"], debtor, attempt, ContactSummary()))
        where.append(i)
    found = summaries_for(profile, planned, history)
    judged = [replace(p, summary=s) for p, s in zip(planned, found, strict=True)]
    results = decide_batch(profile, judged)
    # A row a cap or cooldown defers has no instant from the summaries: `decide` over the history dates
    # it, or the dispatcher (which claims a deferred row once next_allowed_at has passed) never would.
    dated = sorted({p.debtor.id for p, r in zip(judged, results, strict=True) if r.needs_history})
    events = uow.contacts.events(dated, since) if dated else {}
    for i, p, result in zip(where, judged, results, strict=True):
        d = result.decision
        if result.needs_history:  # the few capped rows: the full search, as the dispatcher will make it
            d = decide(profile, p.debtor, events.get(p.debtor.id, []), p.attempt)
        status = {"allow": "pending", "defer": "deferred", "block": "blocked"}[d.decision]
        out[i] = PlannedStatus(status, ",".join(d.rules), d.next_allowed_at, *expiry[i])
    return [o for o in out if o is not None]


PART_ACCOUNTS = 200_000  # accounts per part of a streaming run: memory is bounded by this, not the portfolio


@dataclass
class PartPlan:
    """What one part of the store (a range of loans) planned: its outbox rows, in order, and what the run
    record counts of it."""

    accounts: int
    rows: list[PlannedAction]
    counts: dict[str, Any]
    scores: pa.Table | None = None
    models: dict[str, str] = field(default_factory=dict)  # target → model id, when models scored the part
    seconds: float = 0.0
    # the accounts' columns the day's own effects read after the run (DAY_COLUMNS of the assignment)
    assignments: pa.Table | None = None


# What per-day effects hooked into the run (agencies, visits ...) read of every account's assignment.
DAY_COLUMNS = (
    "loan_id",
    "borrower_id",
    "product",
    "bucket",
    "dpd",
    "outstanding_total",
    "hardship",
    "disputed",
    "identity_dispute",
    "anchor",
)


def plan_part(
    uow: UnitOfWork,
    tables: dict[str, pa.Table],
    as_of: date,
    policy: Policy,
    profile: ComplianceProfile,
    engine_name: str,
    history: pa.Table,
    run_id: str,
    started_at: datetime,
) -> PartPlan:
    """Ledger, features, scores, segments and steps of one part's accounts (`tables`, a snapshot of the
    store restricted to some loans), then the compliance filter of its planned contacts: its outbox rows.

    Accounts are independent, so a part plans exactly what the whole store's run plans for its loans."""
    started = clock.perf_counter()
    portfolio = Portfolio(dict(tables), dict(policy.products))
    models = with_active_models(uow, portfolio, as_of, engine_name)
    evaluation = evaluator(engine_name)(portfolio, policy, as_of, history)
    statuses = compliance_statuses(uow, evaluation, tables["borrowers"], profile, as_of, policy)
    assignments = evaluation.assignments
    anchors = dict(zip(assignments["loan_id"].to_pylist(), assignments["anchor"].to_pylist(), strict=True))
    borrower_of = dict(
        zip(assignments["loan_id"].to_pylist(), assignments["borrower_id"].to_pylist(), strict=True)
    )
    rows = [
        PlannedAction(
            idempotency_key=idempotency_key(action["loan_id"], as_of, action["step_id"], action["channel"]),
            run_id=run_id,
            loan_id=action["loan_id"],
            borrower_id=borrower_of[action["loan_id"]],
            as_of=as_of,
            anchor=anchors[action["loan_id"]],
            kind=action["kind"],
            step_id=action["step_id"],
            channel=action["channel"],
            template=action["template"],
            tone=action["tone"],
            requires=action["requires"],
            segment=action["segment"],
            experiment=action["experiment"],
            arm=action["arm"],
            status=planned.status,
            rules=planned.rules,
            next_allowed_at=planned.next_allowed_at,
            valid_days=planned.valid_days,
            expires_at=planned.expires_at,
            created_at=started_at,
        )
        for action, planned in zip(evaluation.actions.to_pylist(), statuses, strict=True)
    ]
    return PartPlan(
        assignments.num_rows,
        rows,
        _counts(evaluation, tables["borrowers"], [s.status for s in statuses]),
        evaluation.scores,
        {m.target: m.id for m in models},
        clock.perf_counter() - started,
        assignments.select(list(DAY_COLUMNS)),
    )


PartPlanner = Callable[
    [date, list[tuple[str | None, str | None]], pa.Table, str, datetime], Iterator[PartPlan]
]
"""Plans the parts (key ranges) of a day, in order, given the day's history, run id and start instant: in
this process (`_plan_here`) or on worker processes (services/run_workers.py)."""


def run_day(
    uow: UnitOfWork,
    as_of: date,
    policy: Policy,
    profile: ComplianceProfile,
    engine_name: str,
    planned_earlier: pa.Table | None = None,
    *,
    write: bool = True,
    part_accounts: int | None = None,
    planner: PartPlanner | None = None,
    on_part: Callable[[int, int, int], None] | None = None,
) -> tuple[RunSummary, pa.Table]:
    """Plan one day and (unless `write` is false) write its outbox rows and run record inside `uow`.

    The store is read in parts of `part_accounts` loans (the whole store in one part when None), each
    planned (`plan_part`) and its outbox rows written before the next is read, all in `uow`'s transaction:
    the day is written whole or not at all. `planner` plans the parts elsewhere (worker processes);
    `on_part(done, parts, accounts)` is called after each part.

    `planned_earlier` adds steps planned on earlier days that are not in the store (a dry run over
    several days). Returns the summary and the steps planned today, in the history layout.
    """
    started = clock.perf_counter()
    started_at = datetime.now(UTC)
    run_id = run_id_for(as_of, policy)
    history = uow.runs.steps_before(as_of)  # steps planned on earlier days, with their episode's anchor
    if planned_earlier is not None and planned_earlier.num_rows:
        history = pa.concat_tables([history, planned_earlier])
    bounds = uow.runs.part_bounds(as_of, part_accounts) if part_accounts else [(None, None)]
    if planner is None:
        planner = _plan_here(uow, policy, profile, engine_name)
    before = uow.runs.planned_on(as_of) if write else 0
    # Products whose loans under one credit line are one account for the ladder: a line's loans may lie
    # in different parts, so the day's rows are taken together (one step per line) and written at the end.
    line_level = frozenset(code for code, s in policy.products.items() if s.line_level_delinquency)
    totals = _Totals()
    for done, part in enumerate(planner(as_of, bounds, history, run_id, started_at), start=1):
        totals.add(part)
        if write and not line_level:
            uow.runs.add_planned(part.rows)
        if on_part is not None:
            on_part(done, len(bounds), part.accounts)
    if line_level:
        totals.keep(line_level_rows(uow, totals.rows, totals.assignments(), history, line_level))
        if write:
            uow.runs.add_planned(totals.rows)
    rows = totals.rows
    planned_today = pa.Table.from_pylist(
        [{"loan_id": r.loan_id, "step_id": r.step_id, "anchor": r.anchor} for r in rows if r.anchor],
        schema=HISTORY_SCHEMA,
    )
    counts = totals.counts()
    summary = RunSummary(
        run_id, as_of, policy.id, engine_name, totals.accounts, len(rows), 0, 0.0, False, counts
    )
    if write:
        # charge-offs, delinquency history and its events, credit lines (services/books.py); first, so the
        # run record and its audit count a freeze step with no line to freeze as the cancelled row it is
        books_day = books.record_day(uow, as_of, totals.assignments(), rows)
        if books_day.cancelled:
            rows = [
                replace(r, status="cancelled") if r.idempotency_key in books_day.cancelled else r
                for r in rows
            ]
            summary.counts["statuses"] = dict(Counter(r.status for r in rows))
        summary.counts["books"] = books_day.counts()
        summary.written, summary.already_run = _write(uow, before, summary, policy, started, started_at)
        if totals.scores:  # written once for the day: a re-run of the day replaces them
            models = [m for m in active_models(uow) if m.id in totals.models.values()]
            write_scores(uow, as_of, models, pa.concat_tables(totals.scores))
        if not summary.already_run:  # a day's decisions are audited once, with its run record
            audit_run_decisions(uow, run_id, as_of, profile.name, rows)
        field = run_field_day(uow, as_of, profile, rows, totals.assignments())  # agencies, visits
        if field:
            summary.counts["field"] = {k: len(v) for k, v in field.items()}
    summary.seconds = clock.perf_counter() - started
    return summary, planned_today


def _plan_here(uow: UnitOfWork, policy: Policy, profile: ComplianceProfile, engine_name: str) -> PartPlanner:
    """Plan the parts one after the other in this process, reading them through `uow`."""

    def plan(
        as_of: date,
        bounds: list[tuple[str | None, str | None]],
        history: pa.Table,
        run_id: str,
        started_at: datetime,
    ) -> Iterator[PartPlan]:
        for key_range in bounds:
            tables = uow.runs.snapshot_part(as_of, key_range)
            mine = part_history(history, tables["loans"]["loan_id"]) if len(bounds) > 1 else history
            yield plan_part(uow, tables, as_of, policy, profile, engine_name, mine, run_id, started_at)

    return plan


def part_history(history: pa.Table, loan_ids: pa.ChunkedArray) -> pa.Table:
    """The rows of `history` of the given loans."""
    return history.filter(pc.is_in(history["loan_id"], value_set=loan_ids.combine_chunks()))


class _Totals:
    """The parts' results added up: the run record's counts, the outbox rows (for the audit) and scores."""

    def __init__(self) -> None:
        self.accounts = 0
        self.rows: list[PlannedAction] = []
        self.scores: list[pa.Table] = []
        self.models: dict[str, str] = {}
        self._sums: dict[str, Counter[str]] = {}
        self._assignments: list[pa.Table] = []

    def add(self, part: PartPlan) -> None:
        self.accounts += part.accounts
        self.rows.extend(part.rows)
        if part.scores is not None and part.scores.num_rows:
            self.scores.append(part.scores)
        self.models.update(part.models)
        if part.assignments is not None:
            self._assignments.append(part.assignments)
        for name, values in part.counts.items():
            self._sums.setdefault(name, Counter()).update(values)

    def keep(self, rows: list[PlannedAction]) -> None:
        """Keep only `rows` of the day's outbox rows (a line's loans taken together): the counts of steps,
        channels and statuses follow; the accidental late payers' count stays the engine's, per loan."""
        self.rows = rows
        self._sums["steps"] = Counter(r.step_id for r in rows)
        self._sums["channels"] = Counter(r.channel for r in rows)
        self._sums["statuses"] = Counter(r.status for r in rows)

    def assignments(self) -> pa.Table:
        """Every account's DAY_COLUMNS, in loan order within each part."""
        if not self._assignments:
            return pa.schema([ASSIGNMENT_SCHEMA.field(c) for c in DAY_COLUMNS]).empty_table()
        return pa.concat_tables(self._assignments, promote_options="permissive")

    def counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = {name: dict(self._sums.get(name, Counter())) for name in _COUNTED}
        counts["arms"] = {k: v for k, v in counts["arms"].items() if k}
        counts["accidental_late_payers"] = {
            "lawyer_letter": counts["accidental_late_payers"].get("lawyer_letter", 0),
            "legal_tone": counts["accidental_late_payers"].get("legal_tone", 0),
        }
        if self.models:
            counts["models"] = dict(self.models)
        return counts


_COUNTED = ("segments", "buckets", "arms", "steps", "channels", "statuses", "accidental_late_payers")


def _write(
    uow: UnitOfWork,
    before: int,
    summary: RunSummary,
    policy: Policy,
    started: float,
    started_at: datetime,
) -> tuple[int, bool]:
    """Once per day and policy, the run record (the outbox rows are written already, idempotently: there
    were `before` rows of the day before the run).

    Returns how many outbox rows were new and whether the day had already been run."""
    written = uow.runs.planned_on(summary.as_of) - before
    already = uow.runs.exists(summary.run_id)
    if not already:
        uow.runs.add(
            RunRecord(
                id=summary.run_id,
                as_of=summary.as_of,
                policy_id=policy.id,
                policy_hash=policy.content_hash,
                engine=summary.engine,
                started_at=started_at,
                seconds=clock.perf_counter() - started,
                accounts=summary.accounts,
                planned=summary.planned,
                written=written,
                counts=summary.counts,
            )
        )
    return written, already


def _counts(evaluation: Evaluation, borrowers: pa.Table, statuses: list[str]) -> dict[str, Any]:
    """What the run record keeps: accounts per segment / bucket / arm, actions per step / channel / status,
    and how many accidental late payers were planned a legal action (the seeds' question)."""
    assignments, actions = evaluation.assignments, evaluation.actions
    return {
        "segments": count_by(assignments, "segment"),
        "buckets": count_by(assignments, "bucket"),
        "arms": {k: v for k, v in count_by(assignments, "arm").items() if k},
        "steps": count_by(actions, "step_id"),
        "channels": count_by(actions, "channel"),
        "statuses": dict(Counter(statuses)),
        "accidental_late_payers": accidental_legal_actions(evaluation, borrowers),
    }


def run_range(
    url: str | None,
    start: date,
    end: date,
    policy: Policy,
    profile: ComplianceProfile,
    engine_name: str = "duckdb",
    on_day: Callable[[RunSummary], None] | None = None,
    *,
    dry_run: bool = False,
    part_accounts: int | None = None,
    planner: PartPlanner | None = None,
    on_part: Callable[[date, int, int, int], None] | None = None,
) -> list[RunSummary]:
    """Run every day from `start` to `end` in order, each in its own transaction, reading the store in
    parts of `part_accounts` loans (the whole store at once when None), planned by `planner` (worker
    processes, services/run_workers.py) or here. `on_part(day, done, parts, accounts)` follows the parts.

    A dry run plans the same days but writes nothing: what was planned on one day counts as sent for the
    next, exactly as if it had been written.
    """
    summaries = []
    planned = HISTORY_SCHEMA.empty_table()
    for day in days(start, end):
        with UnitOfWork(url) as uow:
            summary, today = run_day(
                uow,
                day,
                policy,
                profile,
                engine_name,
                planned,
                write=not dry_run,
                part_accounts=part_accounts,
                planner=planner,
                on_part=None if on_part is None else partial(on_part, day),
            )
            if dry_run:
                uow.rollback()
                planned = pa.concat_tables([planned, today])
            else:
                uow.commit()
        summaries.append(summary)
        if on_day is not None:
            on_day(summary)
    return summaries


def run_warnings(url: str | None, start: date, end: date) -> list[str]:
    """What a run of `start`..`end` should be told before it starts: the day before `start` was not run
    although earlier days were (the missing days, and the --through that catches them up in order), and
    data older than the run (the last import started before the last day run)."""
    with UnitOfWork(url) as uow:
        last_run = uow.runs.last_run_before(start)
        last_import = uow.runs.last_import_day()
    found = []
    previous = start - timedelta(days=1)
    if last_run is not None and last_run < previous:
        first_missing = last_run + timedelta(days=1)
        missing = (previous - last_run).days
        found.append(
            f"the previous day {previous} was not run (last run: {last_run}; {missing} day(s) missing): "
            f"arrears run --as-of {first_missing} --through {end} runs each missing day in order"
        )
    if last_import is not None and last_import < end:
        found.append(
            f"stale data: the last import was on {last_import}, before the run day {end}; "
            "payments and events since then are not in the store"
        )
    return found
