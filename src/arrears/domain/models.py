"""Risk models' rules, once: the targets and their labels, the model features, the scorecard's compiled
arithmetic, calibration tables, reason codes and the metrics (AUC, KS, Brier, calibration by decile, lift,
PSI).

Everything here is pure (numpy for the column-wise forms). Training libraries (optbinning, LightGBM) live in
the services; what they produce is turned into the data below, which the engines evaluate.

Days are epoch days (int, days since 1970-01-01) in the column-wise forms, as Arrow's date32.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from arrears.domain.errors import InputError
from arrears.domain.features import FEATURES, RATIO_ONE, FeatureType, FeatureValue

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NO_DAY = -(2**31)  # an absent day in the column-wise forms (the engine's NONE_DAY)
# Channels whose action is an agent's or a legal one: a cure after one of them is not a *self*-cure.
INTERVENTION_CHANNELS = frozenset({"agent_call", "lawyer_letter", "agency", "litigation", "home_visit"})
SCORE_PREFIX = "score."
PSI_ALERT = 0.25


@dataclass(frozen=True, slots=True)
class Target:
    """What a model predicts: who is observed on a day D, what happened by D + horizon, in words."""

    name: str
    population: str
    event: str
    horizon: int  # days after D the label reads


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "self_cure_30d",
            "accounts in M1 (1-30 days past due) on D",
            "every instalment overdue on D is paid by D+30 and no agent call or legal step (lawyer's letter,"
            " agency, litigation) was planned for the account in (D, D+30]",
            30,
        ),
        Target(
            "roll_30d",
            "accounts past due (DPD >= 1) on D",
            "the account's bucket on D+30 is worse than on D",
            30,
        ),
        Target(
            "pay_7d_after_contact",
            "accounts with a contact recorded on D",
            "a payment (not reversed by D+7) is made in (D, D+7]",
            7,
        ),
        Target(
            "promise_kept",
            "accounts with a promise to pay made on D",
            "the next promise settled after D is kept (within 30 days)",
            30,
        ),
        Target(
            "miss_next_due",
            "accounts current (DPD 0) on D with an instalment due in (D, D+7]",
            "that instalment is still unpaid the day after its due date (D+8 at the latest)",
            8,
        ),
    )
}


def target(name: str, *, field_name: str = "--target") -> Target:
    """The target called `name`, or InputError naming the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise InputError(f"unknown target {name!r} (known: {', '.join(TARGETS)})", field=field_name) from None


# ------------------------------------------------------------------------------------------- features
# The engine-computed features a model may read (numbers and flags; text features are left out: the bucket
# is the DPD in other words, the last contact outcome is summarised by contacts_30d).
ACCOUNT_MODEL_FEATURES: tuple[str, ...] = tuple(
    name
    for name, f in FEATURES.items()
    if not f.computed_by_policy
    and f.type is not FeatureType.STR
    and name not in ("day_offset", "identity_dispute")
    and not name.startswith(SCORE_PREFIX)
)
# The borrower's record across all their loans on the day (the account's own included): a borrower's
# habits show in loans already settled long before this one is late, which the account alone cannot see.
BORROWER_FEATURES: dict[str, str] = {
    "borrower_loans": "loans the borrower holds in the portfolio on the day (settled ones included)",
    "borrower_loans_past_due": "of the borrower's loans, those past due (DPD >= 1), this one included",
    "borrower_min_on_time_ratio": "the lowest on_time_ratio over the borrower's loans (basis points)",
    "borrower_max_prior_dpd_12m": "the highest prior_max_dpd_12m over the borrower's loans",
}
MODEL_FEATURES: tuple[str, ...] = (*ACCOUNT_MODEL_FEATURES, *BORROWER_FEATURES)


def borrower_features(
    borrower: IntArray, dpd: IntArray, on_time_ratio: IntArray, prior_max_dpd_12m: IntArray
) -> dict[str, FloatArray]:
    """BORROWER_FEATURES for every account, column-wise: `borrower` is each account's borrower as a code
    (any integer identifying the borrower), the other columns the accounts' own features."""
    codes = np.asarray(borrower, dtype=np.int64)
    if not len(codes):
        return {name: np.zeros(0) for name in BORROWER_FEATURES}
    _, codes = np.unique(codes, return_inverse=True)
    n = int(codes.max()) + 1
    loans = np.bincount(codes, minlength=n)
    past_due = np.bincount(codes, weights=(np.asarray(dpd) >= 1).astype(np.float64), minlength=n)
    lowest = np.full(n, np.inf)
    np.minimum.at(lowest, codes, np.asarray(on_time_ratio, dtype=np.float64))
    highest = np.full(n, -np.inf)
    np.maximum.at(highest, codes, np.asarray(prior_max_dpd_12m, dtype=np.float64))
    return {
        "borrower_loans": loans[codes].astype(np.float64),
        "borrower_loans_past_due": past_due[codes],
        "borrower_min_on_time_ratio": lowest[codes],
        "borrower_max_prior_dpd_12m": highest[codes],
    }


def feature_number(value: FeatureValue) -> float:
    """A feature value as the model reads it: bools 0 / 1, numbers in their internal integer."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int):
        return float(value)
    raise InputError(f"a model reads numbers, got {value!r}")


# ------------------------------------------------------------------------------------------- labels
def in_population(
    name: str, dpd: IntArray, day_offset: IntArray, contact_today: BoolArray, promise_today: BoolArray
) -> BoolArray:
    """Which accounts a target observes on D (their features on D)."""
    out: BoolArray
    if name == "self_cure_30d":
        out = (dpd >= 1) & (dpd <= 30)
    elif name == "roll_30d":
        out = dpd >= 1
    elif name == "pay_7d_after_contact":
        out = contact_today.copy()
    elif name == "promise_kept":
        out = promise_today.copy()
    elif name == "miss_next_due":
        out = (dpd == 0) & (day_offset < 0) & (day_offset >= -7)
    else:
        raise InputError(f"unknown target {name!r}", field="--target")
    return out


def explained(name: str, dpd: int, day_offset: int) -> bool:
    """Whether the daily run stores reason codes for an account's score: past due, or (early warning) an
    instalment due within 7 days — the accounts a collections decision is about. Scores are stored for all."""
    if name == "miss_next_due":
        return dpd == 0 and -7 <= day_offset < 0
    return dpd > 0


def explained_many(name: str, dpd: IntArray, day_offset: IntArray) -> BoolArray:
    """`explained` column-wise."""
    early: BoolArray = (dpd == 0) & (day_offset >= -7) & (day_offset < 0)
    late: BoolArray = dpd > 0
    return early if name == "miss_next_due" else late


def self_cure_labels(day: int, oldest_due_later: IntArray, intervened: BoolArray) -> BoolArray:
    """Self-cure by D + 30: nothing due before D is unpaid then (the oldest unpaid due date on D+30 is on or
    after D, or none), with no intervention in between."""
    paid_up = (oldest_due_later == NO_DAY) | (oldest_due_later >= day)
    out: BoolArray = paid_up & ~intervened
    return out


def roll_labels(bucket_rank_now: IntArray, bucket_rank_later: IntArray) -> BoolArray:
    """A roll: the bucket D + 30 is worse (a higher rank in the product's table) than on D."""
    out: BoolArray = bucket_rank_later > bucket_rank_now
    return out


def miss_labels(day: int, day_offset: IntArray, oldest_due_later: IntArray) -> BoolArray:
    """The instalment due at D − day_offset is still the oldest unpaid one (or an older one is) on D + 8."""
    due = day - day_offset
    out: BoolArray = (oldest_due_later != NO_DAY) & (oldest_due_later <= due)
    return out


def promise_labels(kinds_after: Sequence[Sequence[str]]) -> BoolArray:
    """Per account, the kinds of its events after D in order: kept when the first settlement is a keep."""
    out = []
    for kinds in kinds_after:
        first = next((k for k in kinds if k in ("promise_kept", "promise_broken")), None)
        out.append(first == "promise_kept")
    return np.array(out, dtype=np.bool_)


# ------------------------------------------------------------------------------------------- scorecard
PDO, BASE_POINTS, BASE_ODDS = 20.0, 600.0, 50.0  # 600 points at odds 50:1 against the event, 20 to double


def points_factor() -> float:
    return PDO / math.log(2.0)


@dataclass(frozen=True, slots=True)
class Characteristic:
    """One feature of a scorecard: bins split at `splits` (bin k holds splits[k-1] <= x < splits[k]) and the
    integer points each bin is worth (more points = less likely the event)."""

    feature: str
    splits: tuple[float, ...]
    points: tuple[int, ...]  # len(splits) + 1

    def bin_of(self, value: float) -> int:
        return bisect_right(self.splits, value)

    def label(self, k: int) -> str:
        lo = "-inf" if k == 0 else _num(self.splits[k - 1])
        hi = "inf" if k == len(self.splits) else _num(self.splits[k])
        return f"[{lo}, {hi})"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True, slots=True)
class CalibrationTable:
    """A step function from a raw score to a probability in basis points: value k applies from
    thresholds[k] on (below the first threshold, the first value). Isotonic regression gives steps."""

    thresholds: tuple[float, ...]
    probabilities_bp: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.thresholds or len(self.thresholds) != len(self.probabilities_bp):
            raise InputError("a calibration table needs as many probabilities as thresholds")

    def of(self, raw: float) -> int:
        k = max(bisect_right(self.thresholds, raw) - 1, 0)
        return self.probabilities_bp[k]

    def of_many(self, raw: FloatArray) -> IntArray:
        k = np.maximum(np.searchsorted(np.asarray(self.thresholds), raw, side="right") - 1, 0)
        out: IntArray = np.asarray(self.probabilities_bp, dtype=np.int64)[k]
        return out


@dataclass(frozen=True, slots=True)
class Scorecard:
    """Points per characteristic; the total maps to a probability through the calibration table, which is
    fitted on points, so both engines compute integers only."""

    characteristics: tuple[Characteristic, ...]
    calibration: CalibrationTable

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c.feature for c in self.characteristics)

    def points(self, row: Mapping[str, float]) -> int:
        return sum(c.points[c.bin_of(row[c.feature])] for c in self.characteristics)

    def probability_bp(self, row: Mapping[str, float]) -> int:
        return self.calibration.of(float(self.points(row)))

    def points_many(self, columns: Mapping[str, FloatArray]) -> IntArray:
        n = len(next(iter(columns.values()))) if columns else 0
        total = np.zeros(n, dtype=np.int64)
        for c in self.characteristics:
            bins = np.searchsorted(np.asarray(c.splits, dtype=np.float64), columns[c.feature], side="right")
            total += np.asarray(c.points, dtype=np.int64)[bins]
        return total

    def probability_bp_many(self, columns: Mapping[str, FloatArray]) -> IntArray:
        return self.calibration.of_many(self.points_many(columns).astype(np.float64))

    def reasons(self, row: Mapping[str, float], top: int = 3) -> list[Reason]:
        """The characteristics costing the most points: each bin's points below the best bin of that
        characteristic (ties: the registry's order)."""
        lost = []
        for c in self.characteristics:
            k = c.bin_of(row[c.feature])
            lost.append(Reason(c.feature, row[c.feature], float(max(c.points) - c.points[k]), c.label(k)))
        lost.sort(key=lambda r: -r.weight)
        return [r for r in lost if r.weight > 0][:top]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason code: the feature, its value, how much it weighed (points lost, or a SHAP value toward the
    event) and, for a scorecard, the bin the value fell in."""

    feature: str
    value: float
    weight: float
    bin: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "feature": self.feature,
            "value": _plain(self.value),
            "weight": round(self.weight, 4),
        }
        if self.bin:
            out["bin"] = self.bin
        return out


def _plain(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def shap_reasons(
    names: Sequence[str], values: Sequence[float], contributions: Sequence[float], top: int = 3
) -> list[Reason]:
    """The features whose SHAP values push the score most toward the event."""
    ranked = sorted(zip(names, values, contributions, strict=True), key=lambda t: -t[2])
    return [Reason(n, v, c) for n, v, c in ranked if c > 0][:top]


def scaled_points(
    contributions: Sequence[float], intercept: float, n_characteristics: int
) -> tuple[int, ...]:
    """Integer points per bin: −factor × (bin log-odds + intercept / n) + offset / n (PDO scaling)."""
    factor = points_factor()
    offset = BASE_POINTS - factor * math.log(BASE_ODDS)
    share = intercept / n_characteristics
    return tuple(round(-(c + share) * factor + offset / n_characteristics) for c in contributions)


# ------------------------------------------------------------------------------------------- metrics
def auc(labels: BoolArray, scores: FloatArray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); 0.5 when one class is missing."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return 0.5
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def roc_curve(labels: BoolArray, scores: FloatArray, points: int = 101) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) at `points` thresholds over the score's quantiles."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    out = [(0.0, 0.0)]
    for t in sorted(set(np.quantile(s, np.linspace(0, 1, points)).tolist()), reverse=True):
        chosen = s >= t
        out.append((float((chosen & ~y).sum() / neg), float((chosen & y).sum() / pos)))
    out.append((1.0, 1.0))
    return out


def ks(labels: BoolArray, scores: FloatArray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the score's distributions among events and non-events."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.all() or (~y).all():
        return 0.0
    thresholds = np.unique(s)
    ev = np.searchsorted(np.sort(s[y]), thresholds, side="right") / y.sum()
    non = np.searchsorted(np.sort(s[~y]), thresholds, side="right") / (~y).sum()
    return float(np.max(np.abs(ev - non)))


def brier(labels: BoolArray, probabilities: FloatArray) -> float:
    """Mean squared error of the probabilities against the 0 / 1 outcomes."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    return float(np.mean((p - y) ** 2)) if len(y) else 0.0


@dataclass(frozen=True, slots=True)
class Decile:
    """One tenth of the accounts by predicted probability (1 = highest): how many, predicted vs observed."""

    decile: int
    accounts: int
    predicted: float
    observed: float
    lift: float


def deciles(labels: BoolArray, probabilities: FloatArray) -> list[Decile]:
    """Calibration and lift by decile of the predicted probability (decile 1 = the highest tenth)."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if not len(y):
        return []
    base = float(y.mean()) or 1.0
    order = np.argsort(-p, kind="mergesort")
    out = []
    for k, part in enumerate(np.array_split(order, 10), start=1):
        if not len(part):
            continue
        observed = float(y[part].mean())
        out.append(Decile(k, len(part), float(p[part].mean()), observed, observed / base))
    return out


def calibration_error(labels: BoolArray, probabilities: FloatArray) -> float:
    """The largest |predicted − observed| over the deciles, in probability (0.05 = 5 percentage points)."""
    return max((abs(d.predicted - d.observed) for d in deciles(labels, probabilities)), default=0.0)


def psi(expected: FloatArray, actual: FloatArray, edges: Sequence[float]) -> float:
    """Population stability index of `actual` against `expected` over the bins cut at `edges`
    (bin k: edges[k-1] <= x < edges[k]); empty bins count as 0.0001 of their population."""
    cuts = np.asarray(edges, dtype=np.float64)

    def shares(x: FloatArray) -> FloatArray:
        counts = np.bincount(
            np.searchsorted(cuts, np.asarray(x, np.float64), side="right"), minlength=len(cuts) + 1
        )
        total = max(int(counts.sum()), 1)
        out: FloatArray = np.maximum(counts / total, 1e-4)
        return out

    e, a = shares(expected), shares(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_from_shares(expected: Sequence[float], actual_values: FloatArray, edges: Sequence[float]) -> float:
    """PSI of `actual_values` against the stored bin shares of the training data."""
    cuts = np.asarray(edges, dtype=np.float64)
    counts = np.bincount(
        np.searchsorted(cuts, np.asarray(actual_values, np.float64), side="right"), minlength=len(cuts) + 1
    )
    a = np.maximum(counts / max(int(counts.sum()), 1), 1e-4)
    e = np.maximum(np.asarray(expected, dtype=np.float64), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_edges(values: FloatArray, bins: int = 10) -> list[float]:
    """Distinct cut points splitting `values` into about `bins` equal parts (for PSI)."""
    if not len(values):
        return []
    qs = np.quantile(np.asarray(values, np.float64), np.linspace(0, 1, bins + 1)[1:-1])
    return sorted({float(q) for q in qs})


def bin_shares(values: FloatArray, edges: Sequence[float]) -> list[float]:
    counts = np.bincount(
        np.searchsorted(np.asarray(edges, np.float64), np.asarray(values, np.float64), side="right"),
        minlength=len(edges) + 1,
    )
    total = max(int(counts.sum()), 1)
    return [float(c / total) for c in counts]


@dataclass(frozen=True, slots=True)
class Metrics:
    """How a model did on one period: AUC, KS, Brier, deciles, and AUC per bucket."""

    accounts: int
    events: int
    auc: float
    ks: float
    brier: float
    calibration_error: float
    deciles: tuple[Decile, ...] = ()
    by_bucket: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "events": self.events,
            "event_rate": round(self.events / self.accounts, 4) if self.accounts else 0.0,
            "auc": round(self.auc, 4),
            "ks": round(self.ks, 4),
            "brier": round(self.brier, 4),
            "calibration_error": round(self.calibration_error, 4),
            "deciles": [
                {
                    "decile": d.decile,
                    "accounts": d.accounts,
                    "predicted": round(d.predicted, 4),
                    "observed": round(d.observed, 4),
                    "lift": round(d.lift, 3),
                }
                for d in self.deciles
            ],
            "auc_by_bucket": {k: round(v, 4) for k, v in self.by_bucket.items()},
        }


def metrics(labels: BoolArray, probabilities: FloatArray, buckets: Sequence[str] = ()) -> Metrics:
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(probabilities, dtype=np.float64)
    by_bucket: dict[str, float] = {}
    if len(buckets):
        b = np.asarray(buckets)
        for name in sorted(set(b.tolist())):
            mask = b == name
            if y[mask].any() and not y[mask].all():
                by_bucket[name] = auc(y[mask], p[mask])
    return Metrics(
        len(y),
        int(y.sum()),
        auc(y, p),
        ks(y, p),
        brier(y, p),
        calibration_error(y, p),
        tuple(deciles(y, p)),
        by_bucket,
    )


def probability(bp: int) -> float:
    """Basis points → a probability (a score feature's internal value → 0..1)."""
    return bp / RATIO_ONE


# ------------------------------------------------------------------------------------------- models
FAMILIES = ("scorecard", "gbm")


@dataclass(frozen=True, slots=True)
class ScoringModel:
    """A trained model as the engines evaluate it: a scorecard (integer points, calibrated on points) or a
    LightGBM model (its text, evaluated by LightGBM's own predictor, calibrated on its raw probability)."""

    id: str
    target: str
    family: str
    features: tuple[str, ...]
    scorecard: Scorecard | None = None
    gbm_text: str | None = None
    calibration: CalibrationTable | None = None  # the GBM's; a scorecard's is inside it

    @property
    def score_feature(self) -> str:
        return SCORE_PREFIX + self.target


def one_model_per_target(models: Sequence[ScoringModel]) -> None:
    """Active models: at most one per target (the policy's `score.<target>` must mean one thing)."""
    seen: dict[str, str] = {}
    for m in models:
        if m.target in seen:
            raise InputError(f"two active models for {m.target}: {seen[m.target]} and {m.id}", field="models")
        seen[m.target] = m.id
