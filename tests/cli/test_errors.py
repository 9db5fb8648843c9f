"""Errors as the README documents them: one line on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.conftest import run_arrears


def one_line_error(done, *fragments: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("kpi", "--from", "2026-01-01", "--to", "2026-01-31"),
        ("run", "--as-of", "2026-01-10"),
        ("borrower", "show", "B00001"),
        ("outbox", "list"),
        ("db", "info"),
    ],
)
def test_a_command_run_where_there_is_no_store_is_refused_and_creates_none(tmp_path: Path, args) -> None:
    done = run_arrears(*args, env={"ARREARS_DB_URL": None}, cwd=tmp_path)
    line = one_line_error(done, str(tmp_path / "arrears.db"), "arrears db upgrade")
    assert "ARREARS_DB_URL is not set" in line
    assert not (tmp_path / "arrears.db").exists()


def test_a_store_url_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/typo.db"
    one_line_error(
        run_arrears("account", "show", "L1", "--as-of", "2026-01-10", env={"ARREARS_DB_URL": url}),
        "ARREARS_DB_URL",
        str(tmp_path / "typo.db"),
    )
    one_line_error(
        run_arrears("kpi", "--from", "2026-01-01", "--to", "2026-01-02", "--db", url), "--db", "typo.db"
    )
    assert not (tmp_path / "typo.db").exists()


def test_db_upgrade_creates_the_store_and_then_commands_use_it(tmp_path: Path) -> None:
    env = {"ARREARS_DB_URL": None}
    assert run_arrears("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    assert (tmp_path / "arrears.db").exists()
    done = run_arrears("kpi", "--from", "2026-01-01", "--to", "2026-01-31", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_run_with_a_missing_optional_engine_names_the_extra(cli, store_url, monkeypatch) -> None:
    """pyspark made unimportable, as on an install without the spark extra."""
    monkeypatch.setitem(sys.modules, "pyspark", None)
    result = cli("run", "--as-of", "2026-01-10", "--engine", "spark")
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "error: field '--engine': the spark engine needs pyspark, which is not installed: "
        "pip install 'arrears[spark]'"
    ]
    assert "Traceback" not in result.stderr


def test_a_missing_optional_engine_through_the_console_script(tmp_path: Path) -> None:
    """The installed command with pyspark hidden: a module of that name that fails to import."""
    fake = tmp_path / "site"
    (fake / "pyspark").mkdir(parents=True)
    (fake / "pyspark" / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    store = tmp_path / "store.db"
    env = {"ARREARS_DB_URL": f"sqlite:///{store}", "PYTHONPATH": str(fake)}
    assert run_arrears("db", "upgrade", env=env).returncode == 0
    done = run_arrears("run", "--as-of", "2026-01-10", "--engine", "spark", env=env)
    one_line_error(done, "pip install 'arrears[spark]'", "--engine")
