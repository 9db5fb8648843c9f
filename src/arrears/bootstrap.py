"""The one place the application is composed: the concrete store behind the services' unit-of-work port.

Entrypoints (the CLI, the API), the test suite and the benchmark scripts call `configure()` before they
use a service; services themselves only know `arrears.services.unit_of_work.UnitOfWork`.
"""

from __future__ import annotations

from arrears.adapters.import_files import LocalImportFiles
from arrears.adapters.store.unit_of_work import SqlUnitOfWork
from arrears.services.imports.files import use_files
from arrears.services.unit_of_work import UnitOfWork


def configure() -> None:
    """Services open their units of work on the SQL store (SQLite or PostgreSQL, by URL); imports read
    their files from disk."""
    UnitOfWork.use(SqlUnitOfWork)
    use_files(LocalImportFiles())
