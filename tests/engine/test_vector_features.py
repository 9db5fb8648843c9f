"""Differential test: column-wise features equal the reference features of every account."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account_features import EVENT_KINDS, AccountEvent, account_features
from arrears.domain.ledger import compute_position
from arrears.domain.loans import Loan, Pause
from arrears.engine.portfolio import SCHEMAS, portfolio_from_loans
from arrears.engine.vector_features import feature_table
from tests.unit.ledger_strategies import START, as_of_dates, loans

KINDS = list(EVENT_KINDS)
events_strategy = st.lists(
    st.builds(
        AccountEvent,
        kind=st.sampled_from(KINDS),
        on=st.integers(0, 400).map(lambda d: START + timedelta(days=d)),
        outcome=st.sampled_from(["no_answer", "right_party", "promise_to_pay", "refused"]),
    ),
    max_size=6,
)
reasons = st.sampled_from(["dispute", "hardship", "identity_theft"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(loans(), events_strategy, st.lists(reasons, max_size=2)), min_size=1, max_size=6),
    as_of_dates,
)
def test_features_match_reference(
    accounts: list[tuple[Loan, list[AccountEvent], list[str]]], as_of: date
) -> None:
    built: list[Loan] = []
    for i, (loan, _, pause_reasons) in enumerate(accounts):
        pauses = tuple(
            Pause(p.start, p.end, pause_reasons[k % len(pause_reasons)]) if pause_reasons else p
            for k, p in enumerate(loan.pauses)
        )
        built.append(Loan(f"L{i}", loan.instalments, loan.payments, pauses, loan.waivers, loan.settings))
    portfolio = portfolio_from_loans(built)
    rows = [
        {"loan_id": f"L{i}", "kind": e.kind, "on": e.on, "outcome": e.outcome}
        for i, (_, events, _) in enumerate(accounts)
        for e in events
    ]
    portfolio.tables["events"] = pa.Table.from_pylist(rows, schema=SCHEMAS["events"])
    table = feature_table(portfolio, as_of).to_pylist()
    for i, loan in enumerate(built):
        product = portfolio["loans"]["product"][i].as_py()
        expected = account_features(loan, compute_position(loan, as_of), accounts[i][1], product)
        got = {k: v for k, v in table[i].items() if k != "loan_id"}
        assert got == expected, (
            loan.id,
            as_of,
            {k: (expected[k], got[k]) for k in got if got[k] != expected[k]},
        )
