"""The active risk models in the daily run: hand them (and the lender's features valid on the day) to the
engine, and keep the scores it computed, per account and day, with their top reason codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa

from arrears.domain.errors import InputError
from arrears.domain.model_records import AccountScore
from arrears.domain.models import ScoringModel
from arrears.engine.model_scores import LENDER_TABLE
from arrears.engine.portfolio import Portfolio
from arrears.services.model_data import lender_table
from arrears.services.models import active_models
from arrears.services.unit_of_work import UnitOfWork

SCORING_ENGINES = ("duckdb", "reference")


def with_active_models(
    uow: UnitOfWork, portfolio: Portfolio, as_of: date, engine_name: str
) -> list[ScoringModel]:
    """Put the active models and the lender's features on the portfolio; returns the models."""
    models = active_models(uow)
    if not models:
        return []
    if engine_name not in SCORING_ENGINES:
        raise InputError(
            f"the {engine_name} engine does not score risk models yet: use --engine duckdb or reference "
            "(or arrears model deactivate ID)",
            field="--engine",
        )
    portfolio.models = tuple(models)
    lender = lender_table(uow, as_of)
    if lender is not None:
        portfolio.tables[LENDER_TABLE] = lender
    return models


def write_scores(uow: UnitOfWork, as_of: date, models: Sequence[ScoringModel], scores: pa.Table) -> int:
    """Each model's score and reason codes of every account, for the day (a re-run replaces them)."""
    loans = scores["loan_id"].to_pylist()
    rows: list[AccountScore] = []
    for m in models:
        values = scores[m.score_feature].to_pylist()
        reasons = scores[f"reasons.{m.target}"].to_pylist()
        rows.extend(
            AccountScore(loan, as_of, m.target, m.id, int(v), r or "")
            for loan, v, r in zip(loans, values, reasons, strict=True)
        )
    return uow.models.write_scores(as_of, rows)
