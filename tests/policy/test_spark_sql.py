"""The same SQL on Spark (local mode): conditions and the policy queries agree with Python.

Spark runs with ANSI mode (the default since 4.0), so integer overflow fails instead of wrapping.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.policy_file import load_policy
from arrears.domain.expressions import SPARK, parse_expression
from arrears.domain.features import FEATURES, FeatureType, FeatureValue
from arrears.domain.policy import PolicySql
from tests.policy.conftest import SHIPPED, SMALL, decisions_as_rows, load_text
from tests.policy.strategies import SCHEMA, arrow_table

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark() -> Any:
    """The engine's own local session: started once per test process, shared with the engine tests."""
    from arrears.engine.spark_engine import session

    return session()


def _rows(n: int, seed: int) -> list[dict[str, FeatureValue]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row: dict[str, FeatureValue] = {}
        for name, f in FEATURES.items():
            if f.type is FeatureType.BOOL:
                row[name] = rng.random() < 0.25
            elif f.type is FeatureType.STR:
                known = sorted(SCHEMA.known_values(name)) or ["baitiao-30d", "baitiao-3"]
                row[name] = rng.choice(known)
            elif f.type is FeatureType.MONEY:
                row[name] = rng.choice([0, 9_999, 10_000, 50_000, rng.randrange(10**9)])
            elif f.type is FeatureType.RATIO:
                row[name] = rng.choice([0, 8_000, 9_000, 10_000, rng.randrange(10_001)])
            else:
                row[name] = rng.choice(
                    [-9999, -3, -1, 0, 1, 2, 5, 7, 11, 25, 30, 31, 45, 61, 9999, rng.randrange(-40, 400)]
                )
        rows.append(row)
    return rows


def _frame(spark: Any, rows: list[dict[str, FeatureValue]]) -> Any:
    ids = [f"acc-{i}" for i in range(len(rows))]
    return spark.createDataFrame(arrow_table(rows, {"account_id": ids}, engine_only=True))


CONDITIONS = [
    "overdue_total > 500 and on_time_ratio >= 0.9",
    "overdue_total / outstanding_total >= 0.5 or dpd / 7 > 2.5",
    "(overdue_principal * 2 - 3.5) / 3 < -7.25 or -dpd + 5 * 2 > -100",
    "overdue_total * on_time_ratio > 1000 and not hardship",
    "bucket in ['M1', 'M2'] or last_contact_outcome not in ['none', 'refused']",
    "day_offset / -3 == -3 or max_dpd_12m - dpd > 30",
    "late_fee / 3 * 3 != late_fee",
]


def test_conditions_agree_on_spark(spark: Any) -> None:
    rows = _rows(300, seed=1)
    _frame(spark, rows).createOrReplaceTempView("features")
    exprs = [parse_expression(text, SCHEMA) for text in CONDITIONS]
    columns = ", ".join(e.to_sql(SPARK) for e in exprs)  # one query: each costs seconds on Spark
    got = {r[0]: tuple(r[1:]) for r in spark.sql(f"SELECT account_id, {columns} FROM features").collect()}
    for i, row in enumerate(rows):
        assert got[f"acc-{i}"] == tuple(e.evaluate(row) for e in exprs), row


def test_policy_queries_agree_on_spark(spark: Any, tmp_path: Path) -> None:
    # segmented has every construct but competing catch-up steps, which the small policy has
    policies = [load_policy(SHIPPED["segmented"]), load_text(SMALL, tmp_path)]
    rows = _rows(400, seed=2)
    _frame(spark, rows).createOrReplaceTempView("features")
    for policy in policies:
        ids = sorted(
            {s.id for lad in policy.ladders.values() for s in lad.steps} | {j.id for j in policy.jumps}
        )
        rng = random.Random(3)
        histories = [rng.sample(ids, rng.choice([0, 0, 1, 3])) for _ in rows]
        spark.createDataFrame(
            [(f"acc-{i}", s) for i, h in enumerate(histories) for s in h] or [("nobody", "none")],
            "account_id string, step_id string",
        ).createOrReplaceTempView("sent")
        got = sorted(
            tuple(r) for r in spark.sql(PolicySql(policy, SPARK).actions_query("features", "sent")).collect()
        )
        _, want = decisions_as_rows(policy, rows, histories)
        assert got == want, policy.id
        assert len(want) > 20  # the sample exercises steps, catch-ups and jumps
