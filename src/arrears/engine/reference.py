"""The reference engine: every account through the domain layer, one by one. It is the oracle."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from arrears.domain.account_features import account_features
from arrears.domain.ledger import compute_position
from arrears.domain.policy.model import Policy
from arrears.domain.policy.treatment import decide
from arrears.engine.evaluation import ACTION_SCHEMA, ASSIGNMENT_SCHEMA, Evaluation, normalise, sent_steps
from arrears.engine.model_scores import (
    LENDER_TABLE,
    SCORE_COLUMNS,
    add_borrower_features,
    lender_rows,
    needs_borrower_features,
    reasons_of_account,
    score_account,
    scores_schema,
)
from arrears.engine.portfolio import Portfolio


def evaluate(
    portfolio: Portfolio, policy: Policy, as_of: date, history: pa.Table | None = None
) -> Evaluation:
    """Ledger, features, segment and the actions due on `as_of` for every account."""
    sent = sent_steps(history)
    events = portfolio.account_events()
    loans_table = portfolio["loans"]
    borrower = dict(
        zip(loans_table["loan_id"].to_pylist(), loans_table["borrower_id"].to_pylist(), strict=True)
    )
    product = dict(zip(loans_table["loan_id"].to_pylist(), loans_table["product"].to_pylist(), strict=True))
    lender = lender_rows(portfolio.tables.get(LENDER_TABLE))
    scores: list[dict[str, object]] = []
    assignments: list[dict[str, object]] = []
    actions: list[dict[str, object]] = []
    accounts = []
    for loan in portfolio.to_loans():
        position = compute_position(loan, as_of)
        accounts.append(
            (loan, position, account_features(loan, position, events.get(loan.id, ()), product[loan.id]))
        )
    if needs_borrower_features(portfolio.models):  # the borrower's record across their loans
        add_borrower_features([f for _, _, f in accounts], [borrower[loan.id] for loan, _, _ in accounts])
    for loan, position, features in accounts:
        features.update(score_account(portfolio.models, features, lender.get(loan.id, {})))
        if portfolio.models:
            scores.append(
                {
                    "loan_id": loan.id,
                    **{c: features[c] for c in SCORE_COLUMNS},
                    **reasons_of_account(portfolio.models, features, lender.get(loan.id, {})),
                }
            )
        anchor = position.oldest_unpaid_due
        history = sent.get(loan.id, {}).get(anchor, set()) if anchor else set()
        t = decide(policy, loan.id, features, history)
        assignments.append(
            {
                "loan_id": loan.id,
                "borrower_id": borrower[loan.id],
                "product": product[loan.id],
                "dpd": position.dpd,
                "delinquent_days": position.delinquent_days,
                "bucket": position.bucket,
                "anchor": anchor,
                "day_offset": features["day_offset"],
                "overdue_total": position.overdue.total,
                "outstanding_total": position.outstanding.total,
                "late_fee": position.outstanding.late_fee,
                "ews_score": t.ews_score,
                "ews_level": t.ews_level,
                "segment": t.segment,
                "experiment": t.experiment,
                "arm": t.arm,
                "ladder": t.ladder,
                "hardship": features["hardship"],
                "disputed": features["disputed"],
                "identity_dispute": features["identity_dispute"],
            }
        )
        for a in t.actions:
            actions.append(
                {
                    "loan_id": loan.id,
                    "kind": a.kind,
                    "step_id": a.step.id,
                    "position": a.position,
                    "channel": a.step.channel,
                    "template": a.step.template,
                    "tone": a.step.tone,
                    "requires": ",".join(a.step.requires),
                    "segment": t.segment,
                    "experiment": t.experiment,
                    "arm": t.arm,
                    "ladder": a.ladder,
                }
            )
    evaluation = normalise(
        pa.Table.from_pylist(assignments, schema=ASSIGNMENT_SCHEMA),
        pa.Table.from_pylist(actions, schema=ACTION_SCHEMA),
    )
    if portfolio.models:
        evaluation.scores = pa.Table.from_pylist(scores, schema=scores_schema(portfolio.models)).sort_by(
            "loan_id"
        )
    return evaluation
