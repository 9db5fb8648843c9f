"""What the engine takes from its callers instead of importing it: a generator to draw snapshot parts with,
a progress sink, a products' settings encoder, a policy loader; the engines by name; the store snapshot's
schemas, declared by the engine once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from arrears.domain.errors import InputError
from arrears.domain.loans import Instalment, Loan
from arrears.domain.products import LedgerSettings
from arrears.engine.portfolio import SCHEMAS, STORE_SNAPSHOT_SCHEMAS, Portfolio, portfolio_from_loans
from arrears.engine.snapshot_dir import (
    read_manifest,
    read_parts,
    write_drawn_snapshot,
    write_portfolio_snapshot,
)

AS_OF = date(2026, 3, 31)


def small_draw(accounts: int, seed: int, as_of: date) -> Portfolio:
    """A stand-in generator: `accounts` one-instalment loans, the amount from the seed."""
    loans = [
        Loan(f"L{i:04d}", (Instalment(1, date(2026, 1, 10), 100_00 + seed, 0),), ()) for i in range(accounts)
    ]
    return Portfolio(dict(portfolio_from_loans(loans).tables))


class Recorder:
    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.advanced = 0

    def phase(self, name: str, total: int | None) -> None:
        self.phases.append((name, total))

    def advance(self, rows: int) -> None:
        self.advanced += rows


def test_a_snapshot_is_drawn_by_the_callers_generator_with_its_progress(tmp_path: Path) -> None:
    progress = Recorder()
    manifest = write_drawn_snapshot(
        tmp_path / "s", 25, small_draw, as_of=AS_OF, part_accounts=10, seed=3, progress=progress, processes=0
    )
    assert [p.accounts for p in manifest.parts] == [10, 10, 5]
    assert (manifest.seed, manifest.as_of, manifest.made["by"]) == (3, AS_OF, "generator")
    assert progress.phases == [("drawing 25 accounts in 3 part(s)", 3)] and progress.advanced == 3
    parts = list(read_parts(tmp_path / "s"))
    assert parts[2]["loans"]["loan_id"].to_pylist()[0] == "P00002-L0000"
    assert parts[1]["instalments"]["principal"].to_pylist()[0] == 100_00 + 4  # part k drawn with seed + k
    again = Recorder()
    reused = write_drawn_snapshot(
        tmp_path / "s", 25, small_draw, as_of=AS_OF, part_accounts=10, seed=3, progress=again
    )
    assert reused == read_manifest(tmp_path / "s") and again.phases == []  # the same draw: nothing drawn


def test_products_settings_need_the_callers_encoder_and_read_back_through_the_domain(tmp_path: Path) -> None:
    from arrears.adapters.store.catalog import settings_to_json

    products = {"p0": LedgerSettings(grace_days=5)}
    portfolio = Portfolio(dict(small_draw(4, 1, AS_OF).tables), products)
    with pytest.raises(ValueError, match="encode_settings"):
        write_portfolio_snapshot(portfolio, tmp_path / "no", 2)
    assert not (tmp_path / "no").exists()  # refused before anything was written
    write_portfolio_snapshot(portfolio, tmp_path / "yes", 2, encode_settings=settings_to_json)
    assert all(part.products == products for part in read_parts(tmp_path / "yes"))


def test_run_snapshot_loads_the_policy_through_the_callers_loader(tmp_path: Path) -> None:
    from arrears.engine.snapshot_run import run_snapshot

    write_drawn_snapshot(tmp_path / "s", 4, small_draw, as_of=AS_OF, processes=0)

    def refused() -> object:
        raise InputError("no such policy", file="missing.yaml")

    with pytest.raises(InputError, match="no such policy"):  # before any worker starts
        run_snapshot(tmp_path / "s", refused, AS_OF, tmp_path / "out", workers=1)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_engines_by_name() -> None:
    from arrears.engine import duckdb_engine, evaluators, reference

    assert evaluators.evaluator("duckdb") is duckdb_engine.evaluate
    assert evaluators.evaluator("reference") is reference.evaluate
    with pytest.raises(InputError) as err:
        evaluators.evaluator("fast")
    assert err.value.field == "--engine"


def test_the_store_snapshot_reads_the_engines_columns() -> None:
    from arrears.adapters.store import snapshot

    for name, schema in STORE_SNAPSHOT_SCHEMAS.items():
        assert snapshot._QUERIES[name][1] is schema, name
        engine = SCHEMAS[name]
        for field in schema:
            if field.name in engine.names:
                assert engine.field(field.name).equals(field), (name, field.name)
    assert STORE_SNAPSHOT_SCHEMAS["events"].field("at").type == pa.timestamp("us", tz="UTC")


def test_the_old_names_are_gone() -> None:
    """The re-export shims of the renames (issue 13 item 5) are deleted: one name per thing."""
    import importlib

    for old in (
        "arrears.engine.plan",
        "arrears.adapters.store.engine",
        "arrears.domain.compliance.engine",
        "arrears.entrypoints.cli.common",
        "arrears.services.importing",
    ):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
