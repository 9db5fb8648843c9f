"""Fuzzed import files and the harness that feeds them to the real `arrears import` on a real store.

Shared by the standing fault suite (tests/store/test_import_fuzz.py: a few dozen hypothesis examples per
test, SQLite and PostgreSQL) and by benchmarks/import_fuzz.py (1,000 files, `make reliability`, the
"Importer fuzzing" section of docs/reliability.md).

A fuzzed file starts from a good file of its kind (loans, payments, events, flags) and takes up to a few
mutations: fields replaced by hostile values (huge or negative amounts, NUL and control characters, quotes,
commas, line breaks, BOMs, malformed dates, very long text, bad phones and ID numbers), fields added or
dropped, rows duplicated, dropped or reordered, the header changed, random line endings, another encoding or
byte-order mark, NUL bytes or random bytes spliced in, the file truncated. `check_outcome` states what must
hold whatever the file: exit 0, 1 or 2 with a clean message, never a traceback, nothing personal echoed, and
the store unchanged after a rejected file (exit 2).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from arrears.adapters.store.models import Base
from arrears.services.unit_of_work import UnitOfWork
from tests.store.conftest import EVENTS, LOANS, PAYMENTS

FLAGS = """\
borrower_id,flag,action,channel,debt,value,until,effective_at,by,reason
B1,cease,set,sms,,,,,compliance.zhao,asked us to stop texting
B2,hardship,set,,L2,,2026-06-30,,compliance.zhao,job loss (approved)
B2,dispute,clear,,L2,,,,compliance.zhao,resolved
"""

GOOD: dict[str, str] = {"loans": LOANS, "payments": PAYMENTS, "events": EVENTS, "flags": FLAGS}
# What must never appear in a message: the personal data of the good loans file.
PERSONAL = ("张三", "李四", "13812345678", "13998765432", "110101199003071233", "zs@example.com")

HOSTILE = (
    "",
    " ",
    "999999999999999999999999999999.99",
    "999999999999999.99",
    "10000000000.01",
    "-1.00",
    "1e308",
    "NaN",
    "0x10",
    "1,000.00",
    "１２３",  # full-width digits
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m",
    '"',
    '""',
    "'",
    ",",
    "\n",
    "\r",
    "\r\n",
    "\ufeff",
    "\u202e",  # right-to-left override
    "😀",
    "ÿþ",
    "2026-02-30",
    "2026-1-5",
    "9999-12-31",
    "0000-00-00",
    "2026-02-15T09:00:00",
    "1399876",
    "12345",
    "110101199003071234",
    "not@an@email",
    "x" * 70,
    "Z" * 5000,
    "{" * 100,
    '{"channel": 1}',
    "null",
    "None",
    "L1",
    "B1",
    "P1",
    "set",
    "clear",
    "1201",
    "-0",
    "00000000000000000000001",
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "gbk", "gb18030", "latin-1")


@dataclass
class FuzzedFile:
    kind: str
    data: bytes
    options: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    suffix: str = ".csv"


def fuzz_file(
    rng: random.Random, *, random_bytes_share: float = 0.1, parquet_share: float = 0.1
) -> FuzzedFile:
    """One fuzzed import file (its kind, bytes, CLI options and what was done to it)."""
    kind = rng.choice(tuple(GOOD))
    options = [o for o in ("--skip-bad", "--json") if rng.random() < 0.4]
    draw = rng.random()
    if draw < parquet_share:
        return fuzz_parquet(rng, kind, options)
    if draw < parquet_share + random_bytes_share:
        data = rng.randbytes(rng.randint(0, 400))
        return FuzzedFile(kind, data, options, ["random bytes"])
    lines = GOOD[kind].splitlines()
    rows = [line.split(",") for line in lines]  # the good files quote nothing but events' detail: fine
    done: list[str] = []
    for _ in range(rng.randint(0, 3)):
        done.append(_mutate_rows(rng, rows))
    text_lines = [",".join(r) for r in rows]
    ends = rng.choice(("lf", "crlf", "cr", "mixed"))
    done.append(ends)
    text = ""
    for line in text_lines:
        end = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}.get(ends) or rng.choice(("\n", "\r\n", "\r"))
        text += line + end
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")  # no final line end
    encoding = rng.choice(ENCODINGS) if rng.random() < 0.3 else "utf-8"
    data = text.encode(encoding, errors="replace")
    if encoding != "utf-8":
        done.append(f"encoded {encoding}")
        if rng.random() < 0.5:
            options += ["--encoding", rng.choice(("auto", "gbk", "gb18030", "utf-8", "latin-1", "utf-16"))]
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        data, what = _mutate_bytes(rng, data)
        done.append(what)
    return FuzzedFile(kind, data, options, done)


def fuzz_parquet(rng: random.Random, kind: str, options: list[str]) -> FuzzedFile:
    """A Parquet file of the kind's columns, each of a random Arrow type (text, whole and floating-point
    numbers, decimals, bytes, dates, instants, booleans, lists, structs, nulls), values good or hostile."""
    lines = GOOD[kind].splitlines()
    header = lines[0].split(",")
    good = [line.split(",") for line in lines[1:]]
    n = len(good)
    columns: dict[str, pa.Array] = {}
    done = []
    for c, name in enumerate(header + (["extra"] if rng.random() < 0.2 else [])):
        if rng.random() < 0.08:
            done.append(f"{name} left out")
            continue
        texts = [row[c] if c < len(row) else "" for row in good]
        what = rng.choice(("text", "text", "text", "hostile", "int", "float", "decimal", "binary", "date",
                           "timestamp", "bool", "list", "struct", "null"))  # fmt: skip
        done.append(f"{name} {what}")
        if what == "text":
            columns[name] = pa.array(texts, pa.string())
        elif what == "hostile":
            columns[name] = pa.array([rng.choice(HOSTILE) for _ in range(n)], pa.string())
        elif what == "int":
            columns[name] = pa.array([rng.choice((0, 1, -1, 2**63 - 1, -(2**63), 10**12)) for _ in range(n)])
        elif what == "float":
            columns[name] = pa.array([rng.choice((0.5, -1.0, 1e308, float("nan"))) for _ in range(n)])
        elif what == "decimal":
            columns[name] = pa.array(
                [Decimal(rng.choice(("1.00", "99999999999999999.99", "-3.50"))) for _ in range(n)]
            )
        elif what == "binary":
            columns[name] = pa.array([rng.randbytes(rng.randint(0, 6)) for _ in range(n)], pa.binary())
        elif what == "date":
            columns[name] = pa.array(
                [date(rng.choice((1, 1899, 2026, 9999)), 1, 1) for _ in range(n)], pa.date32()
            )
        elif what == "timestamp":
            columns[name] = pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC"))
        elif what == "bool":
            columns[name] = pa.array([rng.random() < 0.5 for _ in range(n)])
        elif what == "list":
            columns[name] = pa.array([[1, 2]] * n)
        elif what == "struct":
            columns[name] = pa.array([{"a": 1}] * n)
        else:
            columns[name] = pa.nulls(n)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns) if columns else pa.table({"x": pa.nulls(0)}), sink)
    return FuzzedFile(kind, sink.getvalue().to_pybytes(), options, done, ".parquet")


def _mutate_rows(rng: random.Random, rows: list[list[str]]) -> str:
    body = range(1, len(rows))
    choice = rng.randrange(10)
    if choice <= 3 and len(rows) > 1:  # the common case: a hostile value in a field
        r = rng.choice(body)
        c = rng.randrange(len(rows[r]))
        value = rng.choice(HOSTILE)
        rows[r][c] = value if rng.random() < 0.8 else f'"{value}"'
        return f"row {r + 1} field {c + 1} hostile"
    if choice == 4 and len(rows) > 1:
        r = rng.choice(body)
        rows[r].insert(rng.randrange(len(rows[r]) + 1), rng.choice(HOSTILE))
        return f"row {r + 1} a field too many"
    if choice == 5 and len(rows) > 1:
        r = rng.choice(body)
        if rows[r]:
            del rows[r][rng.randrange(len(rows[r]))]
        return f"row {r + 1} a field too few"
    if choice == 6 and len(rows) > 1:
        r = rng.choice(body)
        rows.insert(rng.randrange(1, len(rows) + 1), list(rows[r]))
        return f"row {r + 1} duplicated"
    if choice == 7 and len(rows) > 2:
        del rows[rng.choice(body)]
        return "a row dropped"
    if choice == 8:
        header = rows[0]
        what = rng.randrange(3)
        if what == 0 and header:
            header[rng.randrange(len(header))] = rng.choice(("", "loan_id", "x", "\ufeffloan_id", "Loan_ID"))
            return "header: a column renamed"
        if what == 1:
            header.append(rng.choice(("extra", header[0] if header else "x")))
            return "header: a column added"
        for row in rows:
            if row:
                del row[-1]
        return "every row: last column dropped"
    if len(rows) > 1:
        big = rng.randint(2, 60)
        template = rows[rng.choice(body)]
        rows.extend([[f"{v}{i}" if j == 0 else v for j, v in enumerate(template)] for i in range(big)])
        return f"{big} more rows"
    return "nothing"


def _mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    at = rng.randint(0, len(data))
    choice = rng.randrange(5)
    if choice == 0:
        return data[:at] + b"\x00" + data[at:], "NUL byte spliced"
    if choice == 1:
        return data[:at] + rng.randbytes(rng.randint(1, 8)) + data[at:], "random bytes spliced"
    if choice == 2:
        return data[:at], "truncated"
    if choice == 3:
        bom = rng.choice((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE))
        return bom + data, "a byte-order mark added"
    return data.replace(b",", b";", 1), "a separator changed"


# Running the real CLI --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    crash: str | None  # an exception that escaped the CLI (its type and message), None when none did


def run_cli(*args: str) -> Outcome:
    """`arrears ARGS...` in this process, as the console script runs it; what it printed and its exit code."""
    from arrears.entrypoints.cli import build_app
    from arrears.entrypoints.cli.console import run_app

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["arrears", *args]
    crash = None
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_app(build_app)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as exc:  # what the harness exists to catch: anything that escaped the CLI
        crash = f"{type(exc).__name__}: {exc}"[:300]
        code = -1
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue(), crash)


def store_digest(url: str) -> str:
    """A digest of every table's rows: equal digests, the same store."""
    digest = hashlib.sha256()
    with UnitOfWork(url) as uow:
        for table in sorted(Base.metadata.sorted_tables, key=lambda t: t.name):
            rows = sorted(repr(tuple(row)) for row in uow.connection.execute(select(table)))
            digest.update(f"{table.name}:{len(rows)}\n".encode())
            for row in rows:
                digest.update(row.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def check_outcome(outcome: Outcome, path: Path, before: str, after: Callable[[], str]) -> list[str]:
    """What went wrong with one fuzzed file's import (empty: nothing)."""
    problems = []
    if outcome.crash is not None:
        problems.append(f"crashed: {outcome.crash}")
    elif outcome.code not in (0, 1, 2):
        problems.append(f"exit {outcome.code}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        problems.append("a traceback on the terminal")
    for line in outcome.stderr.splitlines():
        if line.strip() and not line.startswith((str(path), "error: ", "... and ")):
            problems.append(f"an unexpected stderr line: {line[:120]!r}")
            break
    echoed = [p for p in PERSONAL if p in outcome.stderr]
    if echoed:
        problems.append(f"personal data echoed: {len(echoed)} value(s)")
    if outcome.code == 2 and after() != before:
        problems.append("the store changed although the file was rejected")
    return problems
