"""The one progress bar style of every long job (imports, ledger checks, drawing snapshot parts): Rich, on
stderr only, on a terminal only, gone when the job is done."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from arrears.entrypoints.cli.console import err_console


def progress_bar(console: Console) -> Progress:
    """A counted bar with the elapsed time, drawn on `console` and removed at the end."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


class RowProgress:
    """A Rich progress bar on stderr: only on a terminal and never in --json mode.

    `with RowProgress("importing", total) as bar: bar.phase("write", n); bar.advance(rows)`.
    """

    def __init__(self, label: str, total: int | None = None, *, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self.enabled = enabled and err_console.is_terminal

    def __enter__(self) -> Self:
        if self.enabled:
            self._progress = progress_bar(err_console)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def phase(self, name: str, total: int | None) -> None:
        """A new stage (read, validate, write ...) with its own total (None: unknown)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self.label}: {name}", total=total, completed=0)

    def advance(self, rows: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, rows)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
