"""`arrears` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("arrears")
ARREARS = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "arrears.entrypoints.cli"]


def run_arrears(
    *args: str, env: dict[str, str] | None = None, cwd: str | Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`arrears ARGS` with the environment changed by `env` (a None value removes the variable)."""
    environment = {**os.environ, "COLUMNS": "80", "LANG": "C.UTF-8"}
    environment.pop("LC_ALL", None)
    environment.pop("LC_MESSAGES", None)
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run([*ARREARS, *args], capture_output=True, text=True, env=environment, cwd=cwd)


@pytest.fixture
def arrears_cmd():
    return run_arrears
