"""What every import does, once: read → check → settle → book → write → finish, in one transaction.

Rules (docs/import-formats.md):
- every bad row is reported with the file, its row number (the header is row 1, the first data row is
  row 2, for Parquet too), the column and the reason; if any row is bad NOTHING is written, unless
  skip_bad, which writes the good rows and puts the bad ones in FILE.rejects.csv with the reason;
- one transaction per import; an import writes one audit row and one `imports` row;
- idempotent: an id that is already stored is counted as a duplicate and left as it is.

Each kind (loans.py, payments.py, events.py, flags.py) tells its own story with an `ImportRun`:

    run = ImportRun(uow, "events", source, EVENT_REQUIRED, EVENT_OPTIONAL, **options)   # read
    kind = run.rows.text("kind", required=True)                # check the columns (RowChecks)
    good = run.settle()            # ImportRejected if a row is bad (unless skip_bad: the rejects file)
    record = run.start()           # the import's row in the store's book of imports
    written = uow.imports.add_events(record, ...)              # write the good rows
    return run.finish(written)     # its counts, the audit row, commit
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeAlias, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.errors import InputError
from arrears.domain.imports import ImportRecord
from arrears.services import audit
from arrears.services.import_files_port import import_files
from arrears.services.imports.row_checks import RowChecks, RowError
from arrears.services.unit_of_work import UnitOfWork

ERRORS_SHOWN = 20

Source: TypeAlias = str | Path | pa.Table  # a file to read, or a table already in memory


class ProgressSink(Protocol):
    """Where an import reports progress (the CLI shows a Rich bar; nothing by default)."""

    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...


class ImportOptions(TypedDict, total=False):
    """How to run an import: `name` labels a table source; `actor` defaults to audit.default_actor();
    `encoding` of a CSV file: None for UTF-8, a name (gbk, gb18030 ...) or "auto"."""

    name: str | None
    encoding: str | None
    skip_bad: bool
    actor: str | None
    progress: ProgressSink | None


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


class ImportRun:
    """One import under way: the source read into `rows` (RowChecks), then settle, start, write, finish."""

    def __init__(
        self,
        uow: UnitOfWork,
        kind: str,
        source: Source,
        required: tuple[str, ...],
        optional: tuple[str, ...],
        *,
        name: str | None = None,
        encoding: str | None = None,
        skip_bad: bool = False,
        actor: str | None = None,
        progress: ProgressSink | None = None,
    ) -> None:
        self._started = time.perf_counter()
        self.uow = uow
        self.kind = kind
        self.skip_bad = skip_bad
        self.actor = actor or audit.default_actor()
        self.progress = progress
        self.phase("read", None)
        if isinstance(source, pa.Table):
            table, self.source, self._path = source, name or "<table>", None
        else:
            table, self.source, self._path = (
                import_files().read(source, encoding),
                name or str(source),
                Path(source),
            )
        self.rows = RowChecks(table, self.source, required, optional)
        self.errors: list[RowError] = []
        self.rejects_file: str | None = None
        self.record: ImportRecord | None = None
        self.phase("validate", None)

    def phase(self, name: str, total: int | None) -> None:
        """A new stage (read, validate, write) for the progress sink, with its row total if known."""
        if self.progress is not None:
            self.progress.phase(name, total)

    @property
    def advance(self) -> Callable[[int], None] | None:
        """What a bulk write calls with the rows it has just written."""
        return self.progress.advance if self.progress is not None else None

    def settle(self) -> np.ndarray:
        """The good rows' mask. If a row is bad: ImportRejected (nothing written), unless skip_bad, which
        goes on with the good rows and writes the bad ones, with their reasons, to the rejects file."""
        bad = self.rows.bad()
        errors = self.rows.errors() if bad.any() else []
        if errors and not self.skip_bad:
            raise ImportRejected(self.rows.source, errors, self.rows.n)
        self.errors = errors
        self.rejects_file = self._write_rejects() if self.skip_bad else None
        return ~bad

    def start(self) -> ImportRecord:
        """Book the import in the store; the rows it writes carry the record's id."""
        self.record = self.uow.imports.start(self.kind, self.source, self.actor, self.rows.n)
        return self.record

    def finish(self, written: int, details: dict[str, int] | None = None) -> ImportResult:
        """Count what came of the rows (written, duplicates, rejected), audit it and commit."""
        assert self.record is not None, "start() books the import before finish()"
        n = self.rows.n
        rejected = len({e.row for e in self.errors})
        result = ImportResult(
            kind=self.kind,
            source=self.source,
            rows_read=n,
            written=written,
            duplicates=n - written - rejected,
            rejected=rejected,
            seconds=0.0,
            errors=self.errors,
            rejects_file=self.rejects_file,
            details=details or {},
            import_id=self.record.id,
        )
        self.uow.imports.finish(
            self.record.id, written=written, duplicates=result.duplicates, rejected=rejected
        )
        audit.append(
            self.uow,
            self.actor,
            f"import.{self.kind}",
            self.source,
            {
                "import_id": self.record.id,
                "rows": n,
                "written": written,
                "duplicates": result.duplicates,
                "rejected": rejected,
                **result.details,
            },
        )
        self.uow.commit()
        result.seconds = time.perf_counter() - self._started
        return result

    def _write_rejects(self) -> str | None:
        """The bad rows, as they were, plus reject_row, reject_column and reason (a file source only)."""
        if self._path is None or not self.errors:
            return None
        by_row: dict[int, list[RowError]] = {}
        for e in self.errors:
            by_row.setdefault(e.row, []).append(e)
        order = sorted(by_row)
        bad = self.rows.table.take(pa.array([r - 2 for r in order], pa.int64()))
        cols = {name: _as_text(bad.column(name)) for name in bad.column_names}
        cols["reject_row"] = pa.array(order, pa.int64())
        cols["reject_column"] = pa.array([by_row[r][0].column for r in order], pa.string())
        cols["reason"] = pa.array(
            [
                "; ".join(f"{e.column}: {e.reason}" if e.column else e.reason for e in by_row[r])
                for r in order
            ],
            pa.string(),
        )
        return import_files().write_rejects(self._path, pa.table(cols))


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A column of the rejects file as text: cast, or each value's str() where no cast exists (a Parquet
    list or struct column the import ignored)."""
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
