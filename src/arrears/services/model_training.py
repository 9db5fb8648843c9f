"""Training a risk model: a time-based split of the observation days (train / validation / test), a
scorecard (optbinning's monotonic WoE binning + logistic regression → integer points) or gradient boosting
(LightGBM), a calibration (Platt or isotonic) fitted on the validation days, and the metrics on the test days.

The libraries come with the optional extra `arrears[models]` and are imported here only, when a model is
trained; without them: InputError "install the models extra ...".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from arrears.domain.errors import InputError
from arrears.domain.models import (
    FAMILIES,
    CalibrationTable,
    Characteristic,
    Scorecard,
    ScoringModel,
    bin_shares,
    metrics,
    quantile_edges,
    roc_curve,
    scaled_points,
)
from arrears.engine.model_scores import probabilities_bp
from arrears.services.model_data import Dataset

EXTRA = "install the models extra: pip install 'arrears[models]'"
MIN_ROWS = 50
# Observations of one account on consecutive days are near copies: leaves must hold many of them, or the
# trees learn the accounts of the training days instead of the borrowers (measured: docs/models.md).
GBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 40,  # at least; one 40th of the training rows when that is more
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 7,
    "deterministic": True,
    "num_threads": 1,
    "verbose": -1,
}


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(EXTRA, field="--family") from exc


@dataclass
class Split:
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    days: dict[str, tuple[int, int]]  # part -> (first, last) epoch day


def time_split(data: Dataset, shares: tuple[float, float] = (0.6, 0.2)) -> Split:
    """Earliest days train, the next validate (calibration, early stopping), the latest test."""
    days = np.unique(data.days)
    if len(days) < 3:
        raise InputError(
            f"{len(days)} observation day(s) with a known outcome: a time split needs at least 3 "
            "(widen --from/--to or lower --every)",
            field="--from",
        )
    n_train = max(1, round(len(days) * shares[0]))
    n_valid = max(1, round(len(days) * shares[1]))
    n_train = min(n_train, len(days) - 2)
    n_valid = min(n_valid, len(days) - n_train - 1)
    train_days, valid_days, test_days = (
        days[:n_train],
        days[n_train : n_train + n_valid],
        days[n_train + n_valid :],
    )
    parts = {"train": train_days, "valid": valid_days, "test": test_days}
    return Split(
        np.isin(data.days, train_days),
        np.isin(data.days, valid_days),
        np.isin(data.days, test_days),
        {k: (int(v[0]), int(v[-1])) for k, v in parts.items()},
    )


CALIBRATIONS = ("auto", "platt", "isotonic")


def _steps(grid: np.ndarray, probabilities: np.ndarray) -> CalibrationTable:
    """A calibration curve evaluated at `grid` as steps in whole basis points (every engine reads the same
    integer): a new step wherever the rounded value changes."""
    values = np.clip(np.round(10_000 * probabilities), 0, 10_000).astype(np.int64)
    thresholds, out = [-math.inf], [int(values[0])]
    for t, v in zip(grid[1:], values[1:], strict=True):
        if int(v) != out[-1]:
            thresholds.append(float(t))
            out.append(int(v))
    return CalibrationTable(tuple(thresholds), tuple(out))


def _fit_curve(method: str, x: np.ndarray, labels: np.ndarray, rising: bool) -> Any:
    """A calibration curve fitted on (x, label): Platt (logistic in x) or isotonic (monotonic steps, rising
    with x or falling as `rising` says: the model's direction is known, a small validation set must not
    turn it round)."""
    if method == "platt":
        linear = _require("sklearn.linear_model")
        fit = linear.LogisticRegression(C=1e6, max_iter=1000)
        fit.fit(x.reshape(-1, 1), labels.astype(int))
        a, b = float(fit.coef_[0][0]), float(fit.intercept_[0])
        return lambda g: 1 / (1 + np.exp(-(a * g + b)))
    isotonic = _require("sklearn.isotonic")
    iso = isotonic.IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=rising)
    iso.fit(x, labels.astype(np.float64))
    return lambda g: iso.predict(g)


def choose_calibration(x: np.ndarray, labels: np.ndarray, days: np.ndarray, rising: bool = True) -> str:
    """Platt or isotonic, by the Brier score on the later half of the validation days of a curve fitted on
    the earlier half (the one that generalises forward in time)."""
    cut = np.median(np.unique(days)) if len(days) else 0
    early, late = days <= cut, days > cut
    if not late.any() or labels[early].all() or not labels[early].any():
        return "platt"
    scores = {}
    for method in ("platt", "isotonic"):
        curve = _fit_curve(method, x[early], labels[early], rising)
        p = np.asarray(curve(x[late]), dtype=np.float64)
        scores[method] = float(np.mean((p - labels[late].astype(np.float64)) ** 2))
    return min(scores, key=lambda m: (scores[m], m != "platt"))


def calibrate(
    raw: np.ndarray,
    labels: np.ndarray,
    days: np.ndarray,
    grid: np.ndarray,
    *,
    logit: bool,
    rising: bool = True,
    method: str = "auto",
) -> tuple[CalibrationTable, str]:
    """The calibration fitted on the validation days — Platt scaling, P = 1 / (1 + exp(−(a·x + b))), or
    isotonic regression, x the raw score (its log-odds for a GBM's probability); `auto` chooses
    (choose_calibration) — tabulated as steps at `grid`. Returns the table and the method used."""
    if method not in CALIBRATIONS:
        raise InputError(
            f"unknown calibration {method!r} (use auto, platt or isotonic)", field="--calibration"
        )
    x = _logit(raw) if logit else raw.astype(np.float64)
    chosen = choose_calibration(x, labels, days, rising) if method == "auto" else method
    curve = _fit_curve(chosen, x, labels, rising)
    g = np.unique(grid.astype(np.float64))
    return _steps(g, np.asarray(curve(_logit(g) if logit else g), dtype=np.float64)), chosen


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p.astype(np.float64), 1e-9, 1 - 1e-9)
    out: np.ndarray = np.log(q / (1 - q))
    return out


def train_scorecard(
    data: Dataset, split: Split, model_id: str, target: str, calibration_method: str = "auto"
) -> tuple[ScoringModel, dict[str, Any]]:
    optbinning = _require("optbinning")
    linear = _require("sklearn.linear_model")
    train = data.rows(split.train)
    x = train.matrix()
    process = optbinning.BinningProcess(
        list(data.features),
        min_prebin_size=0.02,
        max_n_bins=10,
        binning_fit_params={f: {"monotonic_trend": "auto_asc_desc"} for f in data.features},
        selection_criteria={"iv": {"min": 0.02}},
    )
    process.fit(x, train.labels.astype(int))
    selected = [f for f in data.features if f in set(process.get_support(names=True))]
    if not selected:
        raise InputError(
            "no feature separates the outcomes (every information value below 0.02)", field="--target"
        )
    woe = np.column_stack(
        [process.get_binned_variable(f).transform(train.columns[f], metric="woe") for f in selected]
    )
    lr = linear.LogisticRegression(C=1.0, max_iter=1000)
    lr.fit(woe, train.labels.astype(int))
    intercept = float(lr.intercept_[0])
    characteristics, table = [], []
    for j, f in enumerate(selected):
        binned = process.get_binned_variable(f)
        splits = tuple(float(s) for s in binned.splits)
        bt = binned.binning_table.build()
        bin_woe = [float(v) for v in bt["WoE"].iloc[: len(splits) + 1]]
        coef = float(lr.coef_[0][j])
        points = scaled_points([coef * w for w in bin_woe], intercept, len(selected))
        characteristics.append(Characteristic(f, splits, points))
        iv = float(bt["IV"].iloc[: len(splits) + 1].sum())
        for k in range(len(splits) + 1):
            table.append(
                {
                    "feature": f,
                    "bin": characteristics[-1].label(k),
                    "count": int(bt["Count"].iloc[k]),
                    "event_rate": round(float(bt["Event rate"].iloc[k]), 4),
                    "woe": round(bin_woe[k], 4),
                    "points": points[k],
                    "iv": round(iv, 4),
                }
            )
    provisional = Scorecard(tuple(characteristics), CalibrationTable((-math.inf,), (0,)))
    valid = data.rows(split.valid)
    raw_valid = provisional.points_many(valid.columns).astype(np.float64)
    lowest = sum(min(c.points) for c in characteristics)
    highest = sum(max(c.points) for c in characteristics)
    calibration, method = calibrate(
        raw_valid,
        valid.labels,
        valid.days,
        np.arange(lowest, highest + 1),
        logit=False,
        rising=False,  # more points: less likely the event
        method=calibration_method,
    )
    card = Scorecard(tuple(characteristics), calibration)
    importance = sorted(
        ({"feature": r["feature"], "weight": r["iv"]} for r in {r["feature"]: r for r in table}.values()),
        key=lambda r: -r["weight"],
    )
    model = ScoringModel(model_id, target, "scorecard", tuple(selected), scorecard=card)
    return model, {
        "scorecard_table": table,
        "importance": importance,
        "intercept": intercept,
        "calibration_method": method,
    }


def train_gbm(
    data: Dataset, split: Split, model_id: str, target: str, calibration_method: str = "auto"
) -> tuple[ScoringModel, dict[str, Any]]:
    lightgbm = _require("lightgbm")
    train, valid = data.rows(split.train), data.rows(split.valid)
    params = dict(GBM_PARAMS)
    params["min_data_in_leaf"] = max(int(params["min_data_in_leaf"]), len(train) // 40)
    train_set = lightgbm.Dataset(train.matrix(), train.labels.astype(int), feature_name=list(data.features))
    valid_set = lightgbm.Dataset(valid.matrix(), valid.labels.astype(int), reference=train_set)
    booster = lightgbm.train(
        params,
        train_set,
        num_boost_round=400,
        valid_sets=[valid_set],
        callbacks=[lightgbm.early_stopping(30, verbose=False)],
    )
    text = booster.model_to_string(num_iteration=booster.best_iteration)
    reloaded = lightgbm.Booster(model_str=text)
    raw_valid = np.asarray(reloaded.predict(valid.matrix()), dtype=np.float64)
    raw_train = np.asarray(reloaded.predict(train.matrix()), dtype=np.float64)
    grid = np.quantile(np.concatenate([raw_train, raw_valid]), np.linspace(0, 1, 2001))
    calibration, method = calibrate(
        raw_valid, valid.labels, valid.days, grid, logit=True, method=calibration_method
    )
    test = data.rows(split.test)
    contrib = (
        np.asarray(reloaded.predict(test.matrix(), pred_contrib=True))[:, :-1]
        if len(test)
        else np.zeros((0, len(data.features)))
    )
    importance = sorted(
        (
            {"feature": f, "weight": round(float(np.mean(np.abs(contrib[:, j]))) if len(contrib) else 0.0, 5)}
            for j, f in enumerate(data.features)
        ),
        key=lambda r: -r["weight"],
    )
    model = ScoringModel(model_id, target, "gbm", data.features, gbm_text=text, calibration=calibration)
    return model, {"importance": importance, "trees": reloaded.num_trees(), "calibration_method": method}


def evaluate(model: ScoringModel, data: Dataset) -> tuple[np.ndarray, dict[str, Any]]:
    """The model's calibrated probabilities on `data` and its metrics there."""
    p = probabilities_bp(model, data.columns).astype(np.float64) / 10_000
    return p, metrics(data.labels, p, data.buckets).to_dict()


def train(
    data: Dataset, family: str, target: str, model_id: str, calibration: str = "auto"
) -> tuple[ScoringModel, dict[str, Any]]:
    """Fit the family on the training days, calibrate on the validation days (`calibration`: platt,
    isotonic or auto, the one that does better forward in time), measure on the test days.

    Returns the model and what its file records beside it: split, metrics per part, importance, the
    scorecard table, the ROC of the test days and the training distributions PSI is measured against."""
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r} (use scorecard or gbm)", field="--family")
    if len(data) < MIN_ROWS:
        raise InputError(
            f"only {len(data)} observations of {target}: at least {MIN_ROWS} are needed", field="--from"
        )
    split = time_split(data)
    for part, mask in (("train", split.train), ("valid", split.valid)):
        y = data.labels[mask]
        if y.all() or not y.any():
            raise InputError(
                f"the {part} days hold only one outcome of {target}: widen --from/--to", field="--from"
            )
    fit = train_scorecard if family == "scorecard" else train_gbm
    if calibration not in CALIBRATIONS:
        raise InputError(
            f"unknown calibration {calibration!r} (use auto, platt or isotonic)", field="--calibration"
        )
    model, extra = fit(data, split, model_id, target, calibration)
    parts = {}
    for part, mask in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        _, parts[part] = evaluate(model, data.rows(mask))
    test = data.rows(split.test)
    p_test, _ = evaluate(model, test)
    p_train, _ = evaluate(model, data.rows(split.train))
    train_rows = data.rows(split.train)
    reference = {
        "score": _distribution(p_train),
        "features": {f: _distribution(train_rows.columns[f]) for f in model.features},
    }
    info = {
        "split": {k: [_day(a), _day(b)] for k, (a, b) in split.days.items()},
        "metrics": parts,
        "roc": [[round(a, 4), round(b, 4)] for a, b in roc_curve(test.labels, p_test)],
        "ks_curve": _ks_curve(test.labels, p_test),
        "reference": reference,
        **extra,
    }
    return model, info


def _distribution(values: np.ndarray) -> dict[str, list[float]]:
    finite = values[np.isfinite(values)] if len(values) else values
    edges = quantile_edges(finite)
    return {"edges": edges, "shares": bin_shares(finite, edges)}


def _ks_curve(labels: np.ndarray, p: np.ndarray) -> list[list[float]]:
    """Cumulative shares of events and non-events by score threshold (20 points), for the report."""
    if not len(labels):
        return []
    out = []
    for t in np.quantile(p, np.linspace(0, 1, 21)):
        chosen = p >= t
        out.append(
            [
                round(float(t), 4),
                round(float((chosen & labels).sum() / max(labels.sum(), 1)), 4),
                round(float((chosen & ~labels).sum() / max((~labels).sum(), 1)), 4),
            ]
        )
    return out


def _day(epoch: int) -> str:
    return date.fromordinal(epoch + 719163).isoformat()
