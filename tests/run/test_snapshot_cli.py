"""`arrears snapshot export` and `arrears snapshot plan`: the store as of a day written as account parts,
then the policy planned over them on worker processes — the same actions the engine finds on the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrears.adapters.policy_file import load_policy
from arrears.adapters.store.snapshot import snapshot
from arrears.engine.evaluation import accidental_legal_actions
from arrears.engine.evaluators import evaluator
from arrears.engine.portfolio import Portfolio
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.portfolio import generate_portfolio, load_portfolio

ROOT = Path(__file__).parents[2]
AS_OF = date(2026, 3, 31)
POLICY = ROOT / "policies" / "segmented.yaml"


@pytest.fixture
def loaded(store_url: str) -> str:
    load_portfolio(generate_portfolio(500, 7, AS_OF), store_url)
    return store_url


def test_export_then_plan_finds_what_the_engine_finds_on_the_store(loaded: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "snap"
    exported = cli(
        "snapshot",
        "export",
        "--as-of",
        "2026-03-31",
        "--out",
        str(out),
        "--part-accounts",
        "300",
        "--policy",
        str(POLICY),
        "--json",
    )
    assert exported.code == 0, exported.stderr
    figures = json.loads(exported.stdout)
    assert figures["parts"] == -(-figures["accounts"] // 300) >= 2

    planned = cli("snapshot", "plan", str(out), "--policy", str(POLICY), "--workers", "2", "--json")
    assert planned.code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    policy = load_policy(POLICY)
    with UnitOfWork(loaded) as uow:
        tables = snapshot(uow.connection, AS_OF)
    expected = evaluator("duckdb")(Portfolio(dict(tables), dict(policy.products)), policy, AS_OF, None)
    assert plan["accounts"] == expected.assignments.num_rows == figures["accounts"]
    assert plan["actions"] == expected.actions.num_rows > 0
    assert sum(plan["segments"].values()) == plan["accounts"]
    assert plan["accidental_late_payers"] == accidental_legal_actions(expected, tables["borrowers"])
    assert Path(plan["out"]) == tmp_path / "snap-plan-2026-03-31"
    files = sorted(Path(plan["out"]).glob("outbox-part-*.parquet"))
    assert len(files) == figures["parts"]
    got = pa.concat_tables([pq.read_table(f) for f in files]).sort_by([("loan_id", "ascending")])
    assert sorted(got["step_id"].to_pylist()) == sorted(expected.actions["step_id"].to_pylist())
    assert set(got["loan_id"].to_pylist()) == set(expected.actions["loan_id"].to_pylist())


def test_planning_another_day_than_the_snapshot_holds_is_refused(loaded: str, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "snap"
    assert cli("snapshot", "export", "--as-of", "2026-03-31", "--out", str(out)).code == 0
    later = cli("snapshot", "plan", str(out), "--as-of", "2026-04-30")
    assert later.code == 2
    assert "2026-03-31" in later.stderr and "--as-of" in later.stderr
    missing = cli("snapshot", "plan", str(tmp_path / "nowhere"))
    assert missing.code == 2 and "Traceback" not in missing.stderr
