"""Shared helpers for the compliance tests: run the CLI in-process and capture what it prints."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arrears.entrypoints.cli import build_app
from arrears.entrypoints.cli.console import run_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def shipped_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Named profiles come from the repository's profiles/ whatever the working directory."""
    monkeypatch.setenv("ARREARS_PROFILES_DIR", str(REPO / "profiles"))


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """cli("compliance", "check", path) → (exit code, stdout, stderr), the way the installed command runs."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["arrears", *args])
        try:
            code = run_app(build_app)
        except SystemExit as stop:
            code = int(stop.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
