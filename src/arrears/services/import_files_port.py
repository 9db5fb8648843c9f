"""The imports' file port: a source file read as an Arrow table, the rejected rows written beside it.

The adapter (`arrears.adapters.import_files`, CSV / Parquet on disk) is plugged in by
`arrears.bootstrap.configure()` as a provider, made when an import first reads a file: this module and the
bootstrap stay free of pyarrow, so commands that import nothing start without it. The imports themselves
(`arrears.services.imports`) only ever see Arrow tables.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class ImportFiles(Protocol):
    def read(self, path: str | Path, encoding: str | None = None) -> pa.Table:
        """The file as a table (CSV columns as text; `encoding` of a CSV: None for UTF-8, a name, or "auto");
        an InputError naming the file (and the line) when it cannot be read."""
        ...

    def write_rejects(self, path: Path, rejects: pa.Table) -> str:
        """Write the rejected rows of the file at `path`; returns where they went."""
        ...


_provider: Callable[[], ImportFiles] | None = None
_files: ImportFiles | None = None


def use_files(provider: Callable[[], ImportFiles]) -> None:
    """Read import files and write their rejects with what `provider()` makes, the first time one is read
    (called by the bootstrap)."""
    global _provider, _files
    _provider, _files = provider, None


def import_files() -> ImportFiles:
    global _files
    if _files is None:
        if _provider is None:
            raise RuntimeError(
                "no import files adapter is configured: call arrears.bootstrap.configure() first"
            )
        _files = _provider()
    return _files


def read_table(path: str | Path, encoding: str | None = None) -> pa.Table:
    """A CSV (header row; every column read as text) or Parquet file as a pyarrow Table."""
    return import_files().read(path, encoding)
