"""The daily run end to end through the store (SQLite and PostgreSQL): outbox, run record, idempotency."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from arrears.adapters.store.run_models import OutboxRow, RunRow
from arrears.sim.portfolio import generate_portfolio, load_portfolio

ROOT = Path(__file__).parents[2]
AS_OF = date(2026, 3, 31)


@pytest.fixture
def loaded(store_url: str) -> str:
    load_portfolio(generate_portfolio(600, 21, AS_OF), store_url)
    return store_url


def _count(url: str, model: type) -> int:
    engine = create_engine(url)
    with engine.connect() as c:
        n = c.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(n)


def _outbox(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(
            select(
                OutboxRow.idempotency_key,
                OutboxRow.status,
                OutboxRow.segment,
                OutboxRow.template,
                OutboxRow.arm,
                OutboxRow.anchor,
            ).order_by(OutboxRow.idempotency_key)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_run_writes_the_outbox_once(loaded: str, cli: Callable[..., object]) -> None:
    first = cli("run", "--as-of", "2026-03-31", "--json")
    assert first.code == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["planned"] > 0 and summary["written"] == summary["planned"]
    assert summary["accounts"] >= 600
    assert sum(summary["segments"].values()) == summary["accounts"]
    outbox = _outbox(loaded)
    assert len(outbox) == summary["planned"]
    # cancelled: a freeze_line step of an account under no credit line has no line to freeze (docs/books.md)
    assert {r[1] for r in outbox} <= {"pending", "awaiting_approval", "deferred", "blocked", "cancelled"}

    again = json.loads(cli("run", "--as-of", "2026-03-31", "--json").stdout)
    assert again["written"] == 0 and again["already_run"] is True
    assert again["planned"] == summary["planned"]
    assert _outbox(loaded) == outbox
    assert _count(loaded, RunRow) == 1


def test_catching_up_never_plans_a_step_twice_in_one_episode(loaded: str, cli: Callable[..., object]) -> None:
    result = cli("run", "--as-of", "2026-03-25", "--through", "2026-03-31", "--json")
    assert result.code == 0, result.stderr
    days = json.loads(result.stdout)
    assert [d["as_of"] for d in days] == [f"2026-03-{d}" for d in range(25, 32)]
    engine = create_engine(loaded)
    with engine.connect() as c:
        dupes = c.execute(
            select(OutboxRow.loan_id, OutboxRow.step_id, OutboxRow.anchor, func.count())
            .group_by(OutboxRow.loan_id, OutboxRow.step_id, OutboxRow.anchor)
            .having(func.count() > 1)
        ).all()
    engine.dispose()
    assert dupes == []
    assert _count(loaded, RunRow) == 7
    rerun = json.loads(cli("run", "--as-of", "2026-03-25", "--through", "2026-03-31", "--json").stdout)
    assert sum(d["written"] for d in rerun) == 0


def test_dry_run_writes_nothing_and_compares_policies(loaded: str, cli: Callable[..., object]) -> None:
    results = {}
    for name in ("jd-baitiao-11day", "segmented"):
        out = cli(
            "run",
            "--as-of",
            "2026-03-01",
            "--through",
            "2026-03-31",
            "--dry-run",
            "--json",
            "--policy",
            str(ROOT / "policies" / f"{name}.yaml"),
        )
        assert out.code == 0, out.stderr
        results[name] = sum(d["accidental_late_payers"]["lawyer_letter"] for d in json.loads(out.stdout))
    assert _count(loaded, OutboxRow) == 0 and _count(loaded, RunRow) == 0
    assert results["segmented"] == 0
    assert results["jd-baitiao-11day"] >= results["segmented"]


def test_reference_and_duckdb_write_the_same_outbox(
    tmp_path: Path, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio = generate_portfolio(300, 8, AS_OF)
    urls = {}
    for engine_name in ("reference", "duckdb"):
        url = f"sqlite:///{tmp_path}/{engine_name}.db"
        load_portfolio(portfolio, url)
        monkeypatch.setenv("ARREARS_DB_URL", url)
        assert (
            cli(
                "run", "--as-of", "2026-03-29", "--through", "2026-03-31", "--engine", engine_name, "--json"
            ).code
            == 0
        )
        urls[engine_name] = url
    assert _outbox(urls["reference"]) == _outbox(urls["duckdb"])
    assert len(_outbox(urls["duckdb"])) > 0


def test_a_failed_run_leaves_the_store_as_it_was(
    loaded: str, cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from arrears.services import daily_run

    write = daily_run._write

    def broken(*args: object, **kwargs: object) -> None:
        write(*args, **kwargs)  # the outbox rows and the run record are written, then the run fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(daily_run, "_write", broken)
    with pytest.raises(RuntimeError):
        cli("run", "--as-of", "2026-03-31")
    assert _count(loaded, OutboxRow) == 0 and _count(loaded, RunRow) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--as-of", "2026-03-31", "--through", "2026-03-01"), "before --as-of"),
        (("--as-of", "2026-02-30"), "--as-of"),
        (("--as-of", "2026-03-31", "--engine", "pandas"), "unknown engine"),
        (("--as-of", "2026-03-31", "--policy", "nope.yaml"), "nope.yaml"),
    ],
)
def test_bad_input_exits_2(
    store_url: str, cli: Callable[..., object], args: tuple[str, ...], message: str
) -> None:
    result = cli("run", *args)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_policy_explain_for_a_stored_account_agrees_with_the_run(
    loaded: str, cli: Callable[..., object]
) -> None:
    assert cli("run", "--as-of", "2026-03-30", "--json").code == 0
    summary = json.loads(cli("run", "--as-of", "2026-03-31", "--json").stdout)
    assert summary["planned"] > 0
    engine = create_engine(loaded)
    with engine.connect() as c:
        (loan_id,) = c.execute(
            select(OutboxRow.loan_id).where(OutboxRow.as_of == date(2026, 3, 31)).limit(1)
        ).one()
        planned = {
            r[0]
            for r in c.execute(
                select(OutboxRow.step_id).where(
                    OutboxRow.loan_id == loan_id, OutboxRow.as_of == date(2026, 3, 31)
                )
            )
        }
    engine.dispose()
    out = cli(
        "policy",
        "explain",
        str(ROOT / "policies" / "segmented.yaml"),
        "--account",
        loan_id,
        "--as-of",
        "2026-03-31",
        "--json",
    )
    assert out.code == 0, out.stderr
    explained = json.loads(out.stdout)
    assert {a["step_id"] for a in explained["actions"]} == planned
    missing = cli(
        "policy",
        "explain",
        str(ROOT / "policies" / "segmented.yaml"),
        "--account",
        "NOPE",
        "--as-of",
        "2026-03-31",
    )
    assert missing.code == 2 and "unknown loan" in missing.stderr
