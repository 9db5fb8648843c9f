"""The imports' file port: a source file read as an Arrow table, the rejected rows written beside it.

The adapter (`arrears.adapters.import_files`, CSV / Parquet on disk) is plugged in by
`arrears.bootstrap.configure()`; the imports themselves only ever see Arrow tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa


class ImportFiles(Protocol):
    def read(self, path: str | Path, encoding: str | None = None) -> pa.Table:
        """The file as a table (CSV columns as text; `encoding` of a CSV: None for UTF-8, a name, or "auto");
        an InputError naming the file (and the line) when it cannot be read."""
        ...

    def write_rejects(self, path: Path, rejects: pa.Table) -> str:
        """Write the rejected rows of the file at `path`; returns where they went."""
        ...


_files: ImportFiles | None = None


def use_files(files: ImportFiles) -> None:
    """Read import files and write their rejects with `files` (called by the bootstrap)."""
    global _files
    _files = files


def import_files() -> ImportFiles:
    if _files is None:
        raise RuntimeError("no import files adapter is configured: call arrears.bootstrap.configure() first")
    return _files


def read_table(path: str | Path, encoding: str | None = None) -> pa.Table:
    """A CSV (header row; every column read as text) or Parquet file as a pyarrow Table."""
    return import_files().read(path, encoding)
