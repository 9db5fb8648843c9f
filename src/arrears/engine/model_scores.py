"""The active risk models' scores inside the daily run, column-wise (fast engines) and per account
(reference engine): `score.<target>` in basis points, 0 when no model is active for a target.

A scorecard is compiled arithmetic (arrears.domain.models.Scorecard: integer points, a step table to a
probability); a LightGBM model goes through LightGBM's own predictor, imported only when such a model is
active. The models' inputs are the engine's features plus the lender's imported ones (`lender.<name>`),
handed over in the portfolio's `lender_features` table (loan_id + one float column per feature).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.features import SCORE_TARGETS, FeatureValue
from arrears.domain.models import (
    BORROWER_FEATURES,
    ScoringModel,
    borrower_features,
    explained,
    explained_many,
    feature_number,
    one_model_per_target,
    shap_reasons,
)

LENDER_TABLE = "lender_features"
SCORE_COLUMNS = tuple(f"score.{t}" for t in SCORE_TARGETS)


def scores_schema(models: Sequence[ScoringModel]) -> pa.Schema:
    """loan_id, score.<target> for every target, reasons.<target> for each active model's."""
    return pa.schema(
        [
            ("loan_id", pa.string()),
            *((c, pa.int64()) for c in SCORE_COLUMNS),
            *((f"reasons.{m.target}", pa.string()) for m in models),
        ]
    )


def needs_borrower_features(models: Sequence[ScoringModel]) -> bool:
    return any(f in BORROWER_FEATURES for m in models for f in m.features)


def with_borrower_features(features: pa.Table) -> pa.Table:
    """The feature table (with its `borrower_id` column) plus the borrower's record across their loans
    (arrears.domain.models.BORROWER_FEATURES), computed over every row of the table."""
    codes = pc.dictionary_encode(features["borrower_id"]).combine_chunks().indices
    columns = borrower_features(
        np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.int64),
        np.asarray(features["dpd"].to_numpy(), dtype=np.int64),
        np.asarray(features["on_time_ratio"].to_numpy(), dtype=np.int64),
        np.asarray(features["prior_max_dpd_12m"].to_numpy(), dtype=np.int64),
    )
    for name, values in columns.items():
        features = features.append_column(name, pa.array(values, pa.float64()))
    return features


def add_borrower_features(features: Sequence[dict[str, FeatureValue]], borrowers: Sequence[str]) -> None:
    """The same borrower features into each account's feature dict (the reference engine)."""
    codes: dict[str, int] = {}
    columns = borrower_features(
        np.array([codes.setdefault(b, len(codes)) for b in borrowers], dtype=np.int64),
        np.array([f["dpd"] for f in features], dtype=np.int64),
        np.array([f["on_time_ratio"] for f in features], dtype=np.int64),
        np.array([f["prior_max_dpd_12m"] for f in features], dtype=np.int64),
    )
    for k, f in enumerate(features):
        for name, values in columns.items():
            f[name] = int(values[k])


def lender_rows(lender: pa.Table | None) -> dict[str, dict[str, float]]:
    """The lender's features by loan id (the reference engine's input)."""
    if lender is None:
        return {}
    names = [c for c in lender.column_names if c != "loan_id"]
    return {
        r["loan_id"]: {n: float("nan") if r[n] is None else float(r[n]) for n in names}
        for r in lender.to_pylist()
    }


@lru_cache(maxsize=16)
def booster(model_text: str) -> Any:
    """LightGBM's predictor for a model's text (parsed once per process)."""
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - the extra is installed where GBMs are trained
        from arrears.domain.errors import InputError

        raise InputError("install the models extra: pip install 'arrears[models]'", field="models") from exc
    return lightgbm.Booster(model_str=model_text)


def model_columns(features: pa.Table, lender: pa.Table | None, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named model inputs as float64 columns in the feature table's row order (a lender feature an
    account has no value for is NaN: both model families have a bin / branch for missing values)."""
    out: dict[str, np.ndarray] = {}
    positions = None
    for name in names:
        if name in features.column_names:
            col = features[name]
            if pa.types.is_boolean(col.type):
                col = pc.cast(col, pa.int8())
            out[name] = np.asarray(col.to_numpy(), dtype=np.float64)
            continue
        values = np.full(features.num_rows, np.nan)
        if lender is not None and name in lender.column_names and lender.num_rows:
            if positions is None:
                positions = pc.index_in(features["loan_id"], lender["loan_id"]).to_numpy(zero_copy_only=False)
                positions = np.where(np.isnan(positions.astype(np.float64)), -1, positions).astype(np.int64)
            column = np.asarray(lender[name].to_numpy(zero_copy_only=False), dtype=np.float64)
            values = np.where(positions >= 0, column[np.maximum(positions, 0)], np.nan)
        out[name] = values
    return out


def probabilities_bp(model: ScoringModel, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """A model's calibrated probability in basis points for every row."""
    if model.scorecard is not None:
        return model.scorecard.probability_bp_many(columns)
    assert model.gbm_text is not None and model.calibration is not None
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    raw = booster(model.gbm_text).predict(np.column_stack([columns[f] for f in model.features]))
    return model.calibration.of_many(np.asarray(raw, dtype=np.float64))


def score_table(models: Sequence[ScoringModel], features: pa.Table, lender: pa.Table | None) -> pa.Table:
    """`score.<target>` for every row of the feature table (every target: 0 where no model is active)."""
    one_model_per_target(models)
    by_target = {m.target: m for m in models}
    needed = sorted({f for m in models for f in m.features})
    columns = model_columns(features, lender, needed) if models else {}
    out = {}
    for t, name in zip(SCORE_TARGETS, SCORE_COLUMNS, strict=True):
        m = by_target.get(t)
        out[name] = (
            probabilities_bp(m, columns) if m is not None else np.zeros(features.num_rows, dtype=np.int64)
        )
    return pa.table({k: pa.array(v, pa.int64()) for k, v in out.items()})


def score_account(
    models: Sequence[ScoringModel], features: Mapping[str, FeatureValue], lender: Mapping[str, float]
) -> dict[str, int]:
    """The same numbers for one account (the reference engine): the scorecard's arithmetic row by row."""
    out = dict.fromkeys(SCORE_COLUMNS, 0)
    for m in models:
        row = {
            f: feature_number(features[f]) if f in features else float(lender.get(f, float("nan")))
            for f in m.features
        }
        if m.scorecard is not None:
            out[m.score_feature] = m.scorecard.probability_bp(row)
        else:
            assert m.gbm_text is not None and m.calibration is not None
            raw = booster(m.gbm_text).predict(np.array([[row[f] for f in m.features]], dtype=np.float64))
            out[m.score_feature] = m.calibration.of(float(raw[0]))
    return out


def reason_names(model: ScoringModel, columns: Mapping[str, np.ndarray], top: int = 3) -> list[str]:
    """Per row, the model's top reason codes as 'feature,feature,feature' (points lost, or SHAP values)."""
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        return []
    names = list(model.features)
    if model.scorecard is not None:
        weights = np.column_stack(
            [
                max(c.points)
                - np.asarray(c.points, dtype=np.int64)[
                    np.searchsorted(np.asarray(c.splits, dtype=np.float64), columns[c.feature], side="right")
                ]
                for c in model.scorecard.characteristics
            ]
        ).astype(np.float64)
        names = [c.feature for c in model.scorecard.characteristics]
    else:
        assert model.gbm_text is not None
        matrix = np.column_stack([columns[f] for f in model.features])
        weights = gbm_contributions(model.gbm_text, matrix)
    order = np.argsort(-weights, axis=1, kind="stable")[:, :top]
    labels = np.asarray(names, dtype=object)
    # descending weights: once one is not positive, none after it is
    out = np.full(n, "", dtype=object)
    for k in range(order.shape[1]):
        positive = np.take_along_axis(weights, order[:, k : k + 1], 1)[:, 0] > 0
        name = labels[order[:, k]]
        out = np.where(positive, name if k == 0 else out + "," + name, out)
    return list(out)


@lru_cache(maxsize=16)
def _split_points(model_text: str) -> tuple[np.ndarray, ...]:
    """Every threshold the model's trees compare each feature with, sorted."""
    found: dict[int, set[float]] = {}

    def walk(node: dict[str, Any]) -> None:
        if "split_feature" in node:
            found.setdefault(int(node["split_feature"]), set()).add(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    dump = booster(model_text).dump_model()
    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return tuple(
        np.array(sorted(found.get(k, ())), dtype=np.float64) for k in range(dump["max_feature_idx"] + 1)
    )


def _patterns(model_text: str, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by the side of every threshold the trees compare them with: (one row of each pattern,
    each row's pattern). Rows of one pattern take the same path through every tree, so LightGBM gives them
    the same prediction and the same SHAP values. Missing values and zeros keep patterns of their own
    (LightGBM may send them the default way)."""
    points = _split_points(model_text)
    keys = np.zeros(len(matrix), dtype=np.int64)
    span = 1  # keys lie in [0, span)
    for k in range(matrix.shape[1]):
        column = matrix[:, k]
        cut = points[k] if k < len(points) else np.zeros(0)
        code = np.where(
            np.isnan(column), 0, np.where(column == 0, 1, 2 + np.searchsorted(cut, column, side="left"))
        )
        if span * (len(cut) + 3) >= 2**62:  # renumber the patterns so far densely before they overflow
            _, dense = np.unique(keys, return_inverse=True)
            keys, span = np.asarray(dense, dtype=np.int64).ravel(), int(dense.max()) + 1
        keys = keys * (len(cut) + 3) + code
        span *= len(cut) + 3
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, np.asarray(inverse).ravel()


def gbm_contributions(model_text: str, matrix: np.ndarray) -> np.ndarray:
    """LightGBM's SHAP values (TreeSHAP, `pred_contrib`) of every row without the bias column, computed
    once per pattern of split sides (_patterns): far fewer than the late accounts of a portfolio."""
    if not len(matrix):
        return np.zeros((0, matrix.shape[1]))
    first, inverse = _patterns(model_text, matrix)
    out = np.asarray(booster(model_text).predict(matrix[first], pred_contrib=True), dtype=np.float64)
    return out[:, :-1][inverse]


def explain_row(model: ScoringModel, row: Mapping[str, float], top: int = 3) -> list[Any]:
    """The top reason codes of one account (domain Reason objects)."""
    if model.scorecard is not None:
        return list(model.scorecard.reasons(row, top))
    assert model.gbm_text is not None
    values = [row[f] for f in model.features]
    contrib = booster(model.gbm_text).predict(np.array([values], dtype=np.float64), pred_contrib=True)[0][:-1]
    return shap_reasons(model.features, values, [float(c) for c in contrib], top)


def with_reasons(models: Sequence[ScoringModel], features: pa.Table, lender: pa.Table | None) -> pa.Table:
    """loan_id and the score columns of the feature table, plus each model's reason codes per account."""
    out = features.select(["loan_id", *SCORE_COLUMNS])
    dpd = np.asarray(features["dpd"].to_numpy(), dtype=np.int64)
    offset = np.asarray(features["day_offset"].to_numpy(), dtype=np.int64)
    for m in models:
        wanted = explained_many(m.target, dpd, offset)
        reasons = np.full(features.num_rows, "", dtype=object)
        if wanted.any():
            rows = np.flatnonzero(wanted)
            columns = model_columns(features.take(pa.array(rows)), lender, m.features)
            reasons[rows] = reason_names(m, columns)
        out = out.append_column(f"reasons.{m.target}", pa.array(reasons.tolist(), pa.string()))
    return out


def reasons_of_account(
    models: Sequence[ScoringModel], features: Mapping[str, FeatureValue], lender: Mapping[str, float]
) -> dict[str, str]:
    """The same reason codes for one account (the reference engine)."""
    out = {}
    for m in models:
        row = {
            f: feature_number(features[f]) if f in features else float(lender.get(f, float("nan")))
            for f in m.features
        }
        wanted = explained(m.target, int(features["dpd"]), int(features["day_offset"]))
        out[f"reasons.{m.target}"] = ",".join(r.feature for r in explain_row(m, row)) if wanted else ""
    return out
