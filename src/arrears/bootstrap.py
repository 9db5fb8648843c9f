"""The one place the application is composed: the concrete store behind the services' unit-of-work port.

Entrypoints (the CLI, the API), the test suite and the benchmark scripts call `configure()` before they
use a service; services themselves only know `arrears.services.unit_of_work.UnitOfWork`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arrears.adapters.channels.config import ChannelsConfig
    from arrears.domain.compliance.profile import ComplianceProfile
    from arrears.services.channels import Channel
    from arrears.services.dispatch import Dispatcher, DispatchSettings
    from arrears.services.import_files_port import ImportFiles
    from arrears.services.rendering import Renderer
    from arrears.services.unit_of_work import UnitOfWork


def configure() -> None:
    """Services open their units of work on the SQL store (SQLite or PostgreSQL, by URL); imports read
    their files from disk; audit checkpoints go to a directory (ARREARS_AUDIT_CHECKPOINTS)."""
    from arrears.adapters.audit_checkpoints import FileCheckpoints
    from arrears.services.audit import use_checkpoints
    from arrears.services.import_files_port import use_files
    from arrears.services.unit_of_work import UnitOfWork

    UnitOfWork.use(_sql_unit_of_work)
    use_checkpoints(FileCheckpoints())
    use_files(_local_import_files)


_new_stores_allowed = True


@contextmanager
def existing_stores_only() -> Iterator[None]:
    """Inside: a unit of work on a SQLite file that does not exist is refused (an InputError naming the path
    and `arrears db upgrade`) instead of creating an empty store, unless `allow_new_stores()` is called.
    The CLI runs each command inside; the API and the library create a store where they are pointed."""
    global _new_stores_allowed
    before, _new_stores_allowed = _new_stores_allowed, False
    try:
        yield
    finally:
        _new_stores_allowed = before


def allow_new_stores() -> None:
    """This command creates its store when it does not exist (`db upgrade`, `demo`, `sim portfolio --load`)."""
    global _new_stores_allowed
    _new_stores_allowed = True


def refuse_missing_store(url: str | None) -> None:
    """Raise an InputError when `url` (else ARREARS_DB_URL, else ./arrears.db) is a SQLite file that does
    not exist and this command may not create stores."""
    if _new_stores_allowed:
        return
    from arrears.adapters.store.connection import require_existing_file

    require_existing_file(url)


def _sql_unit_of_work(url: str | None) -> UnitOfWork:
    # SQLAlchemy and the store's models are composed when a command first opens the store (and each
    # repository when first used): a command that never does (`arrears --help`, `policy validate`) starts
    # without them.
    from arrears.adapters.store.unit_of_work import SqlUnitOfWork

    refuse_missing_store(url)
    return SqlUnitOfWork(url)


def _local_import_files() -> ImportFiles:
    # pyarrow's CSV / Parquet readers, loaded when an import first reads a file
    from arrears.adapters.import_files import LocalImportFiles

    return LocalImportFiles()


# --- dispatch: the channel configuration and the template library, as the dispatcher's ports want them
# (imported when asked for: most commands never dispatch)


def dispatch_settings(config: ChannelsConfig) -> DispatchSettings:
    """The lender's identity and the retry policy of a channel configuration, as plain values."""
    from arrears.services.dispatch import DispatchSettings

    return DispatchSettings(lender=dict(config.lender), retry=dict(config.retry))


def template_renderer(root: str | None = None) -> Renderer:
    """The Jinja2 + Babel template library (shared per root; compiled templates are reused)."""
    from arrears.adapters.rendering import library

    return library(root)


def make_dispatcher(
    url: str | None,
    channels: dict[str, Channel],
    config: ChannelsConfig,
    profile: ComplianceProfile,
    **options: Any,
) -> Dispatcher:
    """A dispatcher on `channels` with the settings of `config` and the default template library
    (`options`: now, rng, renderer and the test hooks of `Dispatcher`)."""
    from arrears.services.dispatch import Dispatcher

    options.setdefault("renderer", template_renderer())
    return Dispatcher(url, channels, dispatch_settings(config), profile, **options)
