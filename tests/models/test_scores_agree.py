"""Differential test: the reference engine (the scorecard's arithmetic account by account, LightGBM row by
row) and the DuckDB engine (column-wise) give every account the same scores, reason codes, segments and
actions under policies/segmented-scored.yaml."""

from __future__ import annotations

import math
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.adapters.policy_file import load_policy
from arrears.domain.loans import Loan
from arrears.domain.models import (
    MODEL_FEATURES,
    CalibrationTable,
    Characteristic,
    Scorecard,
    ScoringModel,
)
from arrears.engine.duckdb_engine import evaluate as vectorised
from arrears.engine.model_scores import LENDER_TABLE
from arrears.engine.portfolio import SCHEMAS, portfolio_from_loans
from arrears.engine.reference import evaluate as reference
from tests.engine.test_vector_features import events_strategy
from tests.unit.ledger_strategies import as_of_dates, loans

POLICY = load_policy(Path(__file__).parents[2] / "policies" / "segmented-scored.yaml")

CARD = ScoringModel(
    "self_cure_30d-scorecard-test",
    "self_cure_30d",
    "scorecard",
    (
        "dpd",
        "on_time_ratio",
        "prior_max_dpd_12m",
        "contacts_30d",
        "lender.bureau_score",
        "borrower_loans_past_due",
        "borrower_min_on_time_ratio",
    ),
    scorecard=Scorecard(
        (
            Characteristic("dpd", (3.0, 8.0, 15.0), (60, 45, 30, 10)),
            Characteristic("on_time_ratio", (7000.0, 9500.0), (0, 20, 35)),
            Characteristic("prior_max_dpd_12m", (1.0, 10.0), (30, 20, 5)),
            Characteristic("contacts_30d", (2.0,), (15, 5)),
            Characteristic("lender.bureau_score", (600.0,), (0, 25)),
            Characteristic("borrower_loans_past_due", (2.0,), (20, 0)),
            Characteristic("borrower_min_on_time_ratio", (8000.0,), (0, 15)),
        ),
        # more points: more likely to cure here; steps at every 10 points
        CalibrationTable((-math.inf, *map(float, range(20, 236, 12))), tuple(range(200, 9700, 500))),
    ),
)


@cache
def gbm() -> ScoringModel:
    """A small LightGBM roll model trained on random rows of the model features (the event follows the
    first and the last, a borrower feature)."""
    import lightgbm

    rng = np.random.default_rng(5)
    x = rng.integers(0, 60, size=(600, len(MODEL_FEATURES))).astype(np.float64)
    y = (x[:, 0] + x[:, -1] + rng.normal(0, 10, 600) > 60).astype(int)
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1, "seed": 1},
        lightgbm.Dataset(x, y, feature_name=list(MODEL_FEATURES)),
        num_boost_round=20,
    )
    steps = CalibrationTable((-math.inf, *(k / 20 for k in range(1, 20))), tuple(range(250, 10_000, 500)))
    return ScoringModel(
        "roll_30d-gbm-test",
        "roll_30d",
        "gbm",
        MODEL_FEATURES,
        gbm_text=booster.model_to_string(),
        calibration=steps,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(loans(), events_strategy, st.one_of(st.none(), st.integers(300, 900))),
        min_size=1,
        max_size=8,
    ),
    as_of_dates,
    st.integers(1, 4),
)
def test_reference_and_duckdb_agree_on_scores_reasons_and_actions(
    accounts, as_of: date, borrowers: int
) -> None:  # type: ignore[no-untyped-def]
    built = [
        Loan(f"L{i}", ln.instalments, ln.payments, ln.pauses, ln.waivers, ln.settings)
        for i, (ln, _, _) in enumerate(accounts)
    ]
    # loans share borrowers, so the borrower features gather several accounts
    portfolio = portfolio_from_loans(built, {ln.id: f"B{k % borrowers}" for k, ln in enumerate(built)})
    rows = [
        {"loan_id": f"L{i}", "kind": e.kind, "on": e.on, "outcome": e.outcome}
        for i, (_, events, _) in enumerate(accounts)
        for e in events
    ]
    portfolio.tables["events"] = pa.Table.from_pylist(rows, schema=SCHEMAS["events"])
    lender = [(f"L{i}", float(b)) for i, (_, _, b) in enumerate(accounts) if b is not None]
    portfolio.tables[LENDER_TABLE] = pa.table(
        {
            "loan_id": pa.array([r[0] for r in lender], pa.string()),
            "lender.bureau_score": pa.array([r[1] for r in lender], pa.float64()),
        }
    )
    portfolio.models = (CARD, gbm())
    ref = reference(portfolio, POLICY, as_of)
    fast = vectorised(portfolio, POLICY, as_of)
    assert ref.scores is not None and fast.scores is not None
    assert ref.scores.to_pylist() == fast.scores.to_pylist()
    assert ref.assignments.to_pylist() == fast.assignments.to_pylist()
    assert ref.actions.to_pylist() == fast.actions.to_pylist()


def test_shap_values_computed_once_per_pattern_equal_lightgbm_on_every_row() -> None:
    """Reason codes run TreeSHAP once per pattern of split sides; every row still gets LightGBM's SHAP
    values, missing values and zeros included."""
    import lightgbm

    from arrears.engine.model_scores import booster, gbm_contributions

    model = gbm()
    rng = np.random.default_rng(11)
    x = rng.integers(0, 60, size=(3000, len(MODEL_FEATURES))).astype(np.float64)
    x[rng.uniform(size=x.shape) < 0.05] = np.nan
    x[rng.uniform(size=x.shape) < 0.05] = 0.0
    x[:, 0] += rng.uniform(0, 1, 3000)  # values between the thresholds too
    assert model.gbm_text is not None
    expected = np.asarray(booster(model.gbm_text).predict(x, pred_contrib=True))[:, :-1]
    assert isinstance(booster(model.gbm_text), lightgbm.Booster)
    assert np.array_equal(gbm_contributions(model.gbm_text, x), expected)
