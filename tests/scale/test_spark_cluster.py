"""The daily run on a real Spark standalone cluster (a master and two workers on 127.0.0.1, started here
with the launchers pyspark ships): the same outbox as the DuckDB engine, row for row, and the same
evaluation as DuckDB and the reference engine on generated portfolios."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, create_engine, select

from arrears.domain.loans import Loan
from arrears.engine.duckdb_engine import evaluate as on_duckdb
from arrears.engine.evaluation import HISTORY_SCHEMA
from arrears.engine.portfolio import SCHEMAS, portfolio_from_loans
from arrears.engine.reference import evaluate as on_reference
from arrears.sim.portfolio import generate_portfolio, load_portfolio
from tests.engine.test_engines_agree import POLICIES, assert_same
from tests.engine.test_vector_features import events_strategy
from tests.scale.spark_cluster import java_available, standalone_cluster
from tests.unit.ledger_strategies import START, as_of_dates, loans

pytestmark = pytest.mark.slow
AS_OF = date(2026, 3, 31)
# What differs between two stores by construction, not by the engine: row ids and wall-clock stamps.
NOT_COMPARED = {"id", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def spark_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("pyspark")
    if not java_available() and os.environ.get("CI") != "true":
        pytest.skip("no java on PATH for the Spark cluster")
    from arrears.engine import spark_engine

    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), workers=2) as url:
        try:
            yield url
        finally:
            spark_engine.use_master(None)  # stop this cluster's session; later tests get local mode


def _outbox(url: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    table = MetaData()
    table.reflect(engine, only=["outbox"])
    outbox = table.tables["outbox"]
    with engine.connect() as c:
        rows = c.execute(select(outbox).order_by(outbox.c.idempotency_key)).mappings().all()
    engine.dispose()
    return [{k: v for k, v in row.items() if k not in NOT_COMPARED} for row in rows]


def test_spark_cluster_outbox_equals_duckdb(
    spark_master: str, tmp_path: Path, cli: Callable[..., object]
) -> None:
    stores = {}
    for engine in ("duckdb", "spark"):
        (tmp_path / f"{engine}.db").touch()
        stores[engine] = f"sqlite:///{tmp_path}/{engine}.db"
        load_portfolio(generate_portfolio(400, 21, AS_OF), stores[engine])

    duck = cli("run", "--as-of", "2026-03-31", "--engine", "duckdb", "--db", stores["duckdb"], "--json")
    assert duck.code == 0, duck.stderr
    spark = cli(
        "run", "--as-of", "2026-03-31", "--engine", "spark", "--spark-master", spark_master,
        "--db", stores["spark"], "--json",
    )  # fmt: skip
    assert spark.code == 0, spark.stderr

    from arrears.engine.spark_engine import session

    assert session().sparkContext.master == spark_master  # the run went to the cluster, not local mode
    summary = json.loads(spark.stdout)
    assert summary["engine"] == "spark" and summary["accounts"] >= 400
    assert summary["written"] == summary["planned"] > 0
    expected = _outbox(stores["duckdb"])
    assert len(expected) == summary["planned"]
    assert _outbox(stores["spark"]) == expected


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.tuples(loans(), events_strategy), min_size=1, max_size=8),
    as_of_dates,
    st.sampled_from(sorted(POLICIES)),
    st.data(),
)
def test_spark_cluster_equals_duckdb_equals_reference(
    spark_master: str, accounts, as_of: date, policy_name: str, data
) -> None:  # type: ignore[no-untyped-def]
    from arrears.engine import spark_engine

    spark_engine.use_master(spark_master)
    built = [
        Loan(f"L{i}", ln.instalments, ln.payments, ln.pauses, ln.waivers, ln.settings)
        for i, (ln, _) in enumerate(accounts)
    ]
    portfolio = portfolio_from_loans(built)
    portfolio.tables["events"] = pa.Table.from_pylist(
        [
            {"loan_id": f"L{i}", "kind": e.kind, "on": e.on, "outcome": e.outcome}
            for i, (_, events) in enumerate(accounts)
            for e in events
        ],
        schema=SCHEMAS["events"],
    )
    policy = POLICIES[policy_name]
    step_ids = sorted(
        {s.id for lad in policy.ladders.values() for s in lad.steps} | {j.id for j in policy.jumps}
    )
    drawn = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(built) - 1), st.sampled_from(step_ids), st.integers(0, 120)),
            max_size=6,
        )
    )
    history = pa.Table.from_pylist(
        [{"loan_id": f"L{i}", "step_id": s, "anchor": START + timedelta(days=d)} for i, s, d in drawn],
        schema=HISTORY_SCHEMA,
    )
    reference = on_reference(portfolio, policy, as_of, history)
    assert_same(reference, on_duckdb(portfolio, policy, as_of, history))
    assert_same(reference, spark_engine.evaluate(portfolio, policy, as_of, history))
    assert spark_engine.session().sparkContext.master == spark_master


def test_spark_cluster_reads_snapshot_parts_itself(spark_master: str, tmp_path: Path) -> None:
    """Parts on a filesystem URI (here file://; s3:// or hdfs:// alike), read by the executors one task per
    part: the same evaluation as DuckDB over the whole portfolio."""
    from arrears.engine import spark_engine
    from arrears.engine.snapshot_dir import write_portfolio_snapshot

    spark_engine.use_master(spark_master)
    portfolio = generate_portfolio(300, 5, AS_OF).engine_portfolio()
    policy = POLICIES["segmented"]
    manifest = write_portfolio_snapshot(portfolio, tmp_path / "snap", 160, as_of=AS_OF)
    assert len(manifest.parts) >= 3
    on_cluster = spark_engine.evaluate_snapshot(f"file://{tmp_path / 'snap'}", policy, AS_OF)
    expected = on_duckdb(portfolio, policy, AS_OF, None)
    assert expected.actions.num_rows > 0
    assert_same(expected, on_cluster)
