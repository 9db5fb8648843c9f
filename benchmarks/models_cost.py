"""What the risk models cost the daily run: the DuckDB engine over a store's portfolio with no model, and
with two active models (a scorecard and a LightGBM model, as recorded in the store).

    python benchmarks/models_cost.py --db sqlite:///lab.db --as-of 2026-06-30 [--repeat 5] [--copies 1]

--copies K repeats the portfolio K times (loan ids suffixed) to measure a larger run. Prints the median wall
and CPU time (the process's, all threads) of each: on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from arrears.adapters.policy_file import load_policy
from arrears.bootstrap import configure
from arrears.engine.duckdb_engine import evaluate
from arrears.engine.portfolio import Portfolio
from arrears.services.models import scoring_model
from arrears.services.unit_of_work import UnitOfWork


def copied(tables: dict[str, pa.Table], copies: int) -> dict[str, pa.Table]:
    if copies == 1:
        return tables
    out = {}
    for name, table in tables.items():
        parts = []
        for k in range(copies):
            t = table
            for column in ("loan_id", "borrower_id"):
                if column in t.column_names:
                    i = t.schema.get_field_index(column)
                    t = t.set_column(
                        i, column, pc.binary_join_element_wise(t[column], pa.scalar(f"-{k}"), "")
                    )
            parts.append(t)
        out[name] = pa.concat_tables(parts)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--policy", default="policies/segmented-scored.yaml")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    configure()
    policy = load_policy(args.policy)
    with UnitOfWork(args.db) as uow:
        tables = copied(dict(uow.snapshot(args.as_of)), args.copies)
        records = uow.models.all()
    card = max((r for r in records if r.family == "scorecard"), key=lambda r: r.created_at)
    gbm = max((r for r in records if r.family == "gbm"), key=lambda r: r.created_at)
    models = (
        scoring_model(card.id, json.loads(card.document)),
        replace(scoring_model(gbm.id, json.loads(gbm.document)), target="roll_30d"),
    )
    wall: dict[str, list[float]] = {"no model": [], "two models": []}
    cpu: dict[str, list[float]] = {"no model": [], "two models": []}
    for _ in range(args.repeat + 1):  # the first round warms the compiled kernels
        for label, active in (("no model", ()), ("two models", models)):
            portfolio = Portfolio(dict(tables), dict(policy.products), active)
            t0, c0 = time.perf_counter(), time.process_time()
            evaluate(portfolio, policy, args.as_of)
            wall[label].append(time.perf_counter() - t0)
            cpu[label].append(time.process_time() - c0)
    accounts = tables["loans"].num_rows
    for name, timings in (("wall", wall), ("CPU", cpu)):
        base = statistics.median(timings["no model"][1:])
        scored = statistics.median(timings["two models"][1:])
        print(
            f"{accounts} accounts, {name} time: no model {base:.3f} s, two models {scored:.3f} s "
            f"({scored / base:.2f}x)"
        )
    with open("/proc/loadavg", encoding="ascii") as load:
        print(f"load average {load.read().split()[0]}")


if __name__ == "__main__":
    main()
