"""Why a stored account gets the treatment it gets on a day: `arrears policy explain --account --as-of`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from arrears.domain.account_features import AccountEvent, account_features
from arrears.domain.ledger import compute_position
from arrears.domain.policy.model import Policy
from arrears.domain.policy.treatment import Treatment, decide
from arrears.services.unit_of_work import UnitOfWork


def account_treatment(uow: UnitOfWork, policy: Policy, loan_id: str, as_of: date) -> Treatment:
    """The reference engine's decision for one stored account, with the history the daily run would use."""
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
    features = account_features(loan, position, events, record.product_code)
    sent: set[str] = set()
    if position.oldest_unpaid_due is not None:
        sent = uow.loan_actions.planned_steps(loan_id, position.oldest_unpaid_due, before=as_of)
    return decide(policy, loan_id, features, sent)
