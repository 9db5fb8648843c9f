"""The `arrears` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import importlib
import sys

import typer

from arrears.bootstrap import configure
from arrears.entrypoints.cli.common import run_app

# One module per command group; each exposes register(app).
COMMAND_MODULES = (
    "loan",
    "account",
    "borrower",
    "db",
    "imports",
    "demo",
    "bench",
    "bench_run",
    "policy",
    "run",
    "compliance",
    "compliance_report",
    "templates",
    "audit",
    "sim",
    "sim_lab",
    "kpi",
    "serve",
    "dispatch",
    "snapshot",
    "user",
)


def build_app() -> typer.Typer:
    configure()
    app = typer.Typer(
        name="arrears",
        help="Consumer-credit delinquency management and compliant, segmented collections.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"arrears.entrypoints.cli.{name}")
        module.register(app)
    return app


def main() -> None:
    sys.exit(run_app(build_app))
