"""Importing loans, payments and account events from CSV or Parquet files (or pyarrow Tables).

Rules (docs/import-formats.md):
- every bad row is reported with the file, its row number (the header is row 1, the first data row is
  row 2, for Parquet too), the column and the reason; if any row is bad NOTHING is written, unless
  skip_bad, which writes the good rows and puts the bad ones in FILE.rejects.csv with the reason;
- one transaction per import; an import writes one audit row and one `imports` row;
- idempotent: a loan, payment or event id that is already stored is counted as a duplicate and left as
  it is (a loan re-imported with different contents is a bad row).

Validation is columnar (pyarrow.compute / numpy), not a Python loop per row, so a million payments validate
in well under a second; only rare rows (reversals, rows with errors) are looked at one by one.
"""

from __future__ import annotations

import csv
import json
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import bindparam, insert, select, update

from arrears.adapters.import_layout import (
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    LOAN_OPTIONAL,
    LOAN_REQUIRED,
    PAYMENT_OPTIONAL,
    PAYMENT_REQUIRED,
)
from arrears.adapters.store.bulk import as_date
from arrears.adapters.store.models import (
    ImportRow,
    PaymentRow,
    PostingRow,
)
from arrears.adapters.store.records import EVENT_KINDS, PERSONAS
from arrears.domain.errors import InputError
from arrears.domain.money import MINOR_DIGITS, format_minor
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

ERRORS_SHOWN = 20
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
POSTING_INSERT = (
    "INSERT INTO ledger_postings (loan_id, posted_at, effective_on, kind, component, amount, ref, import_id)"
)
ID_MAX = 64
_NUMBER = r"^(?P<neg>-?)(?P<whole>\d+)(?:\.(?P<frac>\d+))?$"
_PHONE = r"^\+?[0-9][0-9 \-]{4,30}$"
_ID_NUMBER = r"^[0-9A-Za-z]{4,32}$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Source = str | Path | pa.Table


class ProgressSink(Protocol):
    """Where an import reports progress (the CLI shows a Rich bar; nothing by default)."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based, the header is row 1
    column: str | None
    reason: str

    def as_input_error(self, source: str) -> InputError:
        return InputError(self.reason, file=source, line=self.row, field=self.column)

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(slots=True)
class ImportResult:
    kind: str
    source: str
    rows_read: int
    written: int
    duplicates: int
    rejected: int
    seconds: float
    errors: list[RowError] = field(default_factory=list)
    rejects_file: str | None = None
    details: dict[str, int] = field(default_factory=dict)
    import_id: int | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "file": self.source,
            "rows": self.rows_read,
            "written": self.written,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rows_per_s),
            **self.details,
            "rejects_file": self.rejects_file,
            "errors": [e.to_dict() for e in self.errors[:ERRORS_SHOWN]],
            "error_count": len(self.errors),
            "import_id": self.import_id,
        }


class ImportRejected(InputError):
    """The file has bad rows and nothing was written; `errors` lists every one."""

    def __init__(self, source: str, errors: list[RowError], rows_read: int) -> None:
        self.errors = errors
        self.rows_read = rows_read
        bad_rows = len({e.row for e in errors})
        super().__init__(f"{bad_rows} bad row(s) of {rows_read}; nothing was written", file=source)


# --------------------------------------------------------------------------------------------- reading


def read_table(path: str | Path) -> pa.Table:
    """A CSV (UTF-8, header row; every column read as text) or Parquet file as a pyarrow Table."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise InputError("file not found", file=name)
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Parquet file: {exc}", file=name) from None
    if suffix not in (".csv", ".txt"):
        raise InputError("unknown file type (use .csv or .parquet)", file=name)
    with p.open("rb") as fh:
        first = fh.readline()
    try:
        header = next(csv.reader([first.decode("utf-8-sig")]), None)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=name, line=1) from None
    if not header or not any(h.strip() for h in header):
        raise InputError("empty file: no header row", file=name, line=1)
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputError(f"column {h!r} appears twice in the header", file=name, line=1, field=h)
        seen.add(h)
    try:
        return pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        line = _bad_utf8_line(p)
        if line is not None:
            raise InputError("not UTF-8 text", file=name, line=line) from None
        raise InputError(f"cannot read CSV: {exc}", file=name) from None


def _bad_utf8_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8 (None if the file is valid UTF-8)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None


def _load(source: Source, name: str | None) -> tuple[pa.Table, str, Path | None]:
    if isinstance(source, pa.Table):
        return source, name or "<table>", None
    return read_table(source), name or str(source), Path(source)


# ------------------------------------------------------------------------------------------ validation

Reason = str | Callable[[int], str]


def _np_bool(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.array(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _codes(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes per row (−1 for null) and the distinct values."""
    encoded = pc.dictionary_encode(values)
    codes = np.array(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, encoded.dictionary


def _first_index(keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same key (itself when not valid)."""
    out = np.arange(len(keys))
    idx = np.flatnonzero(valid)
    if idx.size:
        _, first, inverse = np.unique(keys[idx], return_index=True, return_inverse=True)
        out[idx] = idx[first][inverse]
    return out


class _Rows:
    """One file's rows under validation: typed columns plus every problem found, by row."""

    def __init__(
        self, table: pa.Table, source: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> None:
        missing = [c for c in required if c not in table.column_names]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)} (required: {', '.join(required)})",
                file=source,
                line=1,
                field=missing[0],
            )
        self.table = table
        self.source = source
        self.n = table.num_rows
        self.ignored = [c for c in table.column_names if c not in required and c not in optional]
        self._groups: list[tuple[np.ndarray, str | None, Reason]] = []

    # problems ------------------------------------------------------------------------------------

    def flag(self, where: np.ndarray, column: str | None, reason: Reason) -> None:
        """Report rows (a boolean mask or row indices) as bad, with the column and reason."""
        idx = np.flatnonzero(where) if where.dtype == bool else where
        if idx.size:
            self._groups.append((idx.astype(np.int64), column, reason))

    def bad(self) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for idx, _, _ in self._groups:
            mask[idx] = True
        return mask

    def errors(self) -> list[RowError]:
        found: list[tuple[int, int, RowError]] = []
        for order, (idx, column, reason) in enumerate(self._groups):
            for i in idx.tolist():
                message = reason(i) if callable(reason) else reason
                found.append((i, order, RowError(i + 2, column, message)))
        found.sort(key=lambda t: (t[0], t[1]))
        return [e for _, _, e in found]

    def value(self, column: str, i: int) -> Any:
        return self.table.column(column)[i].as_py()

    # typed columns -------------------------------------------------------------------------------

    def _column(self, name: str) -> pa.Array | None:
        if name not in self.table.column_names:
            return None
        col = self.table.column(name)
        return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col

    def text(self, name: str, *, required: bool = False, max_len: int | None = ID_MAX) -> pa.Array:
        """A text column, trimmed; empty means missing (null). Messages never echo its values."""
        col = self._column(name)
        if col is None:
            return pa.nulls(self.n, pa.string())
        if pa.types.is_floating(col.type):
            raise InputError(
                "holds floating-point numbers; write text (amounts as decimal strings)",
                file=self.source,
                field=name,
            )
        if not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        col = pc.utf8_trim_whitespace(col)
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        if required:
            self.flag(_np_bool(pc.is_null(col)), name, "is required")
        if max_len is not None:
            too_long = _np_bool(pc.greater(pc.utf8_length(col), max_len))
            self.flag(too_long, name, f"is longer than {max_len} characters")
            if too_long.any():
                col = pc.if_else(pa.array(too_long), pa.scalar(None, pa.string()), col)
        return col

    def pattern(self, name: str, values: pa.Array, regex: str, what: str) -> None:
        """Rows whose (present) value does not match; the value is not echoed (it may be personal data)."""
        present = _np_bool(pc.is_valid(values))
        ok = _np_bool(pc.match_substring_regex(values, regex))
        self.flag(present & ~ok, name, f"is not {what}")

    def one_of(
        self, name: str, values: pa.Array, allowed: tuple[str, ...] | list[str], what: str
    ) -> np.ndarray:
        present = _np_bool(pc.is_valid(values))
        known = _np_bool(pc.is_in(values, value_set=pa.array(list(allowed), pa.string())))
        bad = present & ~known
        self.flag(bad, name, lambda i: f"unknown {what} {values[i].as_py()!r} (use {', '.join(allowed)})")
        return bad

    def dates(self, name: str, *, required: bool = False) -> pa.Array:
        """A date column (YYYY-MM-DD text or a Parquet date); bad or missing values become null."""
        col = self._column(name)
        if col is not None and pa.types.is_date(col.type):
            out = pc.cast(col, pa.date32())
            if required:
                self.flag(_np_bool(pc.is_null(out)), name, "is required")
        else:
            values = self.text(name, required=required, max_len=None)
            try:  # the usual case: every value is a clean ISO date, and one strict cast says so
                out = pc.cast(values, pa.date32())
            except pa.ArrowInvalid:
                out = self._dates_one_by_one(name, values)
        outside = _np_bool(pc.or_(pc.less(out, EARLIEST), pc.greater(out, LATEST)))
        self.flag(outside, name, lambda i: f"date {out[i]} is out of range ({EARLIEST}..{LATEST})")
        if outside.any():
            out = pc.if_else(pa.array(outside), pa.scalar(None, pa.date32()), out)
        return out

    def _dates_one_by_one(self, name: str, values: pa.Array) -> pa.Array:
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2026-02-30 over to March and takes 2026-1-5: only an exact round trip counts.
        exact = _np_bool(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values))
        present = _np_bool(pc.is_valid(values))
        bad = present & ~exact
        self.flag(bad, name, lambda i: f"bad date {values[i].as_py()!r} (use YYYY-MM-DD)")
        out = pc.cast(parsed, pa.date32())
        if bad.any():
            out = pc.if_else(pa.array(bad), pa.scalar(None, pa.date32()), out)
        return out

    def counts(self, name: str, *, required: bool = False, minimum: int = 1) -> np.ndarray:
        """A whole-number column (e.g. instalment seq); 0 where missing or bad."""
        values = self.text(name, required=required, max_len=None)
        ok = _np_bool(pc.match_substring_regex(values, r"^\d{1,9}$"))
        present = _np_bool(pc.is_valid(values))
        self.flag(present & ~ok, name, lambda i: f"not a whole number: {values[i].as_py()!r}")
        filled = pc.if_else(pa.array(ok), values, "0")
        out = np.array(pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        small = ok & (out < minimum)
        self.flag(small, name, f"must be at least {minimum}")
        out[~ok | small] = 0
        return out

    def amounts(self, name: str, digits: np.ndarray, *, required: bool, positive: bool = False) -> np.ndarray:
        """Decimal strings → integer minor units (digits per row from the currency); 0 where bad."""
        col = self._column(name)
        if col is not None and pa.types.is_floating(col.type):
            raise InputError(
                'floating-point amounts are not accepted: write decimal strings such as "1234.56"',
                file=self.source,
                field=name,
            )
        values = self.text(name, required=required, max_len=None)
        parts = pc.extract_regex(values, _NUMBER)
        present = _np_bool(pc.is_valid(values))
        matched = _np_bool(pc.is_valid(parts))
        self.flag(present & ~matched, name, lambda i: f"not a decimal amount: {values[i].as_py()!r}")
        neg = _np_bool(pc.equal(parts.field("neg"), "-")) & matched
        self.flag(neg, name, lambda i: f"negative amount {values[i].as_py()!r}")
        whole = parts.field("whole")
        frac = parts.field("frac")
        whole_len = np.array(pc.fill_null(pc.utf8_length(whole), 0).to_numpy(zero_copy_only=False))
        frac_len = np.array(pc.fill_null(pc.utf8_length(frac), 0).to_numpy(zero_copy_only=False))
        huge = matched & (whole_len > 15)
        self.flag(huge, name, lambda i: f"amount too large: {values[i].as_py()!r}")
        too_precise = matched & (frac_len > digits)
        self.flag(
            too_precise,
            name,
            lambda i: f"too many decimals in {values[i].as_py()!r} (the currency has {int(digits[i])})",
        )
        ok = matched & ~neg & ~huge & ~too_precise
        ok_arr = pa.array(ok)
        whole_int = np.array(
            pc.cast(pc.if_else(ok_arr, whole, "0"), pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        has_frac = pa.array(ok & (frac_len > 0))
        frac_int = np.array(
            pc.cast(pc.if_else(has_frac, frac, "0"), pa.int64()).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        scale = np.power(10, np.clip(digits - frac_len, 0, None)).astype(np.int64)
        out = whole_int * np.power(10, digits).astype(np.int64) + frac_int * scale
        out[~ok] = 0
        if positive:
            self.flag(ok & (out == 0), name, "must be more than zero")
        return out

    def duplicates(self, name: str, values: pa.Array) -> np.ndarray:
        """Rows whose id already appeared higher up in the file (flagged)."""
        codes, _ = _codes(values)
        first = _first_index(codes, codes >= 0)
        dup = first != np.arange(self.n)
        self.flag(
            dup, name, lambda i: f"duplicate in file: {values[i].as_py()!r} is also on row {first[i] + 2}"
        )
        return dup

    def reject_whole_groups(self, codes: np.ndarray, label: str, ids: pa.Array) -> None:
        """With skip_bad, a loan with one bad row is rejected whole (a partial schedule would be wrong)."""
        bad = self.bad()
        if not bad.any():
            return
        first_bad: dict[int, int] = {}
        for i in np.flatnonzero(bad & (codes >= 0)).tolist():
            first_bad.setdefault(int(codes[i]), i)
        if not first_bad:
            return
        group_bad = np.isin(codes, np.fromiter(first_bad, dtype=np.int64)) & ~bad
        self.flag(
            group_bad,
            None,
            lambda i: f"{label} {ids[i].as_py()} has a bad row (row {first_bad[int(codes[i])] + 2})",
        )


def _digits_per_row(currency: pa.Array) -> np.ndarray:
    known = pa.array(list(MINOR_DIGITS), pa.string())
    index = pc.index_in(currency, value_set=known)
    digits = pc.take(pa.array(list(MINOR_DIGITS.values()), pa.int64()), index)
    return np.array(pc.fill_null(digits, 2).to_numpy(zero_copy_only=False), dtype=np.int64)


# ---------------------------------------------------------------------------------------- bookkeeping


def _start(uow: UnitOfWork, kind: str, source: str, actor: str, rows: int) -> tuple[int, datetime]:
    at = datetime.now(UTC)
    result = uow.connection.execute(
        insert(ImportRow)
        .values(
            kind=kind,
            source=source,
            actor=actor,
            started_at=at,
            rows_read=rows,
            written=0,
            duplicates=0,
            rejected=0,
        )
        .returning(ImportRow.id)
    )
    return int(result.scalar_one()), at


def _finish(uow: UnitOfWork, result: ImportResult, actor: str, started: float) -> ImportResult:
    assert result.import_id is not None
    uow.connection.execute(
        update(ImportRow)
        .where(ImportRow.id == result.import_id)
        .values(written=result.written, duplicates=result.duplicates, rejected=result.rejected)
    )
    audit.append(
        uow,
        actor,
        f"import.{result.kind}",
        result.source,
        {
            "import_id": result.import_id,
            "rows": result.rows_read,
            "written": result.written,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            **result.details,
        },
    )
    uow.commit()
    result.seconds = time.perf_counter() - started
    return result


def _rejects(rows: _Rows, errors: list[RowError], path: Path | None) -> str | None:
    """Write the bad rows, as they were, plus reject_row, reject_column and reason, to FILE.rejects.csv."""
    if path is None or not errors:
        return None
    by_row: dict[int, list[RowError]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e)
    order = sorted(by_row)
    bad = rows.table.take(pa.array([r - 2 for r in order], pa.int64()))
    cols = {name: pc.cast(bad.column(name), pa.string()) for name in bad.column_names}
    cols["reject_row"] = pa.array(order, pa.int64())
    cols["reject_column"] = pa.array([by_row[r][0].column for r in order], pa.string())
    cols["reason"] = pa.array(
        ["; ".join(f"{e.column}: {e.reason}" if e.column else e.reason for e in by_row[r]) for r in order],
        pa.string(),
    )
    out = Path(f"{path}.rejects.csv")
    pacsv.write_csv(pa.table(cols), out)
    return str(out)


def _settle(rows: _Rows, skip_bad: bool, path: Path | None) -> tuple[np.ndarray, list[RowError], str | None]:
    """Stop here (ImportRejected) if rows are bad and skip_bad is off; else the good-row mask."""
    bad = rows.bad()
    errors = rows.errors() if bad.any() else []
    if errors and not skip_bad:
        raise ImportRejected(rows.source, errors, rows.n)
    return ~bad, errors, _rejects(rows, errors, path) if skip_bad else None


def _phase(progress: ProgressSink | None, name: str, total: int | None) -> None:
    if progress is not None:
        progress.phase(name, total)


def _advance(progress: ProgressSink | None) -> Callable[[int], None] | None:
    return progress.advance if progress is not None else None


# ---------------------------------------------------------------------------------------------- loans


def import_loans(
    uow: UnitOfWork,
    source: Source,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    actor: str | None = None,
    progress: ProgressSink | None = None,
) -> ImportResult:
    """Import a loans file (one row per instalment) and commit; ImportRejected if rows are bad."""
    started = time.perf_counter()
    actor = actor or audit.default_actor()
    _phase(progress, "read", None)
    table, src, path = _load(source, name)
    rows = _Rows(table, src, LOAN_REQUIRED, LOAN_OPTIONAL)
    n = rows.n
    _phase(progress, "validate", None)

    loan_id = rows.text("loan_id", required=True)
    borrower_id = rows.text("borrower_id", required=True)
    product = rows.text("product", required=True)
    currency = rows.text("currency", required=True, max_len=3)
    products = uow.products.codes()
    rows.one_of("product", product, sorted(products), "product")
    bad_currency = rows.one_of("currency", currency, sorted(MINOR_DIGITS), "currency")
    product_currency = pc.take(
        pa.array(list(products.values()), pa.string()),
        pc.index_in(product, value_set=pa.array(list(products), pa.string())),
    )
    mismatch = _np_bool(pc.not_equal(currency, product_currency)) & ~bad_currency
    rows.flag(
        mismatch,
        "currency",
        lambda i: (
            f"{currency[i].as_py()} does not match product {product[i].as_py()} "
            f"({product_currency[i].as_py()})"
        ),
    )
    digits = _digits_per_row(currency)
    seq = rows.counts("seq", required=True)
    due = rows.dates("due_date", required=True)
    principal = rows.amounts("principal", digits, required=True)
    interest = rows.amounts("interest", digits, required=False)
    fees = rows.amounts("fees", digits, required=False)
    opened = rows.dates("opened_on")
    late_open = _np_bool(pc.greater(opened, due))
    rows.flag(late_open, "opened_on", lambda i: f"opened_on {opened[i]} is after due_date {due[i]}")

    borrower_name = rows.text("borrower_name", max_len=128)
    phone = rows.text("phone", max_len=32)
    rows.pattern("phone", phone, _PHONE, "a phone number")
    id_number = rows.text("id_number", max_len=32)
    rows.pattern("id_number", id_number, _ID_NUMBER, "an ID number")
    email = rows.text("email", max_len=254)
    rows.pattern("email", email, _EMAIL, "an e-mail address")
    timezone = rows.text("timezone")
    unknown_zones = [z for z in pc.unique(timezone).to_pylist() if z is not None and not _is_zone(z)]
    rows.flag(
        _np_bool(pc.is_in(timezone, value_set=pa.array(unknown_zones, pa.string()))),
        "timezone",
        lambda i: f"unknown time zone {timezone[i].as_py()!r} (use an IANA name such as Asia/Shanghai)",
    )
    region = rows.text("region")
    language = rows.text("language", max_len=16)
    persona = rows.text("persona", max_len=16)
    rows.one_of("persona", persona, PERSONAS, "persona")

    # Rows of one loan must agree on who, what product and which currency; seq is unique per loan.
    codes, loan_ids = _codes(loan_id)
    first = _first_index(codes, codes >= 0)
    later = (first != np.arange(n)) & (codes >= 0)
    first_arr = pa.array(first)
    for column, values in (
        ("borrower_id", borrower_id),
        ("product", product),
        ("currency", currency),
        ("opened_on", opened),
    ):
        head = pc.take(values, first_arr)
        same = _np_bool(pc.equal(values, head)) | (_np_bool(pc.is_null(values)) & _np_bool(pc.is_null(head)))
        rows.flag(
            later & ~same,
            column,
            lambda i, v=values, h=head, c=column: (
                f"loan {loan_id[i].as_py()} has {c} {_shown(v[i])} here "
                f"but {_shown(h[i])} on row {first[i] + 2}"
            ),
        )
    seq_key = codes * (1 << 31) + seq
    seq_first = _first_index(seq_key, (codes >= 0) & (seq > 0))
    rows.flag(
        seq_first != np.arange(n),
        "seq",
        lambda i: (
            f"duplicate in file: loan {loan_id[i].as_py()} seq {seq[i]} is also on row {seq_first[i] + 2}"
        ),
    )

    # Already stored: the same contents are duplicates; different contents are bad rows.
    stored_dup = _compare_stored_loans(
        uow,
        rows,
        codes,
        loan_ids,
        borrower_id,
        product,
        currency,
        opened,
        seq,
        due,
        principal,
        interest,
        fees,
    )
    if skip_bad:
        rows.reject_whole_groups(codes, "loan", loan_id)
    good, errors, rejects_file = _settle(rows, skip_bad, path)
    write = good & ~stored_dup

    import_id, at = _start(uow, "loans", src, actor, n)
    idx = np.flatnonzero(write)
    _phase(progress, "write", int(idx.size))
    borrowers_written = loans_written = written = 0
    if idx.size:
        with uow.bulk.deferred_indexes(
            ["borrowers", "loans", "instalments", "ledger_postings"], int(idx.size)
        ):
            b_codes, _ = _codes(pc.take(borrower_id, pa.array(idx)))
            borrower_rows = pa.array(idx[np.unique(b_codes, return_index=True)[1]])
            borrowers_written = uow.bulk.insert(
                "borrowers",
                pa.table(
                    {
                        "id": pc.take(borrower_id, borrower_rows),
                        "name": pc.take(borrower_name, borrower_rows),
                        "phone": pc.take(phone, borrower_rows),
                        "id_number": pc.take(id_number, borrower_rows),
                        "email": pc.take(email, borrower_rows),
                        "timezone": pc.take(timezone, borrower_rows),
                        "region": pc.take(region, borrower_rows),
                        "language": pc.take(language, borrower_rows),
                        "persona": pc.take(persona, borrower_rows),
                    }
                ),
                constants={"created_at": at, "import_id": import_id},
            )
            loan_rows = pa.array(np.flatnonzero(write & (first == np.arange(n))))
            loans_written = uow.bulk.insert(
                "loans",
                pa.table(
                    {
                        "id": pc.take(loan_id, loan_rows),
                        "borrower_id": pc.take(borrower_id, loan_rows),
                        "product_code": pc.take(product, loan_rows),
                        "currency": pc.take(currency, loan_rows),
                        "opened_on": pc.take(opened, loan_rows),
                    }
                ),
                constants={"created_at": at, "import_id": import_id},
            )
            take = pa.array(idx)
            written = uow.bulk.insert(
                "instalments",
                pa.table(
                    {
                        "loan_id": pc.take(loan_id, take),
                        "seq": pa.array(seq[idx]),
                        "due_date": pc.take(due, take),
                        "principal": pa.array(principal[idx]),
                        "interest": pa.array(interest[idx]),
                        "fees": pa.array(fees[idx]),
                    }
                ),
                then=[
                    f"{POSTING_INSERT} SELECT loan_id, :at, due_date, 'schedule', '{component}', {component}, "
                    f"CAST(seq AS VARCHAR(64)), :imp FROM inserted WHERE {component} <> 0"
                    for component in ("principal", "interest", "fees")
                ],
                params={"at": at, "imp": import_id},
                progress=_advance(progress),
            )
    rejected = len({e.row for e in errors})
    result = ImportResult(
        kind="loans",
        source=src,
        rows_read=n,
        written=written,
        duplicates=n - written - rejected,
        rejected=rejected,
        seconds=0.0,
        errors=errors,
        rejects_file=rejects_file,
        details={"loans": loans_written, "borrowers": borrowers_written},
        import_id=import_id,
    )
    return _finish(uow, result, actor, started)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _shown(scalar: pa.Scalar) -> str:
    value = scalar.as_py()
    return "(empty)" if value is None else repr(str(value))


def _compare_stored_loans(
    uow: UnitOfWork,
    rows: _Rows,
    codes: np.ndarray,
    loan_ids: pa.Array,
    borrower_id: pa.Array,
    product: pa.Array,
    currency: pa.Array,
    opened: pa.Array,
    seq: np.ndarray,
    due: pa.Array,
    principal: np.ndarray,
    interest: np.ndarray,
    fees: np.ndarray,
) -> np.ndarray:
    """Rows of loans already stored with the same contents (duplicates); other stored loans are flagged."""
    dup = np.zeros(rows.n, dtype=bool)
    ids = loan_ids.to_pylist()
    heads = {
        r[0]: (r[1], r[2], r[3], as_date(r[4]))
        for r in uow.bulk.lookup(
            "loans", "id", ids, ["id", "borrower_id", "product_code", "currency", "opened_on"]
        )
    }
    if not heads:
        return dup
    stored: dict[str, dict[int, tuple[date | None, int, int, int]]] = {k: {} for k in heads}
    for r in uow.bulk.lookup(
        "instalments", "loan_id", list(heads), ["loan_id", "seq", "due_date", "principal", "interest", "fees"]
    ):
        stored[r[0]][int(r[1])] = (as_date(r[2]), int(r[3]), int(r[4]), int(r[5]))
    stored_codes = np.array([i for i, v in enumerate(ids) if v in heads], dtype=np.int64)
    idx = np.flatnonzero(np.isin(codes, stored_codes))
    mine: dict[str, list[int]] = {}
    for i in idx.tolist():
        mine.setdefault(ids[codes[i]], []).append(i)
    for lid, members in mine.items():
        head = heads[lid]
        i0 = members[0]
        file_head = (
            borrower_id[i0].as_py(),
            product[i0].as_py(),
            currency[i0].as_py(),
            opened[i0].as_py(),
        )
        file_sched = {
            int(seq[i]): (due[i].as_py(), int(principal[i]), int(interest[i]), int(fees[i])) for i in members
        }
        difference = _difference(head, file_head, stored[lid], file_sched, currency[i0].as_py() or "CNY")
        member_idx = np.array(members, dtype=np.int64)
        if difference is None:
            dup[member_idx] = True
        else:
            rows.flag(
                member_idx, "loan_id", f"loan {lid} is already stored with different contents ({difference})"
            )
    return dup


def _difference(
    head: tuple[Any, ...],
    file_head: tuple[Any, ...],
    stored: dict[int, tuple[date | None, int, int, int]],
    mine: dict[int, tuple[date | None, int, int, int]],
    currency: str,
) -> str | None:
    for label, a, b in zip(("borrower_id", "product", "currency", "opened_on"), head, file_head, strict=True):
        if a != b:
            return f"{label}: stored {a}, file {b}"
    if set(stored) != set(mine):
        return f"instalments: stored seq {sorted(stored)}, file seq {sorted(mine)}"
    for s in sorted(stored):
        if stored[s] != mine[s]:
            names = ("due_date", "principal", "interest", "fees")
            for label, a, b in zip(names, stored[s], mine[s], strict=True):
                if a != b:
                    shown_a = format_minor(a, currency) if isinstance(a, int) else a
                    shown_b = format_minor(b, currency) if isinstance(b, int) else b
                    return f"seq {s} {label}: stored {shown_a}, file {shown_b}"
    return None


# ------------------------------------------------------------------------------------------- payments


@dataclass(frozen=True, slots=True)
class _Original:
    loan_id: str
    paid_on: date
    amount: int
    reversal_id: str | None
    row: int | None  # file row index, or None when stored


def import_payments(
    uow: UnitOfWork,
    source: Source,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    actor: str | None = None,
    progress: ProgressSink | None = None,
) -> ImportResult:
    """Import a payments file (reversals included: a row with `reverses`) and commit."""
    started = time.perf_counter()
    actor = actor or audit.default_actor()
    _phase(progress, "read", None)
    table, src, path = _load(source, name)
    rows = _Rows(table, src, PAYMENT_REQUIRED, PAYMENT_OPTIONAL)
    n = rows.n
    _phase(progress, "validate", None)

    payment_id = rows.text("payment_id", required=True)
    loan_id = rows.text("loan_id", required=True)
    paid_on = rows.dates("paid_on", required=True)
    reverses = rows.text("reverses")
    source_col = rows.text("source", max_len=200)
    rows.duplicates("payment_id", payment_id)

    _, known, loan_currency, opened = _known_loans(uow, rows, loan_id)
    digits = _digits_per_row(loan_currency)
    amount = rows.amounts("amount", digits, required=True, positive=True)
    early = _np_bool(pc.less(paid_on, opened)) & known
    rows.flag(early, "paid_on", lambda i: f"paid on {paid_on[i]}, before the loan was opened ({opened[i]})")

    is_reversal = _np_bool(pc.is_valid(reverses))
    plain = ~is_reversal
    if uow.connection.scalar(select(PaymentRow.id).where(PaymentRow.reversal_id.is_not(None)).limit(1)):
        # Payment and reversal ids share one namespace: a new payment may not reuse a stored reversal's id.
        plain_idx = np.flatnonzero(plain)
        taken = {
            r[0]: r[1]
            for r in uow.bulk.lookup(
                "payments",
                "reversal_id",
                pc.take(payment_id, pa.array(plain_idx)).to_pylist(),
                ["reversal_id", "id"],
            )
        }
        if taken:
            clash = plain & _np_bool(pc.is_in(payment_id, value_set=pa.array(list(taken), pa.string())))
            rows.flag(
                clash,
                "payment_id",
                lambda i: (
                    f"{payment_id[i].as_py()!r} is already stored as the reversal of payment "
                    f"{taken[payment_id[i].as_py()]}"
                ),
            )
    reversal_plan = _check_reversals(uow, rows, payment_id, loan_id, paid_on, amount, reverses, is_reversal)

    good, errors, rejects_file = _settle(rows, skip_bad, path)
    import_id, at = _start(uow, "payments", src, actor, n)
    idx = np.flatnonzero(good & plain)
    _phase(progress, "write", int(idx.size))
    payments_written = 0
    if idx.size:
        take = pa.array(idx)
        with uow.bulk.deferred_indexes(["payments", "ledger_postings"], int(idx.size)):
            payments_written = uow.bulk.insert(
                "payments",
                pa.table(
                    {
                        "id": pc.take(payment_id, take),
                        "loan_id": pc.take(loan_id, take),
                        "paid_on": pc.take(paid_on, take),
                        "amount": pa.array(amount[idx]),
                        "source": pc.take(source_col, take),
                    }
                ),
                constants={"recorded_at": at, "import_id": import_id},
                then=[
                    f"{POSTING_INSERT} SELECT loan_id, :at, paid_on, 'payment', 'payment', -amount, id, :imp "
                    "FROM inserted ORDER BY loan_id"
                ],
                params={"at": at, "imp": import_id},
                progress=_advance(progress),
            )
    applied = [r for r in reversal_plan if good[r[0]]]
    if applied:
        uow.connection.execute(
            update(PaymentRow)
            .where(PaymentRow.id == bindparam("original"), PaymentRow.reversal_id.is_(None))
            .values(reversed_on=bindparam("on"), reversal_id=bindparam("rid")),
            [{"original": o, "on": on, "rid": rid} for _, rid, o, on, _, _ in applied],
        )
        uow.connection.execute(
            insert(PostingRow),
            [
                {
                    "loan_id": lid,
                    "posted_at": at,
                    "effective_on": on,
                    "kind": "reversal",
                    "component": "payment",
                    "amount": amt,
                    "ref": rid,
                    "import_id": import_id,
                }
                for _, rid, _, on, lid, amt in applied
            ],
        )
    written = payments_written + len(applied)
    rejected = len({e.row for e in errors})
    result = ImportResult(
        kind="payments",
        source=src,
        rows_read=n,
        written=written,
        duplicates=n - written - rejected,
        rejected=rejected,
        seconds=0.0,
        errors=errors,
        rejects_file=rejects_file,
        details={"payments": payments_written, "reversals": len(applied)},
        import_id=import_id,
    )
    return _finish(uow, result, actor, started)


def _known_loans(
    uow: UnitOfWork, rows: _Rows, loan_id: pa.Array
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """Look up every distinct loan id once and flag rows of unknown loans.

    Returns per row: the loan's code, whether it is stored, its currency and its opening date.
    """
    codes, loan_ids = _codes(loan_id)
    found = uow.bulk.lookup("loans", "id", loan_ids.to_pylist(), ["id", "currency", "opened_on"])
    found_ids = pa.array([r[0] for r in found], pa.string())
    found_currency = pa.array([r[1] for r in found], pa.string())
    found_opened = pa.array([r[2] for r in found])
    found_opened = pc.cast(found_opened, pa.date32()) if len(found) else pa.array([], pa.date32())
    position = pc.index_in(loan_ids, value_set=found_ids)  # per distinct id
    is_known = np.append(_np_bool(pc.is_valid(position)), False)  # code −1 (no id) → the False at the end
    known = is_known[codes]
    rows.flag(~known & (codes >= 0), "loan_id", lambda i: f"unknown loan {loan_id[i].as_py()!r}")
    per_row = pc.take(position, pa.array(np.where(codes >= 0, codes, 0))) if len(loan_ids) else None
    if per_row is None:
        return codes, known, pa.nulls(rows.n, pa.string()), pa.nulls(rows.n, pa.date32())
    per_row = pc.if_else(pa.array(codes >= 0), per_row, pa.scalar(None, per_row.type))
    return codes, known, pc.take(found_currency, per_row), pc.take(found_opened, per_row)


def _check_reversals(
    uow: UnitOfWork,
    rows: _Rows,
    payment_id: pa.Array,
    loan_id: pa.Array,
    paid_on: pa.Array,
    amount: np.ndarray,
    reverses: pa.Array,
    is_reversal: np.ndarray,
) -> list[tuple[int, str, str, date, str, int]]:
    """Check reversal rows one by one (they are few); returns (row, reversal id, original, on, loan, amount)."""
    rev_idx = np.flatnonzero(is_reversal)
    if not rev_idx.size:
        return []
    bad_before = rows.bad()
    targets = pc.take(reverses, pa.array(rev_idx))
    in_file = pc.index_in(targets, value_set=payment_id).to_pylist()
    stored = {
        r[0]: _Original(r[1], as_date(r[2]) or date.min, int(r[3]), r[4], None)
        for r in uow.bulk.lookup(
            "payments", "id", targets.to_pylist(), ["id", "loan_id", "paid_on", "amount", "reversal_id"]
        )
    }
    own_ids = pc.take(payment_id, pa.array(rev_idx)).to_pylist()
    stored_as_payment = {
        r[0] for r in uow.bulk.lookup("payments", "id", [i for i in own_ids if i is not None], ["id"])
    }
    stored_as_reversal = {
        r[0]: r[1]
        for r in uow.bulk.lookup(
            "payments", "reversal_id", [i for i in own_ids if i is not None], ["reversal_id", "id"]
        )
    }
    plan: list[tuple[int, str, str, date, str, int]] = []
    claimed: dict[str, int] = {}
    for k, i in enumerate(rev_idx.tolist()):
        rid, target, lid = own_ids[k], targets[k].as_py(), loan_id[i].as_py()
        on = paid_on[i].as_py()
        if bad_before[i] or rid is None or on is None:
            continue
        if target == rid:
            rows.flag(np.array([i]), "reverses", "a payment cannot reverse itself")
            continue
        if rid in stored_as_payment:
            rows.flag(np.array([i]), "payment_id", f"{rid!r} is already stored as a payment, not a reversal")
            continue
        original: _Original | None = None
        j = in_file[k]
        if j is not None:
            if is_reversal[j]:
                rows.flag(np.array([i]), "reverses", f"{target!r} (row {j + 2}) is itself a reversal")
                continue
            if bad_before[j]:
                rows.flag(
                    np.array([i]), "reverses", f"reverses payment {target!r} on row {j + 2}, which is bad"
                )
                continue
            original = _Original(loan_id[j].as_py(), paid_on[j].as_py(), int(amount[j]), None, j)
            if target in stored:  # also stored already (a re-import): the stored state decides
                original = stored[target]
        elif target in stored:
            original = stored[target]
        if original is None:
            rows.flag(np.array([i]), "reverses", f"unknown payment {target!r}")
            continue
        if rid in stored_as_reversal:
            if stored_as_reversal[rid] == target:
                continue  # this very reversal is stored: a duplicate
            rows.flag(
                np.array([i]),
                "payment_id",
                f"{rid!r} is already stored as the reversal of {stored_as_reversal[rid]}",
            )
            continue
        if original.reversal_id is not None:
            rows.flag(
                np.array([i]),
                "reverses",
                f"payment {target!r} is already reversed by {original.reversal_id!r}",
            )
            continue
        if original.loan_id != lid:
            rows.flag(
                np.array([i]), "loan_id", f"payment {target!r} belongs to loan {original.loan_id}, not {lid}"
            )
            continue
        if original.amount != int(amount[i]):
            rows.flag(
                np.array([i]),
                "amount",
                f"a reversal must equal the payment it reverses ({target!r}: {original.amount} minor units)",
            )
            continue
        if on < original.paid_on:
            rows.flag(
                np.array([i]),
                "paid_on",
                f"reversed on {on}, before payment {target!r} was made ({original.paid_on})",
            )
            continue
        if target in claimed:
            rows.flag(
                np.array([i]),
                "reverses",
                f"payment {target!r} is already reversed on row {claimed[target] + 2}",
            )
            continue
        claimed[target] = i
        plan.append((i, rid, target, on, lid, original.amount))
    return plan


# --------------------------------------------------------------------------------------------- events


def import_events(
    uow: UnitOfWork,
    source: Source,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    actor: str | None = None,
    progress: ProgressSink | None = None,
) -> ImportResult:
    """Import account events (autodebit failures, promises, contacts, disputes ...) and commit."""
    started = time.perf_counter()
    actor = actor or audit.default_actor()
    _phase(progress, "read", None)
    table, src, path = _load(source, name)
    rows = _Rows(table, src, EVENT_REQUIRED, EVENT_OPTIONAL)
    n = rows.n
    _phase(progress, "validate", None)

    event_id = rows.text("event_id", required=True)
    loan_id = rows.text("loan_id", required=True)
    kind = rows.text("kind", required=True, max_len=32)
    rows.one_of("kind", kind, EVENT_KINDS, "event kind")
    on = rows.dates("on", required=True)
    rows.duplicates("event_id", event_id)
    _known_loans(uow, rows, loan_id)
    at = _instants(rows, rows.text("at", max_len=64))
    detail = _details(rows, rows.text("detail", max_len=None), kind)

    good, errors, rejects_file = _settle(rows, skip_bad, path)
    import_id, now = _start(uow, "events", src, actor, n)
    idx = np.flatnonzero(good)
    _phase(progress, "write", int(idx.size))
    written = 0
    if idx.size:
        take = pa.array(idx)
        with uow.bulk.deferred_indexes(["account_events"], int(idx.size)):
            written = uow.bulk.insert(
                "account_events",
                pa.table(
                    {
                        "id": pc.take(event_id, take),
                        "loan_id": pc.take(loan_id, take),
                        "kind": pc.take(kind, take),
                        "on_date": pc.take(on, take),
                        "at": pc.take(at, take),
                        "detail": pc.take(detail, take),
                    }
                ),
                constants={"recorded_at": now, "import_id": import_id},
                progress=_advance(progress),
            )
    rejected = len({e.row for e in errors})
    result = ImportResult(
        kind="events",
        source=src,
        rows_read=n,
        written=written,
        duplicates=n - written - rejected,
        rejected=rejected,
        seconds=0.0,
        errors=errors,
        rejects_file=rejects_file,
        import_id=import_id,
    )
    return _finish(uow, result, actor, started)


def _instants(rows: _Rows, values: pa.Array) -> pa.Array:
    """ISO 8601 instants with a UTC offset (naive times are ambiguous: rejected) → UTC timestamps."""
    out: list[datetime | None] = [None] * rows.n
    bad: list[int] = []
    naive: list[int] = []
    for i in np.flatnonzero(_np_bool(pc.is_valid(values))).tolist():
        raw = values[i].as_py()
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            bad.append(i)
            continue
        if parsed.tzinfo is None:
            naive.append(i)
            continue
        out[i] = parsed.astimezone(UTC)
    rows.flag(
        np.array(bad, dtype=np.int64), "at", lambda i: f"not an ISO 8601 instant: {values[i].as_py()!r}"
    )
    rows.flag(np.array(naive, dtype=np.int64), "at", "needs a UTC offset (e.g. 2026-01-05T10:00:00+08:00)")
    return pa.array(out, pa.timestamp("us", tz="UTC"))


def _details(rows: _Rows, values: pa.Array, kind: pa.Array) -> pa.Array:
    """The detail column: a JSON object as text (normalised); a contact needs channel and outcome."""
    out: list[str | None] = [None] * rows.n
    problems: dict[int, str] = {}
    for i in np.flatnonzero(_np_bool(pc.is_valid(values))).tolist():
        try:
            parsed = json.loads(values[i].as_py())
        except json.JSONDecodeError as exc:
            problems[i] = f"not JSON: {exc.msg}"
            continue
        if not isinstance(parsed, dict):
            problems[i] = "must be a JSON object"
            continue
        out[i] = json.dumps(parsed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    contact = np.flatnonzero(_np_bool(pc.equal(kind, "contact"))).tolist()
    for i in contact:
        if i in problems:
            continue
        parsed = json.loads(out[i]) if out[i] else {}
        missing = [k for k in ("channel", "outcome") if k not in parsed]
        if missing:
            problems[i] = f"a contact event needs {' and '.join(missing)} in detail"
    rows.flag(np.array(sorted(problems), dtype=np.int64), "detail", lambda i: problems[i])
    return pa.array(out, pa.string())


# ---------------------------------------------------------------------------------------- entry point

IMPORTERS: dict[str, Callable[..., ImportResult]] = {
    "loans": import_loans,
    "payments": import_payments,
    "events": import_events,
    "flags": lambda *args, **kw: import_module("arrears.services.flag_import").import_flags(*args, **kw),
}


def import_file(
    uow: UnitOfWork,
    kind: str,
    source: Source,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    actor: str | None = None,
    progress: ProgressSink | None = None,
) -> ImportResult:
    """Import `source` as `kind` (loans | payments | events | flags)."""
    try:
        importer = IMPORTERS[kind]
    except KeyError:
        raise InputError(f"unknown import kind {kind!r} (use {', '.join(IMPORTERS)})", field="kind") from None
    return importer(uow, source, name=name, skip_bad=skip_bad, actor=actor, progress=progress)
