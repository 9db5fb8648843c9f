"""A snapshot directory: a columnar portfolio in account partitions, read back one part at a time.

    manifest.json            format, version, accounts, parts (dir + accounts), as_of, seed, how it was made
    part-00000/loans.arrow   one Arrow IPC file per table of portfolio.SCHEMAS
               instalments.arrow, payments.arrow, pauses.arrow, waivers.arrow, events.arrow, borrowers.arrow
               products.json (only when the portfolio carries its own ledger settings)
    part-00001/...

Each part is a complete sub-portfolio: at most `part_accounts` loans and every row that belongs to them,
so the daily run can stream a portfolio larger than memory part by part. In every child table the
`loan_id` column is dictionary-encoded with the part's `loans.loan_id` as the dictionary: its indices are
the account positions, and child rows are sorted by them.

The manifest is written last: a directory without one is unfinished and is never read.

What this module needs from outside the engine it is handed: how to draw a portfolio (a generator's
`Draw`, a picklable function, as parts may be drawn in child processes), where to report progress
(`PartsProgress`) and how to write a product's ledger settings (`SettingsEncoder`; they are read back
with the domain's own parser).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.errors import InputError
from arrears.domain.products import LedgerSettings, ledger_settings_from_json
from arrears.engine.portfolio import SCHEMAS, Portfolio
from arrears.engine.vector_ledger import accounts_of

FORMAT = "arrears snapshot directory"
VERSION = 1
MANIFEST = "manifest.json"
PRODUCTS_FILE = "products.json"
CHILD_TABLES = ("instalments", "payments", "pauses", "waivers", "events")
LOAN_ID_TYPE = pa.dictionary(pa.int32(), pa.string())
# lz4 IPC files: read with plain reads they are faster here than uncompressed ones, because this machine's
# page cache does not keep a whole snapshot. Measured 2026-12-07 (2 cores, 24 GB): one part of 1,000,000
# accounts is 406 MiB uncompressed, 124 MiB lz4, 63 MiB zstd; read from the page cache 0.09-0.13 s,
# 0.16-0.19 s, 0.31-0.33 s; but over the 10 parts of the 1e7 DuckDB run, read time 2.0-4.1 s uncompressed
# (median 2.5) against 1.8-2.3 s lz4 (median 2.0), six runs each, as parts fell out of the page cache.
# Memory-mapped files want no compression (mapping an lz4 file still copies it into memory): uncompressed
# and mapped, the same run spent 0.7-0.9 s reading, at a lower peak RSS. The reader takes any of them.
COMPRESSION: str | None = "lz4"
MAPPED_COMPRESSION: str | None = None  # what a snapshot meant to be memory-mapped is written with
# Parts this small are drawn in this process: a child's start-up would cost more than the drawing.
IN_PROCESS_ACCOUNTS = 50_000
# What drawing one part costs at its peak (the generator holds every column): ≈ 3 GB per million accounts.
DRAW_BYTES_PER_ACCOUNT = 3_500
DRAW_MEMORY_BUDGET = 8 * 2**30

Draw = Callable[[int, int, date], Portfolio]
"""(accounts, seed, as_of) → a portfolio of exactly that many accounts (the synthetic generator's)."""
SettingsEncoder = Callable[[LedgerSettings], Mapping[str, Any]]
"""A product's ledger settings as the mapping arrears.domain.products.ledger_settings_from_json reads."""


class PartsProgress(Protocol):
    """Where drawing a snapshot reports progress: a phase with its total of parts, then each part drawn
    (the shape of the importers' progress sink, so the CLI's bar serves both)."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


@dataclass(frozen=True)
class PartEntry:
    dir: str
    accounts: int


@dataclass(frozen=True)
class Manifest:
    """What manifest.json says about a snapshot directory."""

    accounts: int
    part_accounts: int
    parts: tuple[PartEntry, ...]
    as_of: date | None
    seed: int | None
    made: dict[str, Any]
    compression: str | None = COMPRESSION
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "accounts": self.accounts,
            "part_accounts": self.part_accounts,
            "parts": [{"dir": p.dir, "accounts": p.accounts} for p in self.parts],
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "seed": self.seed,
            "compression": self.compression,
            "made": self.made,
        }

    def same_draw(
        self, accounts: int, part_accounts: int, seed: int, as_of: date, compression: str | None
    ) -> bool:
        """Whether this is the generator's snapshot for exactly these arguments (so it can be re-used)."""
        return (
            self.version == VERSION
            and self.made.get("by") == "generator"
            and (self.accounts, self.part_accounts, self.seed, self.as_of, self.compression)
            == (accounts, part_accounts, seed, as_of, compression)
        )


def part_name(index: int) -> str:
    return f"part-{index:05d}"


# ---------------------------------------------------------------------------------------------------
# Reading


def read_manifest(snapshot_dir: str | Path) -> Manifest:
    """The manifest of a snapshot directory; InputError naming the file when it is missing or foreign."""
    path = Path(snapshot_dir) / MANIFEST
    if not Path(snapshot_dir).is_dir():
        raise InputError("no such snapshot directory", file=str(snapshot_dir))
    if not path.is_file():
        raise InputError("not a snapshot directory (no manifest.json, or an unfinished one)", file=str(path))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise InputError(f"unreadable manifest: {err}", file=str(path)) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(f"not an arrears snapshot manifest (format is not {FORMAT!r})", file=str(path))
    if raw.get("version") != VERSION:
        raise InputError(
            f"snapshot format version {raw.get('version')!r}; this arrears reads version {VERSION}",
            file=str(path),
            field="version",
        )
    try:
        parts = tuple(PartEntry(str(p["dir"]), int(p["accounts"])) for p in raw["parts"])
        manifest = Manifest(
            accounts=int(raw["accounts"]),
            part_accounts=int(raw["part_accounts"]),
            parts=parts,
            as_of=date.fromisoformat(raw["as_of"]) if raw.get("as_of") else None,
            seed=int(raw["seed"]) if raw.get("seed") is not None else None,
            made=dict(raw.get("made") or {}),
            compression=raw.get("compression"),
            version=int(raw["version"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"malformed manifest: {err!r}", file=str(path)) from None
    if sum(p.accounts for p in parts) != manifest.accounts:
        raise InputError("the parts' accounts do not add up to `accounts`", file=str(path), field="parts")
    for p in parts:
        if Path(p.dir).name != p.dir or not p.dir.startswith("part-"):
            raise InputError(f"bad part directory name {p.dir!r}", file=str(path), field="parts")
    return manifest


def read_parts(snapshot_dir: str | Path, *, memory_map: bool = False) -> Iterator[Portfolio]:
    """The snapshot's parts in order, one Portfolio each, read only when asked for (one part resident).

    Parts are read into memory with plain reads; `memory_map` maps the files instead (no copy for an
    uncompressed snapshot: the pages are the page cache's, and are let go of with the part).
    """
    root = Path(snapshot_dir)
    manifest = read_manifest(root)
    for entry in manifest.parts:
        # yielded without a local name: the generator keeps no reference to a part once it is handed out
        yield read_part(root / entry.dir, entry.accounts, memory_map=memory_map)


def read_part(part_dir: Path, accounts: int | None = None, *, memory_map: bool = False) -> Portfolio:
    """One part as a Portfolio (plain file reads unless `memory_map`), child loan ids checked against loans."""
    if not part_dir.is_dir():
        raise InputError("part directory missing", file=str(part_dir))
    tables = {name: _read_table(part_dir / f"{name}.arrow", SCHEMAS[name], memory_map) for name in SCHEMAS}
    loan_ids = tables["loans"]["loan_id"]
    if accounts is not None and tables["loans"].num_rows != accounts:
        raise InputError(
            f"{tables['loans'].num_rows} loans where the manifest says {accounts}",
            file=str(part_dir / "loans.arrow"),
        )
    dictionary = loan_ids.combine_chunks() if loan_ids.num_chunks != 1 else loan_ids.chunk(0)
    for name in CHILD_TABLES:
        tables[name] = _shared_dictionary(tables[name], dictionary, part_dir / f"{name}.arrow")
    return Portfolio(tables, _read_products(part_dir / PRODUCTS_FILE))


def _read_table(path: Path, schema: pa.Schema, memory_map: bool = False) -> pa.Table:
    if not path.is_file():
        raise InputError("table file missing from the snapshot part", file=str(path))
    try:
        with pa.memory_map(str(path), "r") if memory_map else pa.OSFile(str(path), "rb") as source:
            table = pa.ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        raise InputError(f"not a readable Arrow IPC file: {err}", file=str(path)) from None
    for column in schema:
        if column.name not in table.column_names:
            raise InputError("column missing", file=str(path), field=column.name)
    return table


def _shared_dictionary(table: pa.Table, dictionary: pa.Array, path: Path) -> pa.Table:
    """The child's loan_id re-pointed at the part's own loan ids (one copy in memory, not one per table)."""
    column = table["loan_id"]
    if column.type != LOAN_ID_TYPE:
        raise InputError(f"loan_id is {column.type}, not {LOAN_ID_TYPE}", file=str(path), field="loan_id")
    chunks = []
    for chunk in column.chunks:
        if not chunk.dictionary.equals(dictionary):
            raise InputError(
                "loan_id's dictionary is not the part's loans.loan_id", file=str(path), field="loan_id"
            )
        chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, dictionary))
    index = table.schema.get_field_index("loan_id")
    return table.set_column(index, "loan_id", pa.chunked_array(chunks, LOAN_ID_TYPE))


def _read_products(path: Path) -> dict[str, LedgerSettings]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(code): ledger_settings_from_json(settings, path="settings") for code, settings in raw.items()
        }
    except InputError as err:
        raise InputError(err.message, file=str(path), field=err.field) from None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as err:
        raise InputError(f"unreadable products file: {err}", file=str(path)) from None


# ---------------------------------------------------------------------------------------------------
# Writing


def write_part(
    portfolio: Portfolio,
    part_dir: Path,
    compression: str | None = COMPRESSION,
    encode_settings: SettingsEncoder | None = None,
) -> int:
    """One part's files (the directory is created); returns its accounts. A portfolio that carries its own
    products' ledger settings needs `encode_settings` to write them."""
    part_dir.mkdir(parents=True, exist_ok=True)
    loans = portfolio["loans"].combine_chunks()
    loan_ids = loans["loan_id"].chunk(0) if loans.num_rows else pa.array([], pa.string())
    options = pa.ipc.IpcWriteOptions(compression=compression)
    for name, schema in SCHEMAS.items():
        table = portfolio[name]
        if name in CHILD_TABLES:
            table = with_loan_positions(table, loan_ids)
            schema = table.schema
        path = part_dir / f"{name}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as writer:
            writer.write_table(table.select(schema.names))
    products = dict(portfolio.products)
    if products:
        if encode_settings is None:
            raise ValueError("the portfolio carries its own products' ledger settings: pass encode_settings")
        text = json.dumps({code: dict(encode_settings(s)) for code, s in products.items()}, indent=1)
        (part_dir / PRODUCTS_FILE).write_text(text + "\n", encoding="utf-8")
    return int(loans.num_rows)


def with_loan_positions(table: pa.Table, loan_ids: pa.Array) -> pa.Table:
    """`table` with loan_id dictionary-encoded over `loan_ids` (indices = account positions)."""
    positions = accounts_of([table["loan_id"]], loan_ids, missing=-1)[0]
    if (positions < 0).any():
        missing = table["loan_id"][int(np.argmax(positions < 0))].as_py()
        raise ValueError(f"{missing!r} has rows but no loan in this part")
    encoded = pa.DictionaryArray.from_arrays(pa.array(positions.astype(np.int32)), loan_ids)
    index = table.schema.get_field_index("loan_id")
    return table.set_column(index, pa.field("loan_id", LOAN_ID_TYPE), encoded)


def write_portfolio_snapshot(
    portfolio: Portfolio,
    out_dir: str | Path,
    part_accounts: int = 1_000_000,
    *,
    as_of: date | None = None,
    compression: str | None = COMPRESSION,
    encode_settings: SettingsEncoder | None = None,
) -> Manifest:
    """An in-memory portfolio as a snapshot directory, split by its loans rows (rows of no loan are left out).

    Its products' ledger settings, if it carries any, go into every part (`encode_settings` writes them)."""
    if part_accounts < 1:
        raise InputError("a part holds at least one account", field="part_accounts")
    if portfolio.products and encode_settings is None:
        raise ValueError("the portfolio carries its own products' ledger settings: pass encode_settings")
    root = Path(out_dir)
    _clear_for_writing(root)
    loans = portfolio["loans"].combine_chunks()
    if pc.count_distinct(loans["loan_id"]).as_py() != loans.num_rows:
        raise InputError("loan ids repeat in the portfolio", field="loan_id")
    loan_ids = loans["loan_id"].chunk(0) if loans.num_rows else pa.array([], pa.string())
    children = {name: _by_position(portfolio[name], loan_ids) for name in CHILD_TABLES}
    borrowers = portfolio["borrowers"]
    parts: list[PartEntry] = []
    started = time.perf_counter()
    for index, start in enumerate(range(0, max(loans.num_rows, 1), part_accounts)):
        stop = min(start + part_accounts, loans.num_rows)
        part_loans = loans.slice(start, stop - start)
        tables = {"loans": part_loans}
        part_ids = loan_ids.slice(start, stop - start)
        for name, (table, positions) in children.items():
            lo, hi = (int(i) for i in np.searchsorted(positions, [start, stop]))
            # already encoded over the part's loans: write_part need not look the ids up again
            codes = pa.DictionaryArray.from_arrays(
                pa.array((positions[lo:hi] - start).astype(np.int32)), part_ids
            )
            rows = table.slice(lo, hi - lo)
            tables[name] = rows.set_column(
                rows.schema.get_field_index("loan_id"), pa.field("loan_id", LOAN_ID_TYPE), codes
            )
        tables["borrowers"] = borrowers.filter(pc.is_in(borrowers["borrower_id"], part_loans["borrower_id"]))
        name = part_name(index)
        part = Portfolio(tables, portfolio.products)
        parts.append(PartEntry(name, write_part(part, root / name, compression, encode_settings)))
    manifest = Manifest(
        accounts=loans.num_rows,
        part_accounts=part_accounts,
        parts=tuple(parts),
        as_of=as_of,
        seed=None,
        made=_made("portfolio", time.perf_counter() - started),
        compression=compression,
    )
    _write_manifest(root, manifest)
    return manifest


def _by_position(table: pa.Table, loan_ids: pa.Array) -> tuple[pa.Table, np.ndarray]:
    """The rows that belong to a loan, stably sorted by its position (each loan's rows keep their order)."""
    values = accounts_of([table["loan_id"]], loan_ids, missing=-1)[0]
    known = values >= 0
    if not known.all():
        table, values = table.filter(pa.array(known)), values[known]
    order = np.argsort(values, kind="stable")
    return table.take(pa.array(order)), values[order]


def write_drawn_snapshot(
    out_dir: str | Path,
    accounts: int,
    draw: Draw,
    *,
    as_of: date,
    part_accounts: int = 1_000_000,
    seed: int = 1,
    progress: PartsProgress | None = None,
    processes: int | None = None,
    compression: str | None = COMPRESSION,
) -> Manifest:
    """A portfolio of `accounts` loans drawn by `draw` (a synthetic generator) as a snapshot directory,
    part by part.

    Part k is drawn with seed `seed + k`; its loan and borrower ids are prefixed `Pkkkkk-`, so they are
    unique across parts and in part order. Each part is drawn and written in a child process of its own
    (spawned, so memory stays about one or two parts: `draw` must be a module-level function), or in this
    one when the whole portfolio is small (`processes=0` forces that, a number forces that many children).
    A directory whose manifest names the same draw is re-used as it is. `progress` hears of each part drawn.
    """
    if accounts < 1:
        raise InputError("a snapshot needs at least one account", field="--accounts")
    if part_accounts < 1:
        raise InputError("a part holds at least one account", field="--part-accounts")
    root = Path(out_dir)
    existing = reusable(
        root, accounts, part_accounts=part_accounts, seed=seed, as_of=as_of, compression=compression
    )
    if existing is not None:
        return existing
    _clear_for_writing(root)
    sizes = [min(part_accounts, accounts - start) for start in range(0, accounts, part_accounts)]
    tasks = [
        (draw, root / part_name(k), size, seed + k, as_of, k, compression) for k, size in enumerate(sizes)
    ]
    workers = _draw_processes(accounts, part_accounts, len(sizes)) if processes is None else processes
    workers = max(0, min(workers, len(tasks)))
    started = time.perf_counter()
    if progress is not None:
        progress.phase(f"drawing {accounts:,} accounts in {len(sizes)} part(s)", len(sizes))
    with ExitStack() as stack:
        results: Iterable[int]
        if workers <= 0:
            results = map(draw_part, tasks)
        else:
            context = multiprocessing.get_context("spawn")
            pool = stack.enter_context(context.Pool(workers, maxtasksperchild=1))
            results = pool.imap(draw_part, tasks)
        for _drawn in results:
            if progress is not None:
                progress.advance(1)
    manifest = Manifest(
        accounts=accounts,
        part_accounts=part_accounts,
        parts=tuple(PartEntry(part_name(k), size) for k, size in enumerate(sizes)),
        as_of=as_of,
        seed=seed,
        made=_made("generator", time.perf_counter() - started, processes=workers),
        compression=compression,
    )
    _write_manifest(root, manifest)
    return manifest


def reusable(
    out_dir: str | Path,
    accounts: int,
    *,
    part_accounts: int,
    seed: int,
    as_of: date,
    compression: str | None = COMPRESSION,
) -> Manifest | None:
    """The manifest of the generator's snapshot in `out_dir` if it is this very draw, whole; else None."""
    root = Path(out_dir)
    if not (root / MANIFEST).is_file():
        return None
    try:
        existing = read_manifest(root)
    except InputError:
        return None
    if not existing.same_draw(accounts, part_accounts, seed, as_of, compression):
        return None
    if not all((root / p.dir / f"{name}.arrow").is_file() for p in existing.parts for name in SCHEMAS):
        return None
    return existing


def draw_part(task: tuple[Draw, Path, int, int, date, int, str | None]) -> int:
    """Draw one part with the generator, give it the part's id prefix, write it; its accounts."""
    draw, part_dir, accounts, seed, as_of, index, compression = task
    portfolio = draw(accounts, seed, as_of)
    if portfolio.account_count != accounts:
        raise RuntimeError(f"the generator drew {portfolio.account_count} accounts, not {accounts}")
    written = write_part(prefixed(portfolio, f"P{index:05d}-"), part_dir, compression)
    return written


def prefixed(portfolio: Portfolio, prefix: str) -> Portfolio:
    """The same portfolio with `prefix` before every loan, borrower and payment id (order kept)."""
    id_columns = {"loan_id", "borrower_id", "payment_id"}
    tables: dict[str, pa.Table] = {}
    for name, table in portfolio.tables.items():
        for index, column in enumerate(table.schema):
            if column.name in id_columns:
                table = table.set_column(
                    index, column, pc.binary_join_element_wise(prefix, table[column.name], "")
                )
        tables[name] = table
    return Portfolio(tables, dict(portfolio.products))


def _draw_processes(accounts: int, part_accounts: int, parts: int) -> int:
    """0 (draw here) for a small portfolio; else as many children at once as cores and memory allow."""
    if accounts <= IN_PROCESS_ACCOUNTS:
        return 0
    by_memory = max(1, DRAW_MEMORY_BUDGET // (DRAW_BYTES_PER_ACCOUNT * min(part_accounts, accounts)))
    return max(1, min(parts, os.cpu_count() or 1, by_memory))


def _made(by: str, seconds: float, **more: object) -> dict[str, Any]:
    return {
        "by": by,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        **more,
    }


def _write_manifest(root: Path, manifest: Manifest) -> None:
    temporary = root / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest.to_json(), indent=1) + "\n", encoding="utf-8")
    temporary.replace(root / MANIFEST)


def _clear_for_writing(root: Path) -> None:
    """An empty directory to write a snapshot into: only a snapshot's own files are ever removed."""
    if root.exists() and not root.is_dir():
        raise InputError("exists and is not a directory", file=str(root))
    root.mkdir(parents=True, exist_ok=True)
    ours = {MANIFEST, MANIFEST + ".tmp"}
    foreign = [p.name for p in root.iterdir() if p.name not in ours and not p.name.startswith("part-")]
    if foreign:
        raise InputError(
            f"not a snapshot directory (holds {', '.join(sorted(foreign)[:3])}); will not write over it",
            file=str(root),
        )
    (root / MANIFEST).unlink(missing_ok=True)  # first: a half-rewritten directory is never taken as whole
    for path in root.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


__all__ = [
    "COMPRESSION",
    "FORMAT",
    "MAPPED_COMPRESSION",
    "Draw",
    "Manifest",
    "PartEntry",
    "PartsProgress",
    "SettingsEncoder",
    "read_manifest",
    "read_part",
    "read_parts",
    "reusable",
    "write_drawn_snapshot",
    "write_portfolio_snapshot",
]
