"""A file's rows under check: typed columns taken from an Arrow table, and every problem found, by row.

The checks are columnar (pyarrow.compute / numpy), not a Python loop per row, so a million rows are checked
in well under a second; only rare rows (rows with errors, instants, JSON) are looked at one by one. A value
that may be personal data (a phone, an ID number, an e-mail address) is never echoed in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.errors import InputError
from arrears.domain.imports import shown
from arrears.domain.money import MAX_AMOUNT_MINOR, MINOR_DIGITS

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
ID_MAX = 64
_NUMBER = r"^(?P<neg>-?)(?P<whole>\d+)(?:\.(?P<frac>\d+))?$"

Reason = str | Callable[[int], str]


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based, the header is row 1
    column: str | None
    reason: str

    def as_input_error(self, source: str) -> InputError:
        return InputError(self.reason, file=source, line=self.row, field=self.column)

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


def np_bool(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.array(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def codes_of(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dictionary codes per row (−1 for null) and the distinct values."""
    encoded = pc.dictionary_encode(values)
    codes = np.array(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, encoded.dictionary


def first_index(keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with the same key (itself when not valid)."""
    out = np.arange(len(keys))
    idx = np.flatnonzero(valid)
    if idx.size:
        _, first, inverse = np.unique(keys[idx], return_index=True, return_inverse=True)
        out[idx] = idx[first][inverse]
    return out


class RowChecks:
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
        repeated = sorted({c for c in table.column_names if table.column_names.count(c) > 1})
        if repeated:
            raise InputError(f"column {repeated[0]!r} appears twice", file=source, field=repeated[0])
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
            col = self._as_text(name, col)
        col = pc.utf8_trim_whitespace(col)
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        if required:
            self.flag(np_bool(pc.is_null(col)), name, "is required")
        if max_len is not None:
            too_long = np_bool(pc.greater(pc.utf8_length(col), max_len))
            self.flag(too_long, name, f"is longer than {max_len} characters")
            if too_long.any():
                col = pc.if_else(pa.array(too_long), pa.scalar(None, pa.string()), col)
        return col

    def _as_text(self, name: str, col: pa.Array) -> pa.Array:
        """A Parquet column of another type as text; nested values (lists, structs) or bytes that are not
        UTF-8 cannot be: an InputError naming the column (its values are not quoted)."""
        try:
            return pc.cast(col, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputError(
                f"holds {col.type} values, which cannot be read as text", file=self.source, field=name
            ) from None

    def pattern(self, name: str, values: pa.Array, regex: str, what: str) -> None:
        """Rows whose (present) value does not match; the value is not echoed (it may be personal data)."""
        present = np_bool(pc.is_valid(values))
        ok = np_bool(pc.match_substring_regex(values, regex))
        self.flag(present & ~ok, name, f"is not {what}")

    def one_of(
        self, name: str, values: pa.Array, allowed: tuple[str, ...] | list[str], what: str
    ) -> np.ndarray:
        present = np_bool(pc.is_valid(values))
        known = np_bool(pc.is_in(values, value_set=pa.array(list(allowed), pa.string())))
        bad = present & ~known
        self.flag(
            bad, name, lambda i: f"unknown {what} {shown(values[i].as_py())} (use {', '.join(allowed)})"
        )
        return bad

    def dates(self, name: str, *, required: bool = False) -> pa.Array:
        """A date column (YYYY-MM-DD text or a Parquet date); bad or missing values become null."""
        col = self._column(name)
        if col is not None and pa.types.is_date(col.type):
            out = pc.cast(col, pa.date32())
            if required:
                self.flag(np_bool(pc.is_null(out)), name, "is required")
        else:
            values = self.text(name, required=required, max_len=None)
            try:  # the usual case: every value is a clean ISO date, and one strict cast says so
                out = pc.cast(values, pa.date32())
            except pa.ArrowInvalid:
                out = self._dates_one_by_one(name, values)
        outside = np_bool(pc.or_(pc.less(out, EARLIEST), pc.greater(out, LATEST)))
        self.flag(outside, name, lambda i: f"date {out[i]} is out of range ({EARLIEST}..{LATEST})")
        if outside.any():
            out = pc.if_else(pa.array(outside), pa.scalar(None, pa.date32()), out)
        return out

    def _dates_one_by_one(self, name: str, values: pa.Array) -> pa.Array:
        parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2026-02-30 over to March and takes 2026-1-5: only an exact round trip counts.
        exact = np_bool(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values))
        present = np_bool(pc.is_valid(values))
        bad = present & ~exact
        self.flag(bad, name, lambda i: f"bad date {shown(values[i].as_py())} (use YYYY-MM-DD)")
        out = pc.cast(parsed, pa.date32())
        if bad.any():
            out = pc.if_else(pa.array(bad), pa.scalar(None, pa.date32()), out)
        return out

    def instants(self, name: str) -> pa.Array:
        """ISO 8601 instants with a UTC offset (a naive time is ambiguous: a bad row) → UTC timestamps."""
        values = self.text(name, max_len=64)
        out: list[datetime | None] = [None] * self.n
        problems: dict[int, str] = {}
        for i in np.flatnonzero(np_bool(pc.is_valid(values))).tolist():
            raw = values[i].as_py()
            try:
                parsed = datetime.fromisoformat(raw.replace("z", "Z"))
            except ValueError:
                problems[i] = f"not an ISO 8601 instant: {shown(raw)}"
                continue
            if parsed.tzinfo is None or parsed.utcoffset() is None:
                problems[i] = "needs a UTC offset (e.g. 2026-01-05T10:00:00+08:00)"
                continue
            out[i] = parsed.astimezone(UTC)
        self.flag(np.array(sorted(problems), dtype=np.int64), name, lambda i: problems[i])
        return pa.array(out, pa.timestamp("us", tz="UTC"))

    def counts(
        self, name: str, *, required: bool = False, minimum: int = 1, maximum: int | None = None
    ) -> np.ndarray:
        """A whole-number column (e.g. instalment seq); 0 where missing or bad."""
        values = self.text(name, required=required, max_len=None)
        ok = np_bool(pc.match_substring_regex(values, r"^\d{1,9}$"))
        present = np_bool(pc.is_valid(values))
        self.flag(present & ~ok, name, lambda i: f"not a whole number: {shown(values[i].as_py())}")
        filled = pc.if_else(pa.array(ok), values, "0")
        out = np.array(pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        small = ok & (out < minimum)
        self.flag(small, name, f"must be at least {minimum}")
        large = ok & (out > maximum) if maximum is not None else np.zeros(self.n, dtype=bool)
        self.flag(large, name, f"must be at most {maximum}")
        out[~ok | small | large] = 0
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
        present = np_bool(pc.is_valid(values))
        matched = np_bool(pc.is_valid(parts))
        self.flag(present & ~matched, name, lambda i: f"not a decimal amount: {shown(values[i].as_py())}")
        neg = np_bool(pc.equal(parts.field("neg"), "-")) & matched
        self.flag(neg, name, lambda i: f"negative amount {shown(values[i].as_py())}")
        whole = parts.field("whole")
        frac = parts.field("frac")
        whole_len = np.array(pc.fill_null(pc.utf8_length(whole), 0).to_numpy(zero_copy_only=False))
        frac_len = np.array(pc.fill_null(pc.utf8_length(frac), 0).to_numpy(zero_copy_only=False))
        huge = matched & (whole_len > 15)  # could not even be counted in 64 bits: too large, unread
        self.flag(
            huge,
            name,
            lambda i: f"amount too large: {shown(values[i].as_py())} (at most {largest(int(digits[i]))})",
        )
        too_precise = matched & (frac_len > digits)
        self.flag(
            too_precise,
            name,
            lambda i: f"too many decimals in {shown(values[i].as_py())} (the currency has {int(digits[i])})",
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
        over = ok & (out > MAX_AMOUNT_MINOR)
        self.flag(
            over,
            name,
            lambda i: f"amount too large: {shown(values[i].as_py())} (at most {largest(int(digits[i]))})",
        )
        out[~ok | over] = 0
        ok &= ~over
        if positive:
            self.flag(ok & (out == 0), name, "must be more than zero")
        return out

    def duplicates(self, name: str, values: pa.Array) -> np.ndarray:
        """Rows whose id already appeared higher up in the file (flagged)."""
        codes, _ = codes_of(values)
        first = first_index(codes, codes >= 0)
        dup = first != np.arange(self.n)
        self.flag(
            dup,
            name,
            lambda i: f"duplicate in file: {shown(values[i].as_py())} is also on row {first[i] + 2}",
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
            lambda i: (
                f"{label} {shown(ids[i].as_py(), quoted=False)} has a bad row (row {first_bad[int(codes[i])] + 2})"
            ),
        )

    def known_loans(self, loan_id: pa.Array, terms_of: Callable[[list[str]], pa.Table]) -> LoanTerms:
        """Flag rows of loans the store does not hold; `terms_of` looks up every distinct loan id once.

        `terms_of(ids)` is a table of the stored ones: id, currency, opened_on (date32).
        """
        codes, loan_ids = codes_of(loan_id)
        found = terms_of(loan_ids.to_pylist())
        position = pc.index_in(loan_ids, value_set=found.column("id").combine_chunks())  # per distinct id
        is_known = np.append(np_bool(pc.is_valid(position)), False)  # code −1 (no id) → the False at the end
        known = is_known[codes]
        self.flag(~known & (codes >= 0), "loan_id", lambda i: f"unknown loan {shown(loan_id[i].as_py())}")
        if not len(loan_ids):
            return LoanTerms(known, pa.nulls(self.n, pa.string()), pa.nulls(self.n, pa.date32()))
        per_row = pc.take(position, pa.array(np.where(codes >= 0, codes, 0)))
        per_row = pc.if_else(pa.array(codes >= 0), per_row, pa.scalar(None, per_row.type))
        return LoanTerms(
            known,
            pc.take(found.column("currency").combine_chunks(), per_row),
            pc.take(found.column("opened_on").combine_chunks(), per_row),
        )


class LoanTerms(NamedTuple):
    """Per row of a file: whether its loan is stored, and the stored loan's currency and opening date."""

    known: np.ndarray
    currency: pa.Array
    opened_on: pa.Array


def table_of(rows: np.ndarray, **columns: pa.Array | np.ndarray) -> pa.Table:
    """The given rows (indices) of checked columns, Arrow or numpy, as a table with the keywords as names."""
    take = pa.array(rows, pa.int64())
    return pa.table(
        {
            name: pa.array(values[rows]) if isinstance(values, np.ndarray) else pc.take(values, take)
            for name, values in columns.items()
        }
    )


def totals_over(
    groups: np.ndarray, amounts: np.ndarray, count: int, limit: int, start: np.ndarray | None = None
) -> np.ndarray:
    """Which of `count` groups (codes; −1 for none) have amounts (each 0..2^40) adding up to more than
    `limit`, exactly however many rows a group has: 20-bit halves summed apart never overflow 64 bits.
    `start`: each group's total before these rows (e.g. what the store already holds; each 0..2^62)."""
    at = np.where(groups >= 0, groups, count)
    high = np.zeros(count + 1, dtype=np.int64)
    low = np.zeros(count + 1, dtype=np.int64)
    if start is not None:
        high[:count] = start >> 20
        low[:count] = start & 0xFFFFF
    np.add.at(high, at, amounts >> 20)
    np.add.at(low, at, amounts & 0xFFFFF)
    small = high <= limit >> 20  # else high alone is over the limit
    over = ~small
    over[small] = (high[small] << 20) + low[small] > limit
    return over[:count]


def largest(digits: int) -> str:
    """The largest amount one field may hold, as a decimal string in a currency with `digits` decimals."""
    return decimal_text(MAX_AMOUNT_MINOR, digits)


def decimal_text(minor: int, digits: int) -> str:
    """Minor units as a decimal string with `digits` decimals."""
    whole, frac = divmod(minor, 10**digits)
    return f"{whole}.{frac:0{digits}d}" if digits else str(whole)


def digits_per_row(currency: pa.Array) -> np.ndarray:
    known = pa.array(list(MINOR_DIGITS), pa.string())
    index = pc.index_in(currency, value_set=known)
    digits = pc.take(pa.array(list(MINOR_DIGITS.values()), pa.int64()), index)
    return np.array(pc.fill_null(digits, 2).to_numpy(zero_copy_only=False), dtype=np.int64)
