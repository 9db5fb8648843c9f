"""Fixtures of the lab's tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import pytest
import typer

from arrears.bootstrap import allow_new_stores
from arrears.entrypoints.cli.console import run_app


@pytest.fixture
def lab_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """`arrears` with the lab's command modules registered (until the lead adds them to COMMAND_MODULES)."""

    def build() -> typer.Typer:
        allow_new_stores()  # as `arrears sim` does (entrypoints/cli/__init__.py CREATES_STORES)
        app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
        for name in ("sim", "sim_lab", "kpi"):
            importlib.import_module(f"arrears.entrypoints.cli.{name}").register(app)
        return app

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["arrears", *args])
        capsys.readouterr()
        try:
            code = run_app(build)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
