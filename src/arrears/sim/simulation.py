"""`arrears sim run`: a policy played day by day against synthetic borrowers, through production services.

One simulated day D:
1. the daily run (services.daily_run.run_day) plans and writes the outbox, as in production;
2. a simulated legal reviewer approves the rows awaiting legal review (services.receipts.approve);
3. dispatch (services.dispatch.dispatch) claims, re-checks compliance, renders and sends through in-process
   channel fakes (a robocall is answered or not by a seeded draw); agent calls go to the real agent queue,
   where a simulated agent desk makes the call and records the attempt;
4. the behaviour model (sim/behaviour.py) reads what each account owes and what it received today from the
   store, and its reactions go through the real services: payments.record_payment, promises.make_promise,
   disputes.open_dispute (disputes and complaints); promises due are settled (kept / broken).
The KPIs are then computed from the store (services/kpi.py), never from this module's variables.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time as clock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select, update

from arrears.adapters.channels import OutgoingMessage, SendResult
from arrears.adapters.channels.agent_tasks import AgentTaskChannel
from arrears.adapters.channels.config import DEFAULT_LENDER, ChannelsConfig
from arrears.adapters.store.casework_models import PromiseRow
from arrears.adapters.store.dispatch_models import AgentTaskRow, ContactAttemptRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.bootstrap import make_dispatcher
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.policy.model import Policy
from arrears.engine.portfolio import Portfolio as EnginePortfolio
from arrears.engine.vector_ledger import compute_ledger
from arrears.services.cases import CaseworkConfig
from arrears.services.daily_run import run_day
from arrears.services.dispatch import dispatch
from arrears.services.disputes import open_dispute
from arrears.services.kpi import CostTable
from arrears.services.kpi_report import all_kpis
from arrears.services.payments import record_payment
from arrears.services.promises import make_promise, settle_promises
from arrears.services.receipts import approve
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.behaviour import (
    PRE_DUE_TYPES,
    AccountDay,
    BehaviourModel,
    BehaviourParams,
    Contact,
    Reaction,
    load_behaviour,
    right_party,
)
from arrears.sim.portfolio import generate_portfolio, load_portfolio

DEFAULT_START = date(2026, 3, 2)  # a fixed first day: the same seed gives the same numbers on any day
SEND_AT = time(10, 0)  # dispatch runs mid-morning Beijing time
BEIJING = ZoneInfo("Asia/Shanghai")
ACTOR = "sim"
RIGHT_PARTY_OUTCOMES = frozenset({"connected", "conversation"})
ENGINE = "duckdb"

# The simulated lender signs its lawyer's letters (the dispatcher stops unsigned ones: docs/letters.md).
SIMULATED_LENDER = ChannelsConfig(
    lender={**DEFAULT_LENDER, "signing_lawyer": "模拟律师", "firm_registration": "SIM-00000000000000"}
)


def _uniform(seed: int, key: str) -> float:
    """A uniform in [0, 1) fixed by the seed and a key (a provider's answer to one message)."""
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class SimulatedChannel:
    """An in-process provider for one channel: it accepts every message and answers as a real one would
    (delivered; a robocall answered, unanswered or to voicemail by a seeded draw).

    Whether a borrower picks up is the borrower's luck, not the policy's: the draw is keyed by the seed, the
    borrower, the day and the how-manieth call of the day, never by the policy's step, so two policies that
    call the same borrower on the same day meet the same answer (common random numbers)."""

    def __init__(self, channel: str, seed: int, params: BehaviourParams) -> None:
        self.channel = channel
        self.name = f"sim-{channel}"
        self.seed = seed
        self.params = params
        self.sent = 0
        self.day: date | None = None
        self.calls: dict[str, int] = defaultdict(int)  # calls per borrower on `day`

    def start_day(self, day: date) -> None:
        self.day = day
        self.calls.clear()

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        self.sent += 1
        status = "delivered"
        if self.channel == "robocall":
            u = _uniform(self.seed, self.luck_key(message, idempotency_key))
            status = "answered" if right_party("robocall", u, self.params) else "no_answer"
        elif self.channel in ("letter", "lawyer_letter", "credit_bureau_notice"):
            status = "accepted"
        return SendResult(f"sim-{idempotency_key}", status)

    def luck_key(self, message: OutgoingMessage, idempotency_key: str) -> str:
        """The key of the borrower's draw for this call (the message's own key when it names no borrower)."""
        who = message.borrower_id or message.loan_id
        if not who or self.day is None:
            return idempotency_key
        n = self.calls[who]
        self.calls[who] += 1
        return f"{self.channel}|{who}|{self.day.isoformat()}|{n}"


def simulated_channels(seed: int, params: BehaviourParams) -> dict[str, Any]:
    """Fakes for the outside providers; the agent queue is the real, in-process one."""
    channels: dict[str, Any] = {
        name: SimulatedChannel(name, seed, params)
        for name in ("sms", "email", "push", "in_app", "robocall", "letter", "lawyer_letter")
    }
    channels["credit_bureau_notice"] = SimulatedChannel("credit_bureau_notice", seed, params)
    channels["freeze_line"] = channels["sms"]  # a line's freeze is told by SMS (docs/books.md)
    agents = AgentTaskChannel()
    for name in ("agent_call", "agency", "litigation"):
        channels[name] = agents
    return channels


@dataclass
class DayRecord:
    """What happened on one simulated day (for progress and the run's log; KPIs come from the store)."""

    day: date
    planned: int
    sent: int
    payments: int
    paid: int
    promises: int
    disputes: int
    complaints: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "planned": self.planned,
            "sent": self.sent,
            "payments": self.payments,
            "paid": self.paid,
            "promises": self.promises,
            "disputes": self.disputes,
            "complaints": self.complaints,
        }


@dataclass
class SimulationResult:
    policy: str
    seed: int
    borrowers: int
    start: date
    end: date
    url: str
    seconds: float
    population: str = ""  # digest of the generated portfolio (Portfolio.digest): paired runs share it
    days: list[DayRecord] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "seed": self.seed,
            "borrowers": self.borrowers,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "db": self.url,
            "seconds": round(self.seconds, 2),
            "population": self.population,
            "kpis": self.kpis,
            "days": [d.to_dict() for d in self.days],
        }


def fresh_store_url() -> str:
    """A new SQLite file in a temporary directory (kept, so the store can be inspected afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="arrears-sim-"))
    return f"sqlite:///{folder / 'sim.db'}"


def simulate(
    policy: Policy,
    profile: ComplianceProfile,
    *,
    days: int,
    seed: int,
    borrowers: int,
    url: str | None = None,
    start: date = DEFAULT_START,
    params: BehaviourParams | None = None,
    costs: CostTable | None = None,
    on_day: Callable[[DayRecord], None] | None = None,
) -> SimulationResult:
    """Generate a portfolio into a fresh store and play `days` days of `policy` against it."""
    started = clock.perf_counter()
    params = params or load_behaviour()
    url = url or fresh_store_url()
    portfolio = generate_portfolio(borrowers, seed, start - timedelta(days=1))
    load_portfolio(portfolio, url)
    loan_ids = sorted(set(portfolio.loans.column("loan_id").to_pylist()))
    model = BehaviourModel(params, seed, {loan: i for i, loan in enumerate(loan_ids)})
    casework = CaseworkConfig()
    dispatcher_rng = random.Random(seed)
    channels = simulated_channels(seed, params)
    end = start + timedelta(days=days - 1)
    result = SimulationResult(policy.id, seed, borrowers, start, end, url, 0.0, portfolio.digest())
    day = start
    while day <= end:
        record = simulate_day(url, day, policy, profile, model, casework, channels, dispatcher_rng)
        result.days.append(record)
        if on_day is not None:
            on_day(record)
        day += timedelta(days=1)
    with UnitOfWork(url) as uow:
        result.kpis = all_kpis(uow, start, end, costs, products=dict(policy.products))
    result.seconds = clock.perf_counter() - started
    return result


def simulate_day(
    url: str,
    day: date,
    policy: Policy,
    profile: ComplianceProfile,
    model: BehaviourModel,
    casework: CaseworkConfig,
    channels: dict[str, Any],
    rng: random.Random,
) -> DayRecord:
    """One day: run, legal review, dispatch, agent desk, borrowers' reactions."""
    send_at = datetime.combine(day, SEND_AT, BEIJING).astimezone(UTC)
    with UnitOfWork(url) as uow:
        summary, _ = run_day(uow, day, policy, profile, ENGINE)
        _legal_review(uow, day, send_at)
        uow.commit()
    for channel in channels.values():
        if isinstance(channel, SimulatedChannel):
            channel.start_day(day)
    dispatcher = make_dispatcher(url, channels, SIMULATED_LENDER, profile, now=lambda: send_at, rng=rng)
    sent = dispatch(dispatcher).outcomes.get("sent", 0)
    with UnitOfWork(url) as uow:
        _agent_desk(uow, model, day, send_at)
        accounts = accounts_of_the_day(uow, day, policy, model.params)
        reactions = model.react(day, accounts)
        record = _apply(uow, day, reactions, casework)
        settle_promises(uow, day, casework.promise_tolerance)
        uow.commit()
    record.planned = summary.planned
    record.sent = sent
    return record


def _legal_review(uow: UnitOfWork, day: date, at: datetime) -> None:
    """The lender's legal team reviews every lawyer's letter the run planned today and approves it (the
    seeds' lender sent them; a policy that should not send them must not plan them)."""
    waiting = uow.connection.scalars(
        select(OutboxRow.id)
        .where(OutboxRow.as_of == day, OutboxRow.status == "awaiting_approval")
        .order_by(OutboxRow.id)
    ).all()
    for outbox_id in waiting:
        approve(uow, outbox_id, "sim-legal", f"SIM-{day.isoformat()}-{outbox_id}", "示例律师事务所", at)


def _agent_desk(uow: UnitOfWork, model: BehaviourModel, day: date, at: datetime) -> None:
    """Simulated agents call every open agent_call task at once; a connected call is a right-party contact.
    Whether the borrower answers is drawn per borrower, day and call of the day (not per task: task ids
    depend on what the policy planned before)."""
    c = uow.connection
    tasks = c.execute(
        select(AgentTaskRow.id, AgentTaskRow.loan_id, AgentTaskRow.borrower_id, AgentTaskRow.outbox_id)
        .where(AgentTaskRow.status == "open", AgentTaskRow.reason == "agent_call")
        .order_by(AgentTaskRow.id)
    ).all()
    attempts = []
    calls: dict[str, int] = defaultdict(int)
    for task_id, loan_id, borrower_id, outbox_id in tasks:
        u = _uniform(model.seed, f"agent_call|{borrower_id}|{day.isoformat()}|{calls[borrower_id]}")
        calls[borrower_id] += 1
        outcome = "connected" if right_party("agent_call", u, model.params) else "no_answer"
        attempts.append(
            {
                "loan_id": loan_id,
                "borrower_id": borrower_id,
                "channel": "agent_call",
                "target": "",
                "at": at,
                "outcome": outcome,
                "message_type": "call_script",
                "outbox_id": outbox_id,
                "provider_id": f"agent-task-{task_id}",
            }
        )
    if attempts:
        c.execute(ContactAttemptRow.__table__.insert(), attempts)
        c.execute(
            update(AgentTaskRow).where(AgentTaskRow.id.in_([t[0] for t in tasks])).values(status="done")
        )


def accounts_of_the_day(
    uow: UnitOfWork, day: date, policy: Policy, params: BehaviourParams
) -> list[AccountDay]:
    """Every account owing something today (due today or overdue), with today's contacts, from the store."""
    tables = uow.snapshot(day)
    ledger = compute_ledger(EnginePortfolio(dict(tables), dict(policy.products)), day)
    loans = tables["loans"]
    borrower_of = loans["borrower_id"].to_pylist()
    persona = dict(
        zip(
            tables["borrowers"]["borrower_id"].to_pylist(),
            tables["borrowers"]["persona"].to_pylist(),
            strict=True,
        )
    )
    today = (day - date(1970, 1, 1)).days
    due_today = np.zeros(ledger.accounts, dtype=np.int64)
    rows = ledger.inst_due == today
    np.add.at(due_today, ledger.inst_account[rows], ledger.inst_outstanding[rows].sum(axis=1))
    overdue = ledger.overdue.sum(axis=1)
    owing = np.flatnonzero((overdue > 0) | (due_today > 0))

    contacts, week, pre_due = _contacts(uow, day)
    pending = set(
        uow.connection.scalars(select(PromiseRow.loan_id).where(PromiseRow.status == "pending")).all()
    )
    loan_ids = ledger.loan_id.to_pylist()
    out = []
    for i in owing:
        loan_id = loan_ids[i]
        borrower_id = borrower_of[i]
        out.append(
            AccountDay(
                loan_id=loan_id,
                borrower_id=borrower_id,
                persona=persona.get(borrower_id) or "good",
                dpd=int(ledger.dpd[i]),
                overdue=int(overdue[i]),
                due_today=int(due_today[i]) if ledger.dpd[i] == 0 else 0,
                contacts=tuple(contacts.get(loan_id, ())),
                contacts_7d=week.get(borrower_id, 0),
                pre_due_recent=loan_id in pre_due,
                promise_pending=loan_id in pending,
            )
        )
    return out


def _contacts(uow: UnitOfWork, day: date) -> tuple[dict[str, list[Contact]], dict[str, int], set[str]]:
    """Today's contacts per loan (with the tone of the outbox row), 7-day counts per borrower, and the loans
    that had a pre-due reminder in the last 3 days."""
    end = datetime.combine(day + timedelta(days=1), time(0), BEIJING).astimezone(UTC)
    start_today = end - timedelta(days=1)
    start_week = end - timedelta(days=7)
    start_pre = end - timedelta(days=3)
    rows = uow.connection.execute(
        select(
            ContactAttemptRow.loan_id,
            ContactAttemptRow.borrower_id,
            ContactAttemptRow.at,
            ContactAttemptRow.outcome,
            ContactAttemptRow.message_type,
            OutboxRow.channel,
            OutboxRow.tone,
        )
        .join(OutboxRow, OutboxRow.id == ContactAttemptRow.outbox_id, isouter=True)
        .where(ContactAttemptRow.at >= start_week, ContactAttemptRow.at < end)
        .order_by(ContactAttemptRow.id)
    ).all()
    today: dict[str, list[Contact]] = defaultdict(list)
    week: dict[str, int] = defaultdict(int)
    pre_due: set[str] = set()
    for loan_id, borrower_id, at, outcome, mtype, channel, tone in rows:
        week[borrower_id] += 1
        if at >= start_pre and mtype in PRE_DUE_TYPES:
            pre_due.add(loan_id)
        if at >= start_today:
            today[loan_id].append(
                Contact(channel or "sms", tone or "regular", mtype or "", outcome in RIGHT_PARTY_OUTCOMES)
            )
    return today, week, pre_due


def _apply(uow: UnitOfWork, day: date, reactions: list[Reaction], casework: CaseworkConfig) -> DayRecord:
    """Record the reactions through the production services, in one unit of work."""
    record = DayRecord(day, 0, 0, 0, 0, 0, 0, 0)
    for n, r in enumerate(reactions):
        if r.kind == "pay":
            record_payment(
                uow,
                r.loan_id,
                f"SIM-{day.isoformat()}-{r.loan_id}-{n}",
                day,
                r.amount,
                casework,
                actor=ACTOR,
                source="app",
            )
            record.payments += 1
            record.paid += r.amount
        elif r.kind == "promise":
            assert r.due_on is not None
            make_promise(uow, r.loan_id, r.amount, r.due_on, day, ACTOR)
            record.promises += 1
        elif r.kind == "dispute":
            open_dispute(
                uow, r.loan_id, "dispute", r.category, "simulated borrower disputes the debt", day,
                casework.sla, ACTOR,
            )  # fmt: skip
            record.disputes += 1
        elif r.kind == "complaint":
            open_dispute(
                uow, r.loan_id, "complaint", r.category, "simulated complaint about collection contact",
                day, casework.sla, ACTOR, channel=r.channel,
            )  # fmt: skip
            record.complaints += 1
    return record
