"""The Spark engine: the same plan on a cluster (local mode in tests; `pip install arrears[spark]`).

Each account's rows travel together as one nested row (instalments, payments, pauses, waivers, events as
lists), so a partition holds whole accounts. `mapInArrow` runs the same ledger kernel and column features
on every partition; the policy's compiled Spark SQL then decides segments and actions.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.errors import InputError
from arrears.domain.policy.model import Policy
from arrears.domain.policy.sql import PolicySql
from arrears.domain.products import LedgerSettings
from arrears.engine.duckdb_engine import features_with_keys
from arrears.engine.evaluation import ASSIGNMENT_SCHEMA, Evaluation, empty_history, normalise
from arrears.engine.portfolio import SCHEMAS, Portfolio
from arrears.engine.snapshot_dir import read_manifest

CHILDREN = ("instalments", "payments", "pauses", "waivers", "events")


def pack(portfolio: Portfolio) -> pa.Table:
    """One row per loan, each child table as list columns named `<table>__<column>`."""
    portfolio = portfolio.decoded()
    packed = portfolio["loans"]
    for name in CHILDREN:
        table = portfolio[name]
        cols = [c for c in table.column_names if c != "loan_id"]
        grouped = table.group_by("loan_id", use_threads=False).aggregate([(c, "list") for c in cols])
        at = pc.index_in(packed["loan_id"], grouped["loan_id"])  # null where a loan has no rows
        for c in cols:
            packed = packed.append_column(f"{name}__{c}", pc.take(grouped[f"{c}_list"], at))
    return packed


def unpack(packed: pa.Table, products: Mapping[str, LedgerSettings]) -> Portfolio:
    """The inverse of `pack` for one batch of accounts."""
    tables: dict[str, pa.Table] = {"loans": packed.select(SCHEMAS["loans"].names)}
    for name in CHILDREN:
        schema = SCHEMAS[name]
        own = [c for c in schema.names if c != "loan_id"]
        parents = pc.list_parent_indices(packed[f"{name}__{own[0]}"].combine_chunks())
        cols: dict[str, Any] = {"loan_id": pc.take(packed["loan_id"], parents)}
        for col in own:
            cols[col] = pc.list_flatten(packed[f"{name}__{col}"].combine_chunks())
        tables[name] = pa.table(cols).select(schema.names).cast(schema)
    return Portfolio(tables, dict(products))


MASTER_SCHEMES = ("local", "spark://", "yarn", "k8s://")
_chosen_master: str | None = None


def use_master(url: str | None) -> None:
    """Run on the cluster at `url` (spark://host:port, yarn, k8s://https://host:port or local[N]) from now
    on, instead of SPARK_MASTER or local mode (None: back to those); a session on another master is stopped
    first."""
    global _chosen_master
    if url is not None and not url.startswith(MASTER_SCHEMES):
        raise InputError(
            f"not a Spark master URL: {url!r} (spark://host:port, yarn, k8s://https://host:port or local[N])",
            field="--spark-master",
        )
    if url != _chosen_master:
        if session.cache_info().currsize:
            session().stop()
            session.cache_clear()
        _chosen_master = url


def master() -> str:
    """The master the next session runs on: use_master's, else SPARK_MASTER, else local mode."""
    return _chosen_master or os.environ.get("SPARK_MASTER", "local[2]")


@lru_cache(maxsize=1)
def session() -> Any:
    """A Spark session on `master()` (or the one spark-submit gave us)."""
    from pyspark.sql import SparkSession

    # Workers must run the same interpreter (and so see the same packages) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("arrears")
        .master(master())
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def evaluate(
    portfolio: Portfolio, policy: Policy, as_of: date, history: pa.Table | None = None
) -> Evaluation:
    """Ledger, features, segment and the actions due on `as_of` for every account, on Spark."""

    spark = session()
    products = {c: portfolio.settings_for(c) for c in set(portfolio["loans"]["product"].to_pylist())}
    packed = pack(portfolio)
    feature_schema = _plain(features_with_keys(unpack(packed.slice(0, 0), products), as_of).schema)

    def per_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                table = features_with_keys(unpack(pa.Table.from_batches([batch]), products), as_of)
                yield from table.cast(feature_schema).to_batches()

    partitions = max(2, min(64, portfolio.account_count // 50_000 + 1))
    frame = spark.createDataFrame(packed).repartition(partitions)
    features = frame.mapInArrow(per_partition, _spark_schema(feature_schema)).localCheckpoint()
    return _decide(spark, features, policy, history)


def evaluate_snapshot(
    snapshot: str, policy: Policy, as_of: date, history: pa.Table | None = None
) -> Evaluation:
    """The same evaluation over a snapshot directory the executors read themselves, one task per part: a
    local path or any pyarrow filesystem URI (file://, s3://, gs://, hdfs://), so a national portfolio never
    passes through the driver. Each task copies its part to its own scratch space and runs the kernel on it."""
    from pyarrow import fs

    filesystem, root = fs.FileSystem.from_uri(snapshot if "://" in snapshot else os.path.abspath(snapshot))
    with tempfile.TemporaryDirectory(prefix="arrears-manifest-") as local:
        fs.copy_files(f"{root}/manifest.json", f"{local}/manifest.json", source_filesystem=filesystem)
        manifest = read_manifest(local)
    if manifest.as_of is not None and manifest.as_of != as_of:
        raise InputError(f"the snapshot holds {manifest.as_of}, not {as_of}", field="--as-of")
    empty = Portfolio({name: schema.empty_table() for name, schema in SCHEMAS.items()}, {})
    feature_schema = _plain(features_with_keys(empty, as_of).schema)
    source = snapshot if "://" in snapshot else os.path.abspath(snapshot)

    def per_part(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyarrow import fs as task_fs

        from arrears.engine.snapshot_dir import read_part

        part_fs, part_root = task_fs.FileSystem.from_uri(source)
        for batch in batches:
            for part, accounts in zip(batch["dir"].to_pylist(), batch["accounts"].to_pylist(), strict=True):
                with tempfile.TemporaryDirectory(prefix="arrears-part-") as scratch:
                    task_fs.copy_files(f"{part_root}/{part}", scratch, source_filesystem=part_fs)
                    table = features_with_keys(read_part(Path(scratch), accounts), as_of)
                yield from table.cast(feature_schema).to_batches()

    spark = session()
    parts = spark.createDataFrame(
        [(p.dir, p.accounts) for p in manifest.parts], "dir string, accounts long"
    ).repartition(max(1, len(manifest.parts)))
    features = parts.mapInArrow(per_part, _spark_schema(feature_schema)).localCheckpoint()
    return _decide(spark, features, policy, history)


def _decide(spark: Any, features: Any, policy: Policy, history: pa.Table | None) -> Evaluation:
    """Segments and the actions due, by the policy's Spark SQL over the accounts' features."""
    from arrears.domain.expressions import SPARK

    features.createOrReplaceTempView("src")
    spark.createDataFrame(history if history is not None else empty_history()).createOrReplaceTempView(
        "hist_raw"
    )
    spark.sql(
        "SELECT h.loan_id, h.step_id FROM hist_raw h JOIN src s ON s.loan_id = h.loan_id AND s.anchor = h.anchor"
    ).createOrReplaceTempView("hist")
    sql = PolicySql(policy, dialect=SPARK, account_column="loan_id")
    cols = ", ".join(f"`{c}`" for c in ASSIGNMENT_SCHEMA.names)
    assignments = spark.sql(f"{sql.assignment_ctes('src')}\nSELECT {cols} FROM p_assigned").toArrow()
    actions = spark.sql(sql.actions_query("src", "hist")).toArrow()
    return normalise(assignments, actions)


def _plain(schema: pa.Schema) -> pa.Schema:
    """The schema with dictionary-encoded columns as their values (Spark's Arrow reader takes no
    dictionaries)."""
    return pa.schema(
        [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    )


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
