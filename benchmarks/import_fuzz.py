"""Importer fuzzing at full size: N fuzzed files through the real `arrears import` on a real store.

    .venv/bin/python benchmarks/import_fuzz.py [--files 1000] [--seed 14] [--pg URL] [--write-docs]

The files are tests/store/import_fuzz.py's (good loans / payments / events / flags files with mutated
fields, wrong column counts, random line endings, NULs, BOMs, other encodings, huge numbers, truncation,
random bytes); each goes through the CLI in this process (as the console script runs it) into a store that
holds the good files, on SQLite and — with --pg or ARREARS_TEST_PG_URL — PostgreSQL (a database of its own,
dropped at the end). Counted: accepted (exit 0), partly accepted (--skip-bad, exit 1), rejected (exit 2),
tracebacks (an exception escaped, or a traceback was printed), other problems (an exit code outside 0..2, a
stderr line that is not a clean message, personal data echoed) and rejected files after which the store's
digest changed. --write-docs writes the "Importer fuzzing" section of docs/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from payment_webhook import write_section  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tests.store.import_fuzz import GOOD, check_outcome, fuzz_file, run_cli, store_digest  # noqa: E402

from arrears.adapters.store import forget_engines  # noqa: E402
from arrears.bootstrap import configure  # noqa: E402
from arrears.services.imports import import_file  # noqa: E402
from arrears.services.unit_of_work import UnitOfWork  # noqa: E402


def loaded_store(url: str, directory: Path) -> None:
    """The good files imported, so payments, events and flags find their loans and borrowers."""
    with UnitOfWork(url) as uow:
        for kind in ("loans", "payments", "events"):
            path = directory / f"good-{kind}.csv"
            path.write_text(GOOD[kind], encoding="utf-8")
            import_file(uow, kind, path, actor="fuzz")


def fuzz(url: str, files: int, seed: int, directory: Path) -> dict[str, object]:
    os.environ["ARREARS_DB_URL"] = url
    loaded_store(url, directory)
    rng = random.Random(seed)
    codes: Counter[int] = Counter()
    problems: Counter[str] = Counter()
    examples: list[str] = []
    tracebacks = changed = 0
    started = time.perf_counter()
    for n in range(files):
        fuzzed = fuzz_file(rng)
        path = directory / f"{fuzzed.kind}-{n}{fuzzed.suffix}"
        path.write_bytes(fuzzed.data)
        before = store_digest(url)
        outcome = run_cli("import", fuzzed.kind, str(path), *fuzzed.options)
        found = check_outcome(outcome, path, before, lambda: store_digest(url))
        codes[outcome.code] += 1
        tracebacks += any(p.startswith(("crashed", "a traceback")) for p in found)
        changed += any(p.startswith("the store changed") for p in found)
        for p in found:
            problems[p.split(":")[0]] += 1
        if found and len(examples) < 10:
            examples.append(f"file {n} ({fuzzed.kind}, {', '.join(fuzzed.mutations)}): {'; '.join(found)}")
        path.unlink()
        for rejects in directory.glob("*.rejects.csv"):
            rejects.unlink()
    return {
        "files": files,
        "accepted": codes[0],
        "partly": codes[1],
        "rejected": codes[2],
        "tracebacks": tracebacks,
        "changed": changed,
        "other": sum(problems.values()) - tracebacks - changed,
        "seconds": time.perf_counter() - started,
        "examples": examples,
    }


def pg_database(server_url: str) -> tuple[str, object]:
    server = make_url(server_url)
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"arrears_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False), (admin, name)


def drop(handle: object) -> None:
    admin, name = handle  # type: ignore[misc]
    forget_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--pg", default=os.environ.get("ARREARS_TEST_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--write-docs", action="store_true", help="write docs/reliability.md's section")
    args = parser.parse_args()
    # A kill (SIGTERM) unwinds like an exception, so the PostgreSQL database is dropped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    configure()
    os.environ.setdefault("ARREARS_AUDIT_CHECKPOINTS", tempfile.mkdtemp(prefix="arrears-fuzz-checkpoints-"))
    results: list[tuple[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory(prefix="arrears-fuzz-") as tmp:
        directory = Path(tmp)
        sqlite = directory / "sqlite"
        sqlite.mkdir()
        results.append(("SQLite", fuzz(f"sqlite:///{sqlite}/store.db", args.files, args.seed, sqlite)))
        forget_engines()
        if args.pg:
            url, handle = pg_database(args.pg)
            pg = directory / "pg"
            pg.mkdir()
            try:
                results.append(("PostgreSQL", fuzz(url, args.files, args.seed, pg)))
            finally:
                drop(handle)
    head = "| store | files | accepted (exit 0) | partly, --skip-bad (exit 1) | rejected (exit 2) | tracebacks | store changed after rejection | other problems | seconds |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for store, r in results:
        lines.append(
            f"| {store} | {r['files']:,} | {r['accepted']:,} | {r['partly']:,} | {r['rejected']:,} | "
            f"{r['tracebacks']} | {r['changed']} | {r['other']} | {r['seconds']:.0f} |"
        )
    for store, r in results:
        for example in r["examples"]:  # type: ignore[attr-defined]
            lines.append(f"\n{store}: {example}")
    table = "\n".join(lines)
    print(table)
    if args.write_docs:
        body = "\n".join(
            [
                f"Produced by `make reliability` (`benchmarks/import_fuzz.py --files {args.files} --seed {args.seed}"
                " --write-docs`); the same checks run",
                "with a few dozen hypothesis examples per test in `tests/store/test_import_fuzz.py` (SQLite and",
                "PostgreSQL). Each file starts from a good loans, payments, events or flags file and takes up to three",
                "row mutations (hostile values in a field — huge and negative amounts, NUL and control characters,",
                "quotes, commas, line breaks, BOMs, bad dates, very long text, bad phones and ID numbers —, a field",
                "too many or too few, rows duplicated, dropped or multiplied, the header changed), random line",
                "endings (LF, CRLF, CR, mixed), sometimes another encoding (UTF-16/32, GBK, GB18030, Latin-1) with or",
                "without `--encoding`, and in two files of five one or two byte mutations (a NUL or random bytes spliced in, a BOM, the",
                "file truncated); 10 % are random bytes. Each goes through `arrears import KIND FILE` (with",
                "`--skip-bad` / `--json` at random) in one process against a store holding the good files.",
                '"Store changed after rejection" compares a digest of every table\'s rows before and after each',
                'file that exited 2; "other problems" counts exit codes outside 0..2, stderr lines that are not',
                "`FILE:…` / `error: …` messages, and personal data of the good files echoed.",
                "",
                table,
                "",
            ]
        )
        write_section(ROOT / "docs" / "reliability.md", "Importer fuzzing", body)


if __name__ == "__main__":
    main()
