"""The paired comparison of policies in the strategy lab: each KPI's estimate per policy over the seeds and
each challenger's difference from the first policy (B − A), with bootstrap intervals clamped to what the KPI
can be (domain/bootstrap.py). Pure: the simulations that fill it run in arrears.sim.report; the report's
text and HTML are drawn by arrears.adapters.lab_report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arrears.domain.bootstrap import (
    NON_NEGATIVE,
    RATE,
    Bounds,
    Estimate,
    bootstrap_mean,
    defined,
    paired_difference,
)
from arrears.domain.money import parse_minor
from arrears.domain.roll_rates import RollRate, next_bucket, pooled_rate

NOT_DEFINED = "—"  # no value (a rate with no denominator) or no interval (one seed)
ENOUGH_SEEDS = 5  # below this, a bootstrap over seeds is too narrow to trust: the report says so
MONTHLY_BUCKETS = ("M0", "M1", "M2")  # the month-by-month roll rates the report shows: M0→M1, M1→M2, M2→M3


@dataclass(frozen=True)
class Metric:
    """One KPI of the comparison: its key in the KPIs, English label, kind (money in yuan, rate, count,
    number) and possible range."""

    key: str
    label: str
    kind: str
    bounds: Bounds


METRICS: tuple[Metric, ...] = (
    Metric("recovered", "Recovered (¥)", "money", NON_NEGATIVE),
    Metric("recovery_rate", "Recovery rate of opening arrears", "rate", RATE),
    Metric("cure_rate", "Cure rate", "rate", RATE),
    Metric("self_cure_rate", "Self-cure rate", "rate", RATE),
    Metric("cei", "CEI", "number", Bounds(None, 100.0)),
    Metric("roll:M0", "Roll rate M0→M1 (monthly, pooled)", "rate", RATE),
    Metric("roll:M1", "Roll rate M1→M2 (monthly, pooled)", "rate", RATE),
    Metric("right_party_contact_rate", "Right-party contact rate", "rate", RATE),
    Metric("promise_kept_rate", "Promise kept rate", "rate", RATE),
    Metric("contacts", "Contacts", "count", NON_NEGATIVE),
    Metric("contacts_per_yuan_recovered", "Contacts per ¥ recovered", "number", NON_NEGATIVE),
    Metric("cost", "Cost (¥)", "money", NON_NEGATIVE),
    Metric("cost_to_collect", "Cost to collect (¥ per ¥)", "number", NON_NEGATIVE),
    Metric("complaints", "Complaints", "count", NON_NEGATIVE),
    Metric("complaints_per_10k_contacts", "Complaints per 10k contacts", "number", NON_NEGATIVE),
    Metric("accidental_legal_threat_share", "Accidental late payers threatened", "rate", RATE),
    Metric("compliance_blocked", "Compliance blocks", "count", NON_NEGATIVE),
    Metric("compliance_deferred", "Compliance defers", "count", NON_NEGATIVE),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


def monthly_rolls(kpis: dict[str, Any]) -> list[dict[str, RollRate]]:
    """The run's month-by-month roll rates as RollRate values, month 1 first."""
    return [
        {b: RollRate(b, r["accounts"], r["rolled"]) for b, r in month["roll_rates"].items()}
        for month in kpis.get("monthly_roll_rates", [])
    ]


def metric_value(kpis: dict[str, Any], key: str) -> float | None:
    """One KPI as a number (money in yuan); None when it is undefined (e.g. a rate with no denominator).
    "roll:B" is bucket B's monthly roll rate pooled over the window's months."""
    if key.startswith("roll:"):
        return pooled_rate(monthly_rolls(kpis), key.removeprefix("roll:"))
    value = kpis.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return parse_minor(value) / 100
    return float(value)


def monthly_roll_value(kpis: dict[str, Any], month: int, bucket: str) -> float | None:
    """Bucket's roll rate in month `month` (1-based) of one run; None when it had no account or no month."""
    rolls = monthly_rolls(kpis)
    if month > len(rolls) or bucket not in rolls[month - 1]:
        return None
    return rolls[month - 1][bucket].rate


@dataclass
class PolicyRuns:
    """The KPIs of one policy over every seed, in seed order."""

    name: str
    path: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)  # the generated portfolio's digest per seed

    def values(self, key: str) -> list[float | None]:
        return [metric_value(k, key) for k in self.runs]

    def estimate(self, key: str) -> Estimate:
        return bootstrap_mean(defined(self.values(key)), METRIC_BY_KEY[key].bounds)


@dataclass(frozen=True)
class Row:
    """One line of the comparison: a KPI, each policy's estimate, each challenger's difference from the
    first policy (B − A)."""

    key: str
    label: str
    kind: str
    arms: dict[str, Estimate]
    differences: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.key,
            "label": self.label,
            "kind": self.kind,
            "arms": {name: e.to_dict() for name, e in self.arms.items()},
            "difference_from_first": {name: e.to_dict() for name, e in self.differences.items()},
        }


def compare_values(
    key: str,
    label: str,
    kind: str,
    bounds: Bounds,
    per_policy: Sequence[tuple[str, Sequence[float | None]]],
) -> Row:
    """A row from each policy's per-seed values (aligned by seed): estimates and paired differences."""
    arms = {name: bootstrap_mean(defined(values), bounds) for name, values in per_policy}
    first = per_policy[0][1]
    differences = {name: paired_difference(first, values, bounds) for name, values in per_policy[1:]}
    return Row(key, label, kind, arms, differences)


@dataclass
class Comparison:
    policies: list[PolicyRuns]
    seeds: list[int]
    days: int
    borrowers: int
    start: date
    seconds: float = 0.0

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.policies]

    def rows(self) -> list[Row]:
        """One row per KPI of METRICS."""
        return [
            compare_values(
                m.key, m.label, m.kind, m.bounds, [(p.name, p.values(m.key)) for p in self.policies]
            )
            for m in METRICS
        ]

    def months(self) -> int:
        """How many whole 30-day months the runs' windows hold."""
        return max((len(k.get("monthly_roll_rates", [])) for p in self.policies for k in p.runs), default=0)

    def monthly_rows(self) -> list[tuple[int, str, Row]]:
        """(month, bucket, row) of the month-by-month roll rates the report shows."""
        out = []
        for bucket in MONTHLY_BUCKETS:
            for month in range(1, self.months() + 1):
                row = compare_values(
                    f"roll:{bucket}:{month}",
                    f"{bucket}→{next_bucket(bucket)}",
                    "rate",
                    RATE,
                    [(p.name, [monthly_roll_value(k, month, bucket) for k in p.runs]) for p in self.policies],
                )
                out.append((month, bucket, row))
        return out

    def window_days(self) -> list[str]:
        return [(self.start + timedelta(days=i)).isoformat() for i in range(self.days)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policies": self.names,
            "files": [p.path for p in self.policies],
            "seeds": self.seeds,
            "days": self.days,
            "borrowers": self.borrowers,
            "from": self.start.isoformat(),
            "seconds": round(self.seconds, 2),
            "run_seconds": {p.name: [round(x, 2) for x in p.seconds] for p in self.policies},
            "interval": "95 % percentile bootstrap over seeds, paired for differences, clamped to the range",
            "populations": {p.name: p.populations for p in self.policies},
            "table": [row.to_dict() for row in self.rows()],
            "monthly_roll_rates": [
                {"month": month, "bucket": bucket, **row.to_dict()}
                for month, bucket, row in self.monthly_rows()
            ],
            "runs": {p.name: p.runs for p in self.policies},
        }
