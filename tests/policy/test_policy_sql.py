"""Property: the policy's SQL (what the vectorised engines run) decides exactly what decide() decides."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.adapters.policy_file import load_policy
from arrears.domain.policy import Policy, PolicySql
from tests.policy.conftest import SHIPPED, SMALL, decisions_as_rows, load_text
from tests.policy.strategies import arrow_table, feature_rows


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> list[Policy]:
    return [*(load_policy(p) for p in SHIPPED.values()), load_text(SMALL, tmp_path_factory.mktemp("small"))]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _offsets(policy: Policy) -> list[int]:
    days = {s.offset for ladder in policy.ladders.values() for s in ladder.steps if s.offset is not None}
    return sorted({d + k for d in days for k in (-1, 0, 1)} | {-9999})


def _ids(policy: Policy) -> list[str]:
    return sorted(
        {s.id for ladder in policy.ladders.values() for s in ladder.steps} | {j.id for j in policy.jumps}
    )


accounts = st.lists(
    st.tuples(feature_rows, st.integers(0, 2**31), st.integers(0, 10**6)), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), drawn=accounts)
def test_sql_decides_like_decide(
    con: duckdb.DuckDBPyConnection, policies: list[Policy], data: st.DataObject, drawn: list
) -> None:
    for policy in policies:
        offsets, ids = _offsets(policy), _ids(policy)
        rows, histories = [], []
        for row, a, b in drawn:
            row = dict(row)
            row["day_offset"] = offsets[a % len(offsets)]
            histories.append([ids[(b >> k) % len(ids)] for k in range(b % 4)])
            rows.append(row)
        con.register(
            "features",
            arrow_table(rows, {"account_id": [f"acc-{i}" for i in range(len(rows))]}, engine_only=True),
        )
        pairs = [(f"acc-{i}", s) for i, h in enumerate(histories) for s in h]
        con.register(
            "sent",
            pa.table(
                {
                    "account_id": pa.array([p[0] for p in pairs], pa.string()),
                    "step_id": pa.array([p[1] for p in pairs], pa.string()),
                }
            ),
        )
        plan = PolicySql(policy)
        got_assigned = sorted(con.execute(plan.assignment_query("features")).fetchall())
        got_actions = sorted(con.execute(plan.actions_query("features", history="sent")).fetchall())
        want_assigned, want_actions = decisions_as_rows(policy, rows, histories)
        assert got_assigned == want_assigned, policy.id
        assert got_actions == want_actions, policy.id
