"""A run over a snapshot directory on worker processes: the same actions as part by part in one process,
an outbox file per part, and errors in a worker reported, not hung on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrears.adapters.policy_file import load_policy
from arrears.domain.errors import InputError
from arrears.engine.evaluation import count_by
from arrears.engine.evaluators import evaluator
from arrears.engine.snapshot_dir import read_parts
from arrears.engine.snapshot_run import OUTBOX_FILE, run_snapshot, worker_count
from arrears.entrypoints.daily_run_bench import BENCH_AS_OF, policy_loader, write_generated_snapshot

POLICY_FILE = Path(__file__).parents[2] / "policies" / "segmented.yaml"


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("snapshots") / "snapshot-1500"
    write_generated_snapshot(directory, 1500, part_accounts=500, quiet=True)
    return directory


def test_workers_write_what_one_process_finds_part_by_part(snapshot: Path, tmp_path: Path) -> None:
    seen: list[str] = []
    done = run_snapshot(
        snapshot,
        policy_loader(POLICY_FILE),
        BENCH_AS_OF,
        tmp_path / "outbox",
        workers=2,
        on_part=lambda p: seen.append(p.part),
    )
    assert (done.accounts, done.parts, done.workers) == (1500, 3, 2)
    assert sorted(seen) == ["part-00000", "part-00001", "part-00002"]
    run, policy = evaluator("duckdb"), load_policy(POLICY_FILE)
    expected_segments: dict[str, int] = {}
    total = 0
    for name, part in zip(sorted(seen), read_parts(snapshot), strict=True):
        here = run(part, policy, BENCH_AS_OF, None)
        written = pq.read_table(tmp_path / "outbox" / OUTBOX_FILE.format(part=name))
        assert written.to_pylist() == here.actions.to_pylist()
        total += here.actions.num_rows
        for segment, n in count_by(here.assignments, "segment").items():
            expected_segments[segment] = expected_segments.get(segment, 0) + n
    assert done.actions == total > 0
    assert done.segments == expected_segments
    assert done.seconds > 0 and done.peak_rss_mb > 0


def test_a_bad_policy_is_reported_before_any_worker_starts(snapshot: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nsegments: []\n")
    with pytest.raises(InputError):
        run_snapshot(snapshot, policy_loader(bad), BENCH_AS_OF, tmp_path / "outbox", workers=2)


def test_a_broken_part_is_an_error_from_the_worker_not_a_hang(snapshot: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(snapshot, broken)
    (broken / "part-00001" / "payments.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(InputError) as caught:
        run_snapshot(broken, policy_loader(POLICY_FILE), BENCH_AS_OF, tmp_path / "outbox", workers=2)
    assert "payments.arrow" in str(caught.value.file or caught.value)


def test_how_many_workers_run() -> None:
    assert worker_count("duckdb", 4, 3) == 3  # never more than the parts
    assert worker_count("duckdb", 2, 10) == 2
    assert worker_count("spark", 2, 10) == 1  # Spark has its own executors
    assert 1 <= worker_count("duckdb", None, 10) <= 10
    with pytest.raises(InputError):
        worker_count("duckdb", 0, 10)


def test_accidental_late_payers_legal_actions_are_counted_column_wise() -> None:
    from arrears.engine.evaluation import (
        ACTION_SCHEMA,
        ASSIGNMENT_SCHEMA,
        Evaluation,
        accidental_legal_actions,
    )

    def row(schema: pa.Schema, **values: object) -> dict[str, object]:
        return {f.name: values.get(f.name) for f in schema}

    assignments = pa.Table.from_pylist(
        [
            row(ASSIGNMENT_SCHEMA, loan_id="L1", borrower_id="B1"),
            row(ASSIGNMENT_SCHEMA, loan_id="L2", borrower_id="B2"),
        ],
        schema=ASSIGNMENT_SCHEMA,
    )
    actions = pa.Table.from_pylist(
        [
            row(ACTION_SCHEMA, loan_id="L1", channel="lawyer_letter", tone="legal"),
            row(ACTION_SCHEMA, loan_id="L1", channel="sms", tone="legal"),
            row(ACTION_SCHEMA, loan_id="L1", channel="sms", tone="gentle"),
            row(ACTION_SCHEMA, loan_id="L2", channel="lawyer_letter", tone="legal"),  # a strategic defaulter
        ],
        schema=ACTION_SCHEMA,
    )
    borrowers = pa.table({"borrower_id": ["B1", "B2"], "persona": ["forgetful", "strategic"]})
    got = accidental_legal_actions(Evaluation(assignments, actions), borrowers)
    assert got == {"lawyer_letter": 1, "legal_tone": 2}
