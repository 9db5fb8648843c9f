"""Import files on disk: CSV (UTF-8, header row) or Parquet in, the rejected rows out as FILE.rejects.csv.

It implements the imports' file port (`arrears.services.imports.files.ImportFiles`); the bootstrap plugs it
in. Problems with the file itself (missing, unknown type, not UTF-8, no or a repeated header) are an
`InputError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arrears.domain.errors import InputError


class LocalImportFiles:
    """Files on this machine's disk."""

    def read(self, path: str | Path) -> pa.Table:
        return read_table(path)

    def write_rejects(self, path: Path, rejects: pa.Table) -> str:
        """The rejected rows beside the file they came from: FILE.rejects.csv."""
        out = Path(f"{path}.rejects.csv")
        pacsv.write_csv(rejects, out)
        return str(out)


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
    header = _header(p, name)
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


def _header(path: Path, name: str) -> list[str]:
    """The CSV's column names (trimmed): present, UTF-8, each once."""
    with path.open("rb") as fh:
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
    return header


def _bad_utf8_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8 (None if the file is valid UTF-8)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None
