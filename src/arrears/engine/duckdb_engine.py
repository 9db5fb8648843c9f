"""The default engine: one compiled pass for the ledger and the features, then the policy as SQL in DuckDB.

Segments, the early-warning score, experiment arms, ladder steps, catch-ups and jumps are the policy's
compiled SQL (arrears.domain.policy.sql), run by DuckDB over the feature table: the assignment is computed
once into a table of just the columns the policy reads, keyed by the account's row number, and the actions
are read from it. Text goes back on the rows only at the end (the actions' loan ids, the assignment's
names), so a million accounts move through DuckDB as numbers.
"""

from __future__ import annotations

import threading
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.expressions import sql_string
from arrears.domain.policy.model import Policy
from arrears.domain.policy.sql import ASSIGNMENT_COLUMNS, PolicySql
from arrears.engine import ledger_kernel as kernel
from arrears.engine.arm_hash import arm_buckets
from arrears.engine.evaluation import ASSIGNMENT_SCHEMA, Evaluation, empty_history, kind_rank, normalise
from arrears.engine.model_scores import (
    LENDER_TABLE,
    needs_borrower_features,
    score_table,
    with_borrower_features,
    with_reasons,
)
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_features import features_of
from arrears.engine.vector_ledger import NONE_DAY, assess_portfolio

KEY = "_row"  # the account's position in the portfolio's loans table
_THREADS = [2]  # DuckDB's threads (and the compiled kernels', through numba)


_LOCAL = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB connection, opened once (opening one per run costs a part's worth of
    milliseconds); each run leaves it empty."""
    con: duckdb.DuckDBPyConnection | None = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    return con


def set_threads(threads: int) -> None:
    """How many threads the engine uses, in DuckDB and in the compiled kernels."""
    import numba

    _THREADS[0] = max(1, threads)
    numba.set_num_threads(min(_THREADS[0], numba.config.NUMBA_NUM_THREADS))


def features_with_keys(portfolio: Portfolio, as_of: date) -> pa.Table:
    """The feature table plus the columns the run keeps beside the features (borrower, anchor)."""
    assessment = assess_portfolio(portfolio, as_of)
    table = features_of(assessment)
    oldest = assessment[kernel.OLDEST_DUE]
    anchor = np.where(oldest == NONE_DAY, 0, oldest).astype(np.int32)
    anchor_arr = pa.array(anchor, pa.int32(), mask=oldest == NONE_DAY).cast(pa.date32())
    table = table.append_column("borrower_id", portfolio["loans"]["borrower_id"]).append_column(
        "anchor", anchor_arr
    )
    if needs_borrower_features(portfolio.models):
        table = with_borrower_features(table)
    scores = score_table(portfolio.models, table, portfolio.tables.get(LENDER_TABLE))
    for name in scores.column_names:
        table = table.append_column(name, scores[name])
    return table


def evaluate(
    portfolio: Portfolio, policy: Policy, as_of: date, history: pa.Table | None = None
) -> Evaluation:
    """Ledger, features, segment and the actions due on `as_of` for every account."""
    src = features_with_keys(portfolio, as_of)
    n = src.num_rows
    src = src.append_column(KEY, pa.array(np.arange(n, dtype=np.int64)))
    buckets = []
    for k, exp in enumerate(policy.experiments):
        buckets.append((exp.name, f"_bucket{k}"))
        src = src.append_column(f"_bucket{k}", pa.array(arm_buckets(exp.name, src["loan_id"])))
    sql = PolicySql(policy, account_column="loan_id", key_column=KEY, bucket_columns=tuple(buckets))
    con = _connection()
    try:
        con.execute(f"SET threads TO {_THREADS[0]}")
        con.register("src", src)
        con.register("hist_raw", history if history is not None else empty_history())
        con.execute(
            f"CREATE TEMP VIEW hist AS SELECT s.{KEY}, h.step_id FROM hist_raw h "
            "JOIN src s ON s.loan_id = h.loan_id AND s.anchor = h.anchor"
        )
        columns = sql.columns_read()
        coded = ", ".join(_enum(c, values) for c, values in _assignment_values(policy).items())
        assigned = con.sql(
            f"{sql.assignment_ctes('src', columns)}\nSELECT {KEY}, ews_score, {coded} FROM p_assigned"
        ).to_arrow_table()
        con.execute(f"CREATE TEMP TABLE candidates AS {sql.candidates_query('src')}")
        actions = con.sql(sql.actions_from_assigned("candidates", "hist")).to_arrow_table()
    finally:
        con.execute("DROP TABLE IF EXISTS candidates; DROP VIEW IF EXISTS hist")
        con.unregister("src")
        con.unregister("hist_raw")
    if not _in_row_order(assigned[KEY]):
        assigned = assigned.sort_by(KEY)
    scores = (
        with_reasons(portfolio.models, src, portfolio.tables.get(LENDER_TABLE)).sort_by("loan_id")
        if portfolio.models
        else None
    )
    assignments = src
    for column in ASSIGNMENT_COLUMNS:
        assignments = assignments.append_column(column, assigned[column])
    assignments = assignments.select(ASSIGNMENT_SCHEMA.names)
    loan_ids = portfolio["loans"]["loan_id"]
    actions = actions.append_column("_kind", kind_rank(actions["kind"])).sort_by(
        [(KEY, "ascending"), ("_kind", "ascending"), ("position", "ascending")]
    )
    actions = actions.append_column("loan_id", pc.take(loan_ids, actions[KEY])).drop_columns([KEY, "_kind"])
    evaluation = normalise(assignments, actions)
    evaluation.scores = scores
    return evaluation


def _assignment_values(policy: Policy) -> dict[str, list[str]]:
    """Every value each text column of the assignment can take."""
    ladders = {seg.ladder for seg in policy.segments if seg.ladder} | {
        arm.ladder for exp in policy.experiments for arm in exp.arms
    }
    return {
        "ews_level": ["low", "medium", "high"],
        "segment": [seg.name for seg in policy.segments],
        "experiment": ["", *(exp.name for exp in policy.experiments)],
        "arm": ["", *sorted({arm.name for exp in policy.experiments for arm in exp.arms})],
        "ladder": ["", *sorted(ladders)],
    }


def _enum(column: str, values: list[str]) -> str:
    """The column as a DuckDB ENUM: it comes back as an Arrow dictionary, not a string per row."""
    quoted = ", ".join(sql_string(v) for v in dict.fromkeys(values))
    return f'CAST("{column}" AS ENUM({quoted})) AS "{column}"'


def _in_row_order(rows: pa.ChunkedArray) -> bool:
    got = np.asarray(rows.to_numpy(), dtype=np.int64)
    return bool(np.array_equal(got, np.arange(len(got))))
