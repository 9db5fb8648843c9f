"""Fixed-width records written column-wise: a whole file's records as one (records × length) byte matrix,
each field filled for every record at once (numbers as digits by arithmetic, text by Arrow's string kernels),
so a million Metro 2 Base Segments take seconds, not a Python loop per record and field.

A column is a constant (the same value in every record), a numpy integer array (N: a number; D: an epoch day,
NO_DATE where there is none) or an Arrow string array (AN). Layouts come from the
domain (arrears.domain.metro2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.metro2 import ascii_upper

EPOCH = np.datetime64("1970-01-01", "D")
NO_DATE = int(np.iinfo(np.int32).min)  # an epoch day that is no date (the ledger kernel's NONE_DAY too)
SPACE, ZERO = 32, 48


class FieldLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def length(self) -> int: ...

    @property
    def kind(self) -> str: ...


Column = str | int | np.ndarray | pa.Array | pa.ChunkedArray | None


def records(layout: Sequence[FieldLike], columns: Mapping[str, Column], count: int) -> np.ndarray:
    """The records as a (count, record length) uint8 matrix; fields missing from `columns` are blank (AN) or
    zeros (N, D, TS)."""
    unknown = set(columns) - {f.name for f in layout}
    if unknown:
        raise ValueError(f"not fields of this record: {sorted(unknown)}")
    width = layout[-1].start + layout[-1].length - 1
    out = np.full((count, width), SPACE, dtype=np.uint8)
    for f in layout:
        lo, hi = f.start - 1, f.start - 1 + f.length
        value = columns.get(f.name)
        if f.kind == "AN":
            out[:, lo:hi] = _text(value, f.length, count)
        elif f.kind == "N":
            out[:, lo:hi] = _digits(_ints(value, count), f.length, f.name)
        elif f.kind == "D":
            days = np.full(count, NO_DATE, dtype=np.int64) if value is None else _ints(value, count)
            out[:, lo:hi] = _digits(_mmddyyyy(days), f.length, f.name)
        elif f.kind == "TS":
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{f.name}: a time stamp is one text for the whole file")
            out[:, lo:hi] = _text(value or "0" * f.length, f.length, count)
        else:
            raise ValueError(f"{f.name}: unknown kind {f.kind!r}")
    return out


def lines(matrix: np.ndarray) -> bytes:
    """The records, each followed by a newline."""
    count, width = matrix.shape
    framed = np.empty((count, width + 1), dtype=np.uint8)
    framed[:, :width] = matrix
    framed[:, width] = ord("\n")
    return framed.tobytes()


def _ints(value: Column, count: int) -> np.ndarray:
    if value is None:
        return np.zeros(count, dtype=np.int64)
    if isinstance(value, int):
        return np.full(count, value, dtype=np.int64)
    if isinstance(value, pa.Array | pa.ChunkedArray):
        return np.asarray(pc.fill_null(value, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    if isinstance(value, np.ndarray):
        return value.astype(np.int64, copy=False)
    raise ValueError(f"not a number column: {type(value).__name__}")


def _digits(values: np.ndarray, length: int, name: str) -> np.ndarray:
    if len(values) and (values.min() < 0 or values.max() >= 10**length):
        raise ValueError(f"{name}: a value does not fit {length} digits")
    powers = 10 ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ZERO).astype(np.uint8)


def _mmddyyyy(days: np.ndarray) -> np.ndarray:
    """Epoch days as MMDDYYYY numbers; NO_DATE as 0."""
    none = days == NO_DATE
    dates = EPOCH + np.where(none, 0, days).astype("timedelta64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return np.where(none, 0, months * 1_000_000 + day * 10_000 + years)


def _text(value: Column, length: int, count: int) -> np.ndarray:
    if value is None:
        return np.full((count, length), SPACE, dtype=np.uint8)
    if isinstance(value, str):
        row = np.frombuffer(ascii_upper(value)[:length].ljust(length).encode("ascii"), dtype=np.uint8)
        return np.broadcast_to(row, (count, length))
    if isinstance(value, np.ndarray):
        value = pa.array(value.tolist(), type=pa.string())
    if not isinstance(value, pa.Array | pa.ChunkedArray):
        raise ValueError(f"not a text column: {type(value).__name__}")
    text = pc.utf8_upper(pc.fill_null(pc.cast(value, pa.string()), ""))
    text = pc.replace_substring_regex(text, r"[^\x20-\x7e]", " ")  # printable ASCII only, one byte each
    text = pc.utf8_rpad(pc.utf8_slice_codeunits(text, 0, length), length, " ")
    flat = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    flat = pa.concat_arrays([flat]) if flat.offset else flat  # offsets from zero: the data buffer is the text
    data = (
        np.frombuffer(flat.buffers()[2], dtype=np.uint8)[: count * length] if count else np.empty(0, np.uint8)
    )
    return data.reshape(count, length)
