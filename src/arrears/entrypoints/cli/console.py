"""What every command shares: the console, JSON output, and turning errors into exit codes (was common.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from arrears.domain.errors import ArrearsError, InputError

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_as_of(value: str, option: str = "--as-of") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} must be a date YYYY-MM-DD, got {value!r}", field=option) from None


def fail(err: ArrearsError) -> int:
    err_console.print(f"[bold red]error:[/] {escape(str(err))}", markup=True, highlight=False, soft_wrap=True)
    return EXIT_BAD_INPUT


def run_app(build: Callable[[], typer.Typer]) -> int:
    """Run the CLI; product errors print one clear line and exit 2, never a traceback."""
    from arrears.bootstrap import existing_stores_only

    try:
        with existing_stores_only():  # a mistyped path or another directory: no empty store made and read
            build()()  # standalone: usage errors exit 2 and --help exits 0 through SystemExit
    except ArrearsError as err:
        return fail(err)
    return EXIT_OK
