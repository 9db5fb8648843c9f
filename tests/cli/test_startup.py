"""The CLI starts fast: `--help` lists every command from the index without importing a command module, a
command loads only its own modules, and the index says what the modules register (no command lost)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import typer

import arrears
from arrears.entrypoints.cli import COMMAND_INDEX, COMMAND_MODULES
from tests.cli.conftest import run_arrears

HEAVY = ("numba", "duckdb", "pyarrow", "pandas", "numpy", "fastapi", "sqlalchemy", "pyspark", "arrears.sim")


def imported_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `arrears ARGS` (exit code checked)."""
    code = (
        "import sys, json\n"
        f"sys.argv = ['arrears', *{list(args)!r}]\n"
        "from arrears.entrypoints.cli import build_app, run_app\n"
        "try:\n    code = run_app(build_app)\nexcept SystemExit as e:\n    code = e.code or 0\n"
        "sys.stdout.write('\\n' + json.dumps([code, sorted(sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    exit_code, modules = json.loads(out.rsplit("\n", 1)[1])
    assert exit_code == 0, out
    return set(modules)


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_every_command_module_is_in_the_index() -> None:
    """A module left out is imported (and the store composed) on every start, `--help` included."""
    indexed = {module for modules, _help in COMMAND_INDEX.values() for module in modules}
    missing = [name for name in COMMAND_MODULES if name not in indexed]
    assert missing == [], f"add the commands of {missing} to COMMAND_INDEX (entrypoints/cli/__init__.py)"


def test_help_and_version_import_no_command_module_and_no_heavy_library() -> None:
    for args in (["--help"], ["--version"]):
        modules = imported_after(*args)
        assert heavy(modules) == []
        commands = {f"arrears.entrypoints.cli.{name}" for name in COMMAND_MODULES}
        assert commands & modules == set(), args
        assert "arrears.services.unit_of_work" not in modules  # the store is not composed


def test_policy_validate_and_compliance_profiles_load_no_engine_or_store() -> None:
    assert heavy(imported_after("policy", "validate", "policies/segmented.yaml")) == []
    assert heavy(imported_after("compliance", "profiles")) == []


def test_version_prints_the_package_version() -> None:
    done = run_arrears("--version")
    assert done.returncode == 0
    assert done.stdout == f"arrears {arrears.__version__}\n"


def test_help_lists_every_command_with_its_own_help(cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for name in COMMAND_INDEX:
        assert f" {name} " in result.stdout


def test_the_index_names_what_the_modules_register() -> None:
    """Registering every module eagerly (the old way) gives the same commands with the same help."""
    app = typer.Typer()
    for name in COMMAND_MODULES:
        importlib.import_module(f"arrears.entrypoints.cli.{name}").register(app)
    group = typer.main.get_group(app)
    assert set(group.commands) == set(COMMAND_INDEX)
    for name, command in group.commands.items():
        modules, help_text = COMMAND_INDEX[name]
        assert (command.help or "").split("\n\n")[0].replace("\n", " ").strip() == help_text, name
        registered_by = {module for module in COMMAND_MODULES if _registers(module, name)}
        assert registered_by <= set(modules), name


def _registers(module: str, name: str) -> bool:
    app = typer.Typer()
    importlib.import_module(f"arrears.entrypoints.cli.{module}").register(app)
    return name in typer.main.get_group(app).commands


def test_a_command_runs_through_the_lazy_group(cli) -> None:
    result = cli("compliance", "profiles")
    assert result.code == 0
    assert "cn" in result.stdout
