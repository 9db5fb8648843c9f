"""`arrears sim compare`: policies side by side over paired seeds, as a terminal table and an HTML report.

Each (policy, seed) pair is one full simulation (sim/simulation.py) in a store of its own; the pairs run in
parallel processes. The seeds are paired: for one seed every policy faces the same borrowers (checked: the
generated portfolio's digest must agree) and the same luck (the behaviour's draws are keyed by seed, day
and loan; whether a call is answered by seed, borrower and day). Every figure is the mean over the seeds
with a 95 % percentile bootstrap interval over the seeds, and each challenger's difference from the first
policy (B − A) is the mean of the per-seed differences with a paired bootstrap interval
(domain/bootstrap.py), each clamped to what the quantity can be. One seed gives values and no interval.
The HTML report and its charts: sim/report_html.py, sim/report_charts.py.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
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
from arrears.sim.report_language import ReportLanguage

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


def simulate_one(
    policy_path: str, seed: int, days: int, borrowers: int, start: date, keep_store: bool = False
) -> tuple[str, int, dict[str, Any], float, str]:
    """One simulation in a fresh SQLite store (run in a worker process); (policy id, seed, kpis, seconds,
    population digest)."""
    from arrears.adapters.policy_file import load_policy
    from arrears.adapters.profile_file import load_profile
    from arrears.sim.simulation import fresh_store_url, simulate

    policy = load_policy(policy_path)
    profile = load_profile(policy.compliance_profile)
    url = fresh_store_url()
    try:
        result = simulate(policy, profile, days=days, seed=seed, borrowers=borrowers, url=url, start=start)
    finally:
        if not keep_store:
            from arrears.adapters.store import forget_engines

            forget_engines()
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    return policy.id, seed, result.kpis, result.seconds, result.population


class UnpairedRuns(RuntimeError):
    """Two policies simulated with one seed did not face the same borrowers (a bug, never bad input)."""


def compare(
    policy_paths: Sequence[str],
    *,
    days: int,
    seeds: Sequence[int],
    borrowers: int,
    start: date,
    jobs: int | None = None,
    on_done: Callable[[str, int, float], None] | None = None,
) -> Comparison:
    """Simulate every policy with every seed (the same seeds for all: paired runs, common random numbers)."""
    started = time.perf_counter()
    tasks = [(path, seed) for path in policy_paths for seed in seeds]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    results: dict[tuple[str, int], tuple[str, dict[str, Any], float, str]] = {}
    if workers == 1:
        for path, seed in tasks:
            name, _, kpis, secs, population = simulate_one(path, seed, days, borrowers, start)
            results[(path, seed)] = (name, kpis, secs, population)
            if on_done is not None:
                on_done(name, seed, secs)
    else:
        # seed-major order: the two policies of a seed finish close together
        ordered = sorted(tasks, key=lambda t: (seeds.index(t[1]), policy_paths.index(t[0])))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(simulate_one, path, seed, days, borrowers, start): (path, seed)
                for path, seed in ordered
            }
            for future, key in futures.items():
                name, _, kpis, secs, population = future.result()
                results[key] = (name, kpis, secs, population)
                if on_done is not None:
                    on_done(name, key[1], secs)
    policies: list[PolicyRuns] = []
    for path in policy_paths:
        name = results[(path, seeds[0])][0]
        if any(p.name == name for p in policies):
            name = f"{name} ({Path(path).name})"
        runs = PolicyRuns(name, str(path))
        for seed in seeds:
            _, kpis, secs, population = results[(path, seed)]
            runs.runs.append(kpis)
            runs.seconds.append(secs)
            runs.populations.append(population)
        policies.append(runs)
    for i, seed in enumerate(seeds):
        if len({p.populations[i] for p in policies}) != 1:
            raise UnpairedRuns(f"seed {seed}: the policies did not face the same borrowers")
    return Comparison(policies, list(seeds), days, borrowers, start, time.perf_counter() - started)


# --- formatting ----------------------------------------------------------------------------------------


def format_value(value: float | None, kind: str) -> str:
    if value is None or math.isnan(value):
        return NOT_DEFINED
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "count":
        return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
    return f"{value:,.4g}"


def format_change(value: float | None, kind: str, language: ReportLanguage, unit: bool = True) -> str:
    """A difference B − A with its sign (none when it rounds to zero); a difference of rates in percentage
    points ("+3.2 pp"; without the unit when `unit` is False)."""
    if value is None or math.isnan(value):
        return NOT_DEFINED
    if kind == "rate":
        size = f"{abs(value) * 100:.1f}"
        suffix = f" {language.t('pp')}" if unit else ""
    else:
        size = format_value(abs(value), kind)
        suffix = ""
    if not any(ch in "123456789" for ch in size):
        return f"{size}{suffix}"
    return f"{'+' if value > 0 else '−'}{size}{suffix}"


def format_interval(estimate: Estimate, kind: str, language: ReportLanguage, change: bool = False) -> str:
    """ "[low, high]" in the value's unit ("[−1.2, +0.4] pp" for a difference of rates), or NOT_DEFINED when
    there is no interval (fewer than two seeds)."""
    if estimate.low is None or estimate.high is None:
        return NOT_DEFINED
    if change:
        low = format_change(estimate.low, kind, language, unit=False)
        high = format_change(estimate.high, kind, language, unit=False)
        return f"[{low}, {high}]" + (f" {language.t('pp')}" if kind == "rate" else "")
    return f"[{format_value(estimate.low, kind)}, {format_value(estimate.high, kind)}]"


def format_estimate(estimate: Estimate, kind: str, language: ReportLanguage, change: bool = False) -> str:
    """Value and interval on two lines (the terminal table's cell)."""
    value = format_change(estimate.value, kind, language) if change else format_value(estimate.value, kind)
    return f"{value}\n{format_interval(estimate, kind, language, change)}"


def interval_notes(c: Comparison, language: ReportLanguage) -> list[str]:
    """What the intervals mean, and what they cannot say with few seeds."""
    t = language.t
    notes = [
        t(
            "Paired seeds {seeds}: for each seed every policy faces the same borrowers and the same luck. "
            "Value: the mean over the seeds; interval: a 95 % percentile bootstrap over the seeds "
            "(10,000 resamples, seeded), clamped to what the KPI can be (a rate within 0–100 %). "
            "B − A: the mean of the per-seed differences, with a paired bootstrap interval (a seed where "
            "either value is undefined is left out of the pairs).",
            seeds=", ".join(str(s) for s in c.seeds),
        )
    ]
    if len(c.seeds) < 2:
        notes.append(
            t(
                "One seed: no interval can be computed ({symbol}). Run with --seeds {enough} or more.",
                symbol=NOT_DEFINED,
                enough=ENOUGH_SEEDS,
            )
        )
    elif len(c.seeds) < ENOUGH_SEEDS:
        notes.append(
            t(
                "Only {n} seeds: a bootstrap over so few seeds gives intervals that are too narrow; "
                "use {enough} or more.",
                n=len(c.seeds),
                enough=ENOUGH_SEEDS,
            )
        )
    return notes
