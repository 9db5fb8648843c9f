"""Imports: loans, payments (and reversals), account events and borrower flags from CSV / Parquet files or
Arrow tables, checked column-wise, all or nothing (docs/import-formats.md).

    skeleton.py    what every import does: read → check → settle (--skip-bad, rejects) → book → write → finish
    row_checks.py  a file's rows under check: typed columns and every problem found, by row
    files.py       the port to the file adapter (CSV / Parquet → Arrow, the rejects file)
    loans.py, payments.py, events.py, flags.py   one kind each
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from arrears.domain.errors import InputError
from arrears.services.import_files_port import read_table
from arrears.services.imports.events import import_events
from arrears.services.imports.flags import import_flags
from arrears.services.imports.loans import import_loans
from arrears.services.imports.payments import import_payments
from arrears.services.imports.row_checks import RowError
from arrears.services.imports.skeleton import (
    ERRORS_SHOWN,
    ImportOptions,
    ImportRejected,
    ImportResult,
    ProgressSink,
    Source,
)
from arrears.services.unit_of_work import UnitOfWork

IMPORTERS: dict[str, Callable[..., ImportResult]] = {
    "loans": import_loans,
    "payments": import_payments,
    "events": import_events,
    "flags": import_flags,
}


def import_file(uow: UnitOfWork, kind: str, source: Source, **options: Unpack[ImportOptions]) -> ImportResult:
    """Import `source` (a file path or a pyarrow Table) as `kind` (loans | payments | events | flags)."""
    try:
        importer = IMPORTERS[kind]
    except KeyError:
        raise InputError(f"unknown import kind {kind!r} (use {', '.join(IMPORTERS)})", field="kind") from None
    return importer(uow, source, **options)


__all__ = [
    "ERRORS_SHOWN",
    "IMPORTERS",
    "ImportOptions",
    "ImportRejected",
    "ImportResult",
    "ProgressSink",
    "RowError",
    "Source",
    "import_events",
    "import_file",
    "import_flags",
    "import_loans",
    "import_payments",
    "read_table",
]
