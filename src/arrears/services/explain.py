"""Why a stored account gets the treatment it gets on a day: `arrears policy explain --account --as-of`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from arrears.domain.account_features import AccountEvent, account_features
from arrears.domain.ledger import compute_position
from arrears.domain.policy.model import Policy
from arrears.domain.policy.treatment import Treatment, decide
from arrears.services.models import model_scores
from arrears.services.unit_of_work import UnitOfWork


def account_scores(uow: UnitOfWork, policy: Policy, loan_id: str, as_of: date) -> list[dict[str, Any]]:
    """The active models' scores of a stored account on a day, each with its top reason codes."""
    features = _features(uow, policy, loan_id, as_of)[0]
    return model_scores(uow, features, loan_id, as_of)[1]


def account_treatment(uow: UnitOfWork, policy: Policy, loan_id: str, as_of: date) -> Treatment:
    """The reference engine's decision for one stored account, with the history the daily run would use
    and the active models' scores (`score.<target>`)."""
    features, sent = _features(uow, policy, loan_id, as_of)
    values, _ = model_scores(uow, features, loan_id, as_of)
    features.update(values)
    return decide(policy, loan_id, features, sent)


def _features(uow: UnitOfWork, policy: Policy, loan_id: str, as_of: date) -> tuple[dict[str, Any], set[str]]:
    """The account's features on the day and the steps already planned in its delinquency episode."""
    record = uow.loans.record(loan_id)
    loan = record.loan
    if record.product_code in policy.products:  # the policy's ledger settings win over the catalogue's
        loan = replace(loan, settings=policy.products[record.product_code])
    # What the store knew at the end of as_of, as the daily run's snapshot sees it.
    loan = replace(
        loan,
        payments=tuple(p for p in loan.payments if p.on <= as_of),
        pauses=tuple(p for p in loan.pauses if p.start <= as_of),
        waivers=tuple(w for w in loan.waivers if w.on <= as_of),
    )
    events = [
        AccountEvent(e.kind, e.on, str(e.detail.get("outcome")) if e.detail.get("outcome") else None)
        for e in uow.events.for_loan(loan_id)
        if e.on <= as_of
    ]
    position = compute_position(loan, as_of)
    features: dict[str, Any] = dict(account_features(loan, position, events, record.product_code))
    sent: set[str] = set()
    if position.oldest_unpaid_due is not None:
        sent = uow.loan_actions.planned_steps(loan_id, position.oldest_unpaid_due, before=as_of)
    return features, sent
