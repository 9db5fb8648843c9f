"""Importer fuzzing in the standing fault suite (issue 14 item 6): hypothesis over raw bytes and over good
rows with mutated fields, random line endings, NULs, BOMs, huge numbers and wrong column counts, through the
real `arrears import` on a real store (SQLite and PostgreSQL). Whatever the file: exit 0, 1 or 2 with a clean
message, never a traceback, nothing personal echoed, and the store unchanged after a rejected file.

Small here (a few dozen examples per test); 1,000 files: benchmarks/import_fuzz.py (`make reliability`)."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.import_fuzz import GOOD, FuzzedFile, check_outcome, fuzz_file, run_cli, store_digest

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a CI failure can be run again
)


def _import(url: str, directory: Path, fuzzed: FuzzedFile) -> list[str]:
    path = directory / f"{fuzzed.kind}{fuzzed.suffix}"
    path.write_bytes(fuzzed.data)
    before = store_digest(url)
    outcome = run_cli("import", fuzzed.kind, str(path), *fuzzed.options)
    return check_outcome(outcome, path, before, lambda: store_digest(url))


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.sampled_from(list(GOOD.values())).flatmap(
            lambda good: st.binary(max_size=40).map(lambda junk: good.encode()[: len(junk) * 7] + junk)
        ),
    ),
    kind=st.sampled_from(tuple(GOOD)),
    skip_bad=st.booleans(),
    encoding=st.sampled_from(("utf-8", "auto", "gbk", "utf-16")),
)
def test_any_bytes_are_accepted_or_refused_cleanly(
    loaded: str, tmp_path: Path, data: bytes, kind: str, skip_bad: bool, encoding: str
) -> None:
    options = ["--encoding", encoding, *(["--skip-bad"] if skip_bad else [])]
    assert _import(loaded, tmp_path, FuzzedFile(kind, data, options)) == []


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_good_rows_with_mutations_are_accepted_or_refused_cleanly(
    loaded: str, tmp_path: Path, rng: random.Random
) -> None:
    fuzzed = fuzz_file(rng, random_bytes_share=0.0, parquet_share=0.0)
    assert _import(loaded, tmp_path, fuzzed) == [], fuzzed.mutations


@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_parquet_columns_of_any_type_are_accepted_or_refused_cleanly(
    loaded: str, tmp_path: Path, rng: random.Random
) -> None:
    fuzzed = fuzz_file(rng, random_bytes_share=0.0, parquet_share=1.0)
    assert _import(loaded, tmp_path, fuzzed) == [], fuzzed.mutations


def test_a_rejected_file_leaves_the_digest_as_it_was_and_a_written_one_changes_it(
    loaded: str, tmp_path: Path
) -> None:
    before = store_digest(loaded)
    bad = FuzzedFile("payments", GOOD["payments"].replace("353.33", "-1").encode().replace(b"P1", b"P8"))
    assert _import(loaded, tmp_path, bad) == []
    assert store_digest(loaded) == before
    good = FuzzedFile("payments", b"payment_id,loan_id,paid_on,amount\nP9,L1,2026-02-11,1.00\n")
    assert _import(loaded, tmp_path, good) == []
    assert store_digest(loaded) != before
