"""`arrears sim compare`: policies side by side over paired seeds, as a terminal table and an HTML report.

Each (policy, seed) pair is one full simulation (sim/simulation.py) in a store of its own; the pairs run in
parallel processes. The seeds are paired: for one seed every policy faces the same borrowers (checked: the
generated portfolio's digest must agree) and the same luck (the behaviour's draws are keyed by seed, day
and loan; whether a call is answered by seed, borrower and day). Every figure is the mean over the seeds
with a 95 % percentile bootstrap interval over the seeds, and each challenger's difference from the first
policy (B − A) is the mean of the per-seed differences with a paired bootstrap interval
(domain/bootstrap.py), each clamped to what the quantity can be. One seed gives values and no interval.
The comparison itself (estimates, differences): domain/comparison.py; its text, HTML report and charts:
adapters/lab_report/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from arrears.domain.comparison import Comparison, PolicyRuns


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
