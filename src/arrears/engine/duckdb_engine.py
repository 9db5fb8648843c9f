"""The default engine: the compiled ledger kernel and column-wise features, then the policy as SQL in DuckDB.

Segments, the early-warning score, experiment arms, ladder steps, catch-ups and jumps are the policy's
compiled SQL (arrears.domain.policy.sql), run by DuckDB over the feature table in one query each.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from arrears.domain.policy.model import Policy
from arrears.domain.policy.sql import PolicySql
from arrears.engine.plan import ASSIGNMENT_SCHEMA, Evaluation, empty_history, normalise
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_features import feature_table
from arrears.engine.vector_ledger import NONE_DAY, compute_ledger


def features_with_keys(portfolio: Portfolio, as_of: date) -> pa.Table:
    """The feature table plus the columns the run keeps beside the features (borrower, anchor, totals)."""
    ledger = compute_ledger(portfolio, as_of)
    table = feature_table(portfolio, ledger, as_of)
    anchor = np.where(ledger.oldest_unpaid_due == NONE_DAY, 0, ledger.oldest_unpaid_due).astype(np.int32)
    anchor_arr = pa.array(anchor, pa.int32(), mask=ledger.oldest_unpaid_due == NONE_DAY).cast(pa.date32())
    return table.append_column("borrower_id", portfolio["loans"]["borrower_id"]).append_column(
        "anchor", anchor_arr
    )


def evaluate(
    portfolio: Portfolio, policy: Policy, as_of: date, history: pa.Table | None = None
) -> Evaluation:
    """Ledger, features, segment and the actions due on `as_of` for every account."""
    src = features_with_keys(portfolio, as_of)
    sql = PolicySql(policy, account_column="loan_id")
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.register("src", src)
        con.register("hist_raw", history if history is not None else empty_history())
        con.execute(
            "CREATE TEMP VIEW hist AS SELECT h.loan_id, h.step_id FROM hist_raw h "
            "JOIN src s ON s.loan_id = h.loan_id AND s.anchor = h.anchor"
        )
        cols = ", ".join(f'"{c}"' for c in ASSIGNMENT_SCHEMA.names)
        assignments = con.sql(f"{sql.assignment_ctes('src')}\nSELECT {cols} FROM p_assigned").to_arrow_table()
        actions = con.sql(sql.actions_query("src", "hist")).to_arrow_table()
    finally:
        con.close()
    return normalise(assignments, actions)
