"""Cases: one per delinquent borrower, kept current as the ledger moves; agent queues, assignment, notes.

Also holds the case-work configuration (recovery model, promise tolerance, plan rules, SLA, secrets); it is
read from a YAML file or the environment by arrears.adapters.casework_file. The defaults' secrets are
placeholders: `arrears serve` and `arrears dispatch` refuse them (entrypoints/startup_checks.py) unless --dev.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from arrears.domain.borrower_accounts import BorrowerAccounts, case_standing
from arrears.domain.cases import (
    CLOSING_OUTCOMES,
    PROPENSITY_TARGET,
    RecoveryModel,
    Skills,
    agent_queue,
    check_outcome,
    expected_recovery_by_propensity,
)
from arrears.domain.casework_records import CaseStanding
from arrears.domain.disputes import SlaPolicy
from arrears.domain.errors import NotFound
from arrears.domain.ledger import compute_position
from arrears.domain.plans import PlanRules
from arrears.domain.promises import Tolerance
from arrears.services import audit
from arrears.services.case_refresh_port import CaseFacts
from arrears.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CaseworkConfig:
    recovery: RecoveryModel = field(default_factory=RecoveryModel)
    promise_tolerance: Tolerance = field(default_factory=Tolerance)
    plans: PlanRules = field(default_factory=PlanRules)
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    bureau_notice_days: int = 10
    token_secret: str = "change-me-token-secret"
    webhook_secret: str = "change-me-webhook-secret"
    # Signs the messaging providers' callbacks (delivery receipts, SMS replies, IVR outcomes).
    provider_secret: str = "change-me-provider-secret"
    data_dir: Path = Path("data")


# A slots dataclass's class attributes are member descriptors, not the defaults: read them off an instance.
DEFAULTS = CaseworkConfig()


def loans_of(uow: UnitOfWork, borrower_id: str) -> list[str]:
    """The ids of the borrower's loans, sorted."""
    return uow.loans.of_borrowers([borrower_id]).get(borrower_id, [])


def refresh_case(
    uow: UnitOfWork, borrower_id: str, as_of: date, model: RecoveryModel
) -> dict[str, Any] | None:
    """Open, update or close the borrower's case from their loans as of a date; the case, or None."""
    return keep_case(uow, uow.loans.accounts(as_of, borrower_id=borrower_id), model)


def keep_case(uow: UnitOfWork, accounts: BorrowerAccounts, model: RecoveryModel) -> dict[str, Any] | None:
    """Open, update or close the case of the borrower whose accounts these are, as of their date; the case
    (as case_view shows it), or None when the borrower has none and needs none."""
    standing = case_standing(
        (compute_position(r.loan, accounts.as_of) for r in accounts.loans),
        model,
        promise_pending=bool(accounts.pending_promises),
        broken_promises=accounts.broken_promises,
    )
    if standing is not None:
        scored = _pay_propensity(uow, accounts)
        if scored is not None:
            standing = replace(standing, expected_recovery=expected_recovery_by_propensity(scored))
    case = accounts.case
    if standing is None:
        if case is not None and case.status == "open":
            case = uow.cases.close(case.id)
    elif case is None:
        case = uow.cases.open(accounts.borrower_id, accounts.language, standing)
    else:
        case = uow.cases.update_standing(case.id, standing)
    return {**asdict(case), "loan_ids": accounts.loan_ids} if case is not None else None


def _pay_propensity(uow: UnitOfWork, accounts: BorrowerAccounts) -> list[tuple[int, int]] | None:
    """(outstanding, pay-propensity score) of each late loan, when the daily run scored them all (on or
    before the accounts' date); None otherwise, and the bucket table decides."""
    if not uow.models.has_active(PROPENSITY_TARGET):
        return None
    out = []
    for record in accounts.loans:
        position = compute_position(record.loan, accounts.as_of)
        if position.dpd <= 0:
            continue
        score = next(
            (
                s
                for s in uow.models.scores_of(record.loan.id, accounts.as_of)
                if s.target == PROPENSITY_TARGET
            ),
            None,
        )
        if score is None:
            return None
        out.append((position.outstanding.total, score.score_bp))
    return out or None


def refresh_cases(uow: UnitOfWork, as_of: date, model: RecoveryModel, *, commit_every: int = 0) -> int:
    """Refresh the case of every borrower with a loan; how many cases are open afterwards.

    Set-based: every loan's position from the vectorised ledger over the store's snapshot, the borrowers'
    promise counts and cases in a few grouped statements, the standings (arrears.domain.borrower_accounts'
    rule) for the late borrowers, and the opens, updates and closes each written in one statement. A case
    whose standing did not change is left as it is. When a pay-propensity model is active, expected recovery
    comes from its scores, read per borrower: the per-borrower refresh (`commit_every` N commits after each N
    borrowers there)."""
    if uow.models.has_active(PROPENSITY_TARGET):
        return refresh_cases_one_by_one(uow, as_of, model, commit_every=commit_every)
    facts = uow.case_refresh.facts(as_of)
    found = standings(uow, as_of, model, facts)
    opened, updated, closed = [], [], []
    for borrower_id, fact in facts.items():
        standing = found.get(borrower_id)
        if standing is None:
            if fact.case_id is not None and fact.case_status == "open":
                closed.append(fact.case_id)
        elif fact.case_id is None:
            opened.append((borrower_id, fact.language, standing))
        elif fact.case_status != "open" or fact.standing != standing:
            updated.append((fact.case_id, standing))
    uow.case_refresh.write(opened, updated, closed)
    return uow.cases.open_count()


def standings(
    uow: UnitOfWork, as_of: date, model: RecoveryModel, facts: Mapping[str, CaseFacts]
) -> dict[str, CaseStanding]:
    """The standing of every borrower with a late loan as of the day (case_standing's rule: the worst late
    loan's bucket and DPD, the late loans' outstanding, the model's expected recovery)."""
    # here, not at the top: a payment's own case refresh (refresh_case) needs none of the vectorised engine
    import numpy as np
    import pyarrow.compute as pc

    from arrears.engine.portfolio import Portfolio
    from arrears.engine.vector_ledger import compute_ledger

    tables = uow.snapshot(as_of, ("loans", "instalments", "payments", "pauses", "waivers"))
    products = {code: uow.products.settings(code) for code in uow.products.codes()}
    ledger = compute_ledger(Portfolio(dict(tables), products), as_of)
    loans = tables["loans"]
    borrower = pc.take(loans["borrower_id"], pc.index_in(ledger.loan_id, loans["loan_id"]))
    late = ledger.dpd > 0
    if not late.any():
        return {}
    owners = np.asarray(borrower.to_numpy(zero_copy_only=False), dtype=object)[late]
    dpd = ledger.dpd[late]
    bucket = ledger.bucket[late]
    balance = ledger.outstanding.sum(axis=1)[late]
    # per borrower: the loan with the most days past due (the first of equals, as max() takes it), the sum
    _, group = np.unique(owners, return_inverse=True)
    order = np.lexsort((np.arange(len(dpd)), -dpd, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    worst = order[first]
    totals = np.zeros(group.max() + 1, dtype=np.int64)
    np.add.at(totals, group, balance)
    out = {}
    for i in worst:
        who = owners[i]
        fact = facts.get(who)
        total = int(totals[group[i]])
        out[who] = CaseStanding(
            bucket=str(bucket[i]),
            dpd=int(dpd[i]),
            balance=total,
            expected_recovery=model.expected_recovery(
                total,
                str(bucket[i]),
                promise_pending=bool(fact and fact.pending_promises),
                broken_promises=fact.broken_promises if fact else 0,
            ),
        )
    return out


def refresh_cases_one_by_one(
    uow: UnitOfWork, as_of: date, model: RecoveryModel, *, commit_every: int = 0
) -> int:
    """The refresh a borrower at a time (refresh_case for each); how many cases are open afterwards.

    With `commit_every` N, the work is committed after each N borrowers, so no transaction holds the rows
    it changed for longer than that (each borrower's refresh stands alone; an interrupted run is finished
    by the next one)."""
    for done, borrower_id in enumerate(uow.cases.borrowers_with_loans(), start=1):
        refresh_case(uow, borrower_id, as_of, model)
        if commit_every and done % commit_every == 0:
            uow.commit()
    return uow.cases.open_count()


def case_view(uow: UnitOfWork, case_id: int) -> dict[str, Any]:
    """One case as the API shows it (amounts in minor units are formatted by the caller)."""
    case = uow.cases.get(case_id)
    if case is None:
        raise NotFound(f"unknown case {case_id}")
    out = asdict(case)
    out["loan_ids"] = loans_of(uow, case.borrower_id)
    return out


def queue(
    uow: UnitOfWork, agent: str, skills: Skills, today: date, limit: int = 50, *, offset: int = 0
) -> list[dict[str, Any]]:
    """The agent's work queue, best expected recovery first (see domain.cases.agent_queue); `limit`
    cases from the `offset`-th."""
    entries = agent_queue(uow.cases.queue_entries(), agent, skills, today)
    return [case_view(uow, e.case_id) for e in entries[offset : offset + limit]]


def assign(uow: UnitOfWork, case_id: int, agent: str | None, actor: str) -> dict[str, Any]:
    """Assign (or, with None, release) a case; recorded in the audit log."""
    before = case_view(uow, case_id)
    uow.cases.assign(case_id, agent)
    audit.append(uow, actor, "case.assign", f"case:{case_id}", {"from": before["assigned_to"], "to": agent})
    return case_view(uow, case_id)


def add_note(
    uow: UnitOfWork,
    case_id: int,
    author: str,
    note: str,
    *,
    outcome: str | None = None,
    channel: str | None = None,
    next_action_on: date | None = None,
) -> dict[str, Any]:
    """Record a contact outcome and note on a case; sets the next-action date."""
    case_view(uow, case_id)
    if outcome is not None:
        check_outcome(outcome)
    uow.cases.add_note(case_id, author, note, channel=channel, outcome=outcome, next_action_on=next_action_on)
    uow.cases.follow_up(case_id, next_action_on, outcome=outcome, close=outcome in CLOSING_OUTCOMES)
    return case_view(uow, case_id)


def notes(uow: UnitOfWork, case_id: int) -> list[dict[str, Any]]:
    """The case's notes, oldest first."""
    return [asdict(n) for n in uow.cases.notes(case_id)]
