"""Fixtures of the lab's tests."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
import typer

from arrears.bootstrap import allow_new_stores
from tests.conftest import in_process


@pytest.fixture
def lab_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str, str]]:
    """`arrears` with only the lab's command modules registered (sim, sim_lab, kpi)."""

    def build() -> typer.Typer:
        allow_new_stores()  # as `arrears sim` does (entrypoints/cli/__init__.py CREATES_STORES)
        app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
        for name in ("sim", "sim_lab", "kpi"):
            importlib.import_module(f"arrears.entrypoints.cli.{name}").register(app)
        return app

    runner = in_process(build, capsys, monkeypatch)

    def run(*args: str) -> tuple[int, str, str]:
        result = runner(*args)
        return result.code, result.stdout, result.stderr

    return run
