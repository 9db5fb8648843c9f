"""Kept for the imports not yet moved: what every command shares lives in arrears.entrypoints.cli.console."""

from arrears.entrypoints.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    console,
    err_console,
    fail,
    parse_as_of,
    print_json,
    run_app,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "console",
    "err_console",
    "fail",
    "parse_as_of",
    "print_json",
    "run_app",
]
