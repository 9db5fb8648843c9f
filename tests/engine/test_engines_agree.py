"""Differential tests of whole daily evaluations: DuckDB (and Spark) against the reference engine."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.adapters.policy_file import load_policy
from arrears.domain.loans import Loan
from arrears.engine.duckdb_engine import evaluate as vectorised
from arrears.engine.evaluation import HISTORY_SCHEMA, Evaluation
from arrears.engine.portfolio import SCHEMAS, Portfolio, portfolio_from_loans
from arrears.engine.reference import evaluate as reference
from tests.engine.test_vector_features import events_strategy
from tests.unit.ledger_strategies import START, as_of_dates, loans

POLICIES = {p.stem: load_policy(p) for p in sorted((Path(__file__).parents[2] / "policies").glob("*.yaml"))}


def assert_same(a: Evaluation, b: Evaluation) -> None:
    assert a.assignments.to_pylist() == b.assignments.to_pylist()
    assert a.actions.to_pylist() == b.actions.to_pylist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(loans(), events_strategy), min_size=1, max_size=8),
    as_of_dates,
    st.sampled_from(sorted(POLICIES)),
    st.data(),
)
def test_duckdb_engine_matches_reference(accounts, as_of: date, policy_name: str, data) -> None:  # type: ignore[no-untyped-def]
    built = [
        Loan(f"L{i}", ln.instalments, ln.payments, ln.pauses, ln.waivers, ln.settings)
        for i, (ln, _) in enumerate(accounts)
    ]
    portfolio = portfolio_from_loans(built)
    rows = [
        {"loan_id": f"L{i}", "kind": e.kind, "on": e.on, "outcome": e.outcome}
        for i, (_, events) in enumerate(accounts)
        for e in events
    ]
    portfolio.tables["events"] = pa.Table.from_pylist(rows, schema=SCHEMAS["events"])
    policy = POLICIES[policy_name]
    step_ids = sorted(
        {s.id for lad in policy.ladders.values() for s in lad.steps} | {j.id for j in policy.jumps}
    )
    hist = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(built) - 1), st.sampled_from(step_ids), st.integers(0, 120)),
            max_size=6,
        )
    )
    history = pa.Table.from_pylist(
        [{"loan_id": f"L{i}", "step_id": s, "anchor": START + timedelta(days=d)} for i, s, d in hist],
        schema=HISTORY_SCHEMA,
    )
    assert_same(reference(portfolio, policy, as_of, history), vectorised(portfolio, policy, as_of, history))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_generated_portfolio_agrees(name: str) -> None:
    from arrears.sim.portfolio import generate_portfolio

    as_of = date(2026, 3, 31)
    portfolio = generate_portfolio(400, 11, as_of).engine_portfolio()
    policy = POLICIES[name]
    ref = reference(portfolio, policy, as_of, None)
    assert ref.actions.num_rows > 0
    assert_same(ref, vectorised(portfolio, policy, as_of, None))


@pytest.mark.slow
def test_spark_engine_matches_reference() -> None:
    pytest.importorskip("pyspark")
    from arrears.engine.spark_engine import evaluate as on_spark
    from arrears.sim.portfolio import generate_portfolio

    as_of = date(2026, 3, 31)
    portfolio = generate_portfolio(300, 5, as_of).engine_portfolio()
    for policy in POLICIES.values():
        history = pa.Table.from_pylist([], schema=HISTORY_SCHEMA)
        ref = reference(portfolio, policy, as_of, history)
        assert_same(ref, on_spark(portfolio, policy, as_of, history))


def _encoded(portfolio: Portfolio, shuffle_payments: bool = False) -> Portfolio:
    """Child tables' loan ids dictionary-encoded against the loans (a snapshot directory's layout)."""
    loans = portfolio["loans"]["loan_id"].combine_chunks()
    tables = dict(portfolio.tables)
    for name in ("instalments", "payments", "pauses", "waivers", "events"):
        table = tables[name]
        idx = pc.index_in(table["loan_id"].combine_chunks(), loans)
        codes = pa.DictionaryArray.from_arrays(idx.cast(pa.int32()), loans)
        tables[name] = table.set_column(table.schema.get_field_index("loan_id"), "loan_id", codes)
    if shuffle_payments:  # rows out of loan order: the engine must sort them, keeping the recorded order
        tables["payments"] = tables["payments"].take(pa.array(range(tables["payments"].num_rows - 1, -1, -1)))
    return Portfolio(tables, dict(portfolio.products))


@pytest.mark.parametrize("shuffle", [False, True])
def test_dictionary_encoded_loan_ids_give_the_same_run(shuffle: bool) -> None:
    from arrears.sim.portfolio import generate_portfolio

    as_of = date(2026, 3, 31)
    portfolio = generate_portfolio(300, 5, as_of).engine_portfolio()
    encoded = _encoded(portfolio, shuffle)
    assert pa.types.is_dictionary(encoded["instalments"].schema.field("loan_id").type)
    policy = POLICIES["segmented"]
    assert_same(vectorised(portfolio, policy, as_of, None), vectorised(encoded, policy, as_of, None))
    assert_same(reference(portfolio, policy, as_of, None), reference(encoded, policy, as_of, None))
