"""Snapshot directories: parts of a generated portfolio written once, read back one by one, run alike."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from arrears.adapters.policy_file import load_policy
from arrears.adapters.store.catalog import settings_to_json
from arrears.domain.errors import InputError
from arrears.domain.products import LedgerSettings
from arrears.engine.evaluators import evaluator
from arrears.engine.portfolio import SCHEMAS, Portfolio, take_accounts
from arrears.engine.snapshot_dir import (
    CHILD_TABLES,
    COMPRESSION,
    MANIFEST,
    read_manifest,
    read_parts,
    write_portfolio_snapshot,
)
from arrears.entrypoints.daily_run_bench import BENCH_AS_OF, generated_portfolio, write_generated_snapshot

POLICY = load_policy(Path(__file__).parents[2] / "policies" / "segmented.yaml")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated accounts in parts of 1,000 (drawn in this process: small)."""
    directory = tmp_path_factory.mktemp("snapshots") / "snapshot-3000"
    write_generated_snapshot(directory, 3000, part_accounts=1000, quiet=True)
    return directory


def raw_table(path: Path) -> pa.Table:
    with pa.OSFile(str(path), "rb") as source:
        return pa.ipc.open_file(source).read_all()


def concatenated(parts: list[Portfolio]) -> Portfolio:
    plain = [p.decoded() for p in parts]
    return Portfolio({name: pa.concat_tables([p[name] for p in plain]) for name in SCHEMAS})


def test_manifest_names_the_parts_and_the_draw(snapshot: Path) -> None:
    manifest = read_manifest(snapshot)
    assert (manifest.accounts, manifest.part_accounts, manifest.seed, manifest.as_of) == (
        3000,
        1000,
        1,
        BENCH_AS_OF,
    )
    assert [(p.dir, p.accounts) for p in manifest.parts] == [
        ("part-00000", 1000),
        ("part-00001", 1000),
        ("part-00002", 1000),
    ]
    assert manifest.made["by"] == "generator"
    assert sorted(p.name for p in (snapshot / "part-00001").iterdir()) == sorted(
        f"{n}.arrow" for n in SCHEMAS
    )


def test_parts_round_trip_with_ids_unique_across_parts(snapshot: Path) -> None:
    parts = list(read_parts(snapshot))
    assert [p.account_count for p in parts] == [1000, 1000, 1000]
    loan_ids = [i for p in parts for i in p["loans"]["loan_id"].to_pylist()]
    assert len(set(loan_ids)) == 3000 and loan_ids == sorted(loan_ids)  # sorted within and across parts
    assert loan_ids[0].startswith("P00000-") and loan_ids[-1].startswith("P00002-")
    borrower_sets = [set(p["borrowers"]["borrower_id"].to_pylist()) for p in parts]
    assert all(not (a & b) for i, a in enumerate(borrower_sets) for b in borrower_sets[i + 1 :])
    for p, borrowers in zip(parts, borrower_sets, strict=True):
        assert set(p["loans"]["borrower_id"].to_pylist()) == borrowers  # each part's own borrowers only
    payment_ids = [i for p in parts for i in p["payments"]["payment_id"].to_pylist()]
    assert len(set(payment_ids)) == len(payment_ids)
    # the parts hold the same accounts the generator draws for each seed, with the ids prefixed
    second = generated_portfolio(1000, seed=2)
    assert parts[1]["instalments"]["principal"].equals(second["instalments"]["principal"])
    assert pc.binary_join_element_wise("P00001-", second["loans"]["loan_id"], "").equals(
        parts[1]["loans"]["loan_id"].cast(pa.string())
    )


def test_uncompressed_and_memory_mapped_parts_are_the_same_parts(snapshot: Path, tmp_path: Path) -> None:
    assert read_manifest(snapshot).compression == COMPRESSION
    plain = write_generated_snapshot(
        tmp_path / "plain", 3000, part_accounts=1000, quiet=True, compression=None
    )
    assert plain.compression is None and read_manifest(tmp_path / "plain").compression is None
    assert sum(f.stat().st_size for f in (tmp_path / "plain").rglob("*.arrow")) > sum(
        f.stat().st_size for f in snapshot.rglob("*.arrow")
    )
    for packed, mapped in zip(
        read_parts(snapshot), read_parts(tmp_path / "plain", memory_map=True), strict=True
    ):
        assert all(packed[name].equals(mapped[name]) for name in SCHEMAS)


def test_child_loan_ids_are_positions_in_the_parts_loans(snapshot: Path) -> None:
    for part in ("part-00000", "part-00002"):
        loans = raw_table(snapshot / part / "loans.arrow")
        for name in CHILD_TABLES:
            column = raw_table(snapshot / part / f"{name}.arrow")["loan_id"]
            assert column.type == pa.dictionary(pa.int32(), pa.string()), name
            for chunk in column.chunks:
                assert chunk.dictionary.equals(loans["loan_id"].combine_chunks()), name
                indices = chunk.indices.to_numpy(zero_copy_only=False)
                assert (indices[1:] >= indices[:-1]).all(), f"{name} rows are sorted by loan"
        assert raw_table(snapshot / part / "instalments.arrow").num_rows > 0


def test_a_matching_manifest_is_reused_and_another_draw_replaces_it(tmp_path: Path) -> None:
    directory = tmp_path / "snap"
    first = write_generated_snapshot(directory, 600, part_accounts=400, quiet=True)
    files = sorted(directory.rglob("*"))
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    again = write_generated_snapshot(directory, 600, part_accounts=400, quiet=True)
    assert again == first
    assert {p: p.stat().st_mtime_ns for p in sorted(directory.rglob("*"))} == mtimes
    unpacked = write_generated_snapshot(directory, 600, part_accounts=400, quiet=True, compression=None)
    assert unpacked.compression is None and unpacked.made["at"] >= first.made["at"]
    other = write_generated_snapshot(directory, 600, part_accounts=400, seed=5, quiet=True)
    assert other.seed == 5 and read_manifest(directory).seed == 5
    assert (directory / "part-00000" / "loans.arrow").stat().st_mtime_ns != mtimes[
        directory / "part-00000" / "loans.arrow"
    ]


def test_parts_drawn_in_child_processes_equal_those_drawn_here(tmp_path: Path) -> None:
    here = write_generated_snapshot(tmp_path / "here", 500, part_accounts=250, quiet=True, processes=0)
    spawned = write_generated_snapshot(tmp_path / "spawned", 500, part_accounts=250, quiet=True, processes=2)
    assert spawned.parts == here.parts and spawned.made["processes"] == 2
    for a, b in zip(read_parts(tmp_path / "here"), read_parts(tmp_path / "spawned"), strict=True):
        assert all(a[name].equals(b[name]) for name in SCHEMAS)


def test_the_duckdb_engine_part_by_part_equals_the_whole(snapshot: Path) -> None:
    run = evaluator("duckdb")
    parts = list(read_parts(snapshot))
    by_part = pa.concat_tables([run(p, POLICY, BENCH_AS_OF, None).actions for p in parts])
    whole = run(concatenated(parts), POLICY, BENCH_AS_OF, None).actions
    assert whole.num_rows > 0
    assert by_part.to_pylist() == whole.to_pylist()


def test_a_portfolio_written_as_parts_reads_back_whole(tmp_path: Path) -> None:
    original = generated_portfolio(900, seed=3)
    products = {"baitiao-3": LedgerSettings(grace_days=3)}
    portfolio = Portfolio(dict(original.tables), products)
    manifest = write_portfolio_snapshot(
        portfolio, tmp_path / "export", part_accounts=400, as_of=BENCH_AS_OF, encode_settings=settings_to_json
    )
    assert [p.accounts for p in manifest.parts] == [400, 400, 100]
    assert manifest.made["by"] == "portfolio"
    parts = list(read_parts(tmp_path / "export"))
    assert all(p.products == products for p in parts)
    for p in parts:
        assert set(p["borrowers"]["borrower_id"].to_pylist()) == set(p["loans"]["borrower_id"].to_pylist())
    back = concatenated(parts)
    for name in SCHEMAS:
        if name == "borrowers":  # a borrower whose loans span two parts is in both
            assert {tuple(r.values()) for r in back[name].to_pylist()} == {
                tuple(r.values()) for r in original[name].to_pylist()
            }
        else:
            assert back[name].equals(original[name]), name


def test_broken_directories_are_input_errors_naming_the_file(snapshot: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such snapshot directory"):
        list(read_parts(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as err:
        list(read_parts(tmp_path / "empty"))
    assert err.value.file == str(tmp_path / "empty" / MANIFEST)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / MANIFEST).write_text(json.dumps({"format": "something else", "version": 1}))
    with pytest.raises(InputError, match="not an arrears snapshot manifest"):
        list(read_parts(foreign))

    broken = tmp_path / "broken"
    write_generated_snapshot(broken, 300, part_accounts=100, quiet=True)
    (broken / "part-00001" / "payments.arrow").write_bytes(b"not arrow at all")
    reading = read_parts(broken)
    assert next(reading).account_count == 100  # parts are read one at a time: the first is fine
    with pytest.raises(InputError, match="not a readable Arrow IPC file") as err:
        next(reading)
    assert err.value.file == str(broken / "part-00001" / "payments.arrow")

    gone = tmp_path / "gone"
    write_generated_snapshot(gone, 300, part_accounts=100, quiet=True)
    (gone / "part-00002" / "events.arrow").unlink()
    with pytest.raises(InputError) as err:
        list(read_parts(gone))
    assert err.value.file == str(gone / "part-00002" / "events.arrow")


def test_a_directory_of_other_files_is_never_written_over(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="will not write over it"):
        write_generated_snapshot(tmp_path, 100, quiet=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_as_of_travels_with_the_draw(tmp_path: Path) -> None:
    manifest = write_generated_snapshot(tmp_path / "s", 50, as_of=date(2026, 1, 31), quiet=True)
    assert read_manifest(tmp_path / "s").as_of == date(2026, 1, 31) == manifest.as_of


def test_the_first_accounts_of_a_part_keep_their_loan_positions(snapshot: Path) -> None:
    part = next(read_parts(snapshot))
    sample = take_accounts(part, 300)
    assert sample.account_count == 300
    for name in CHILD_TABLES:
        column = sample[name]["loan_id"]
        assert pa.types.is_dictionary(column.type), name
        assert all(c.dictionary.equals(sample["loans"]["loan_id"].combine_chunks()) for c in column.chunks)
    plain = take_accounts(part.decoded(), 300)
    assert all(sample.decoded()[name].equals(plain[name]) for name in SCHEMAS)
    assert set(plain["borrowers"]["borrower_id"].to_pylist()) == set(
        plain["loans"]["borrower_id"].to_pylist()
    )
