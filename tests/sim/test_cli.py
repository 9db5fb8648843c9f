"""`arrears sim portfolio` through the real entry point (run_app): files, counts, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import typer

from arrears.bootstrap import allow_new_stores
from arrears.entrypoints.cli import sim
from arrears.entrypoints.cli.console import run_app


def _build() -> typer.Typer:
    allow_new_stores()  # as `arrears sim` does (entrypoints/cli/__init__.py CREATES_STORES)
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root() -> None:
        """arrears (test root)."""

    sim.register(app)
    return app


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["arrears", *args])
    try:
        return run_app(_build)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_portfolio_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "p"
    code = run(
        monkeypatch,
        "sim",
        "portfolio",
        "--borrowers",
        "200",
        "--seed",
        "4",
        "--as-of",
        "2026-03-31",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["borrowers"] == 200
    assert counts["seed"] == 4 and counts["as_of"] == "2026-03-31"
    loans = pq.read_table(out / "loans.parquet")
    assert counts["instalments"] == loans.num_rows
    assert counts["loans"] == len(set(loans.column("loan_id").to_pylist()))
    assert counts["payments"] == pq.read_table(out / "payments.parquet").num_rows
    assert counts["events"] == pq.read_table(out / "events.parquet").num_rows
    assert sum(counts["loans_by_persona"].values()) == counts["loans"]
    assert sum(counts["events_by_kind"].values()) == counts["events"]
    assert set(counts["files"]) == {"loans", "payments", "events"}


def test_portfolio_csv_and_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = run(
        monkeypatch,
        "sim",
        "portfolio",
        "--borrowers",
        "50",
        "--as-of",
        "2026-03-31",
        "--out",
        str(tmp_path),
        "--format",
        "csv",
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "borrowers" in text and "loans by persona" in text
    header = (tmp_path / "payments.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == '"payment_id","loan_id","paid_on","amount","reverses","source"'
    loans = pacsv.read_csv(
        tmp_path / "loans.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
    )
    assert loans.column_names[:6] == ["loan_id", "borrower_id", "product", "currency", "seq", "due_date"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-02-30"], "--as-of must be a date"),
        (["--format", "xlsx"], "format must be one of parquet, csv"),
    ],
)
def test_bad_input_exits_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    base = {"--as-of": "2026-03-31", "--out": str(tmp_path / "x"), "--borrowers": "5"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [part for pair in base.items() for part in pair]
    assert run(monkeypatch, "sim", "portfolio", *flat) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_out_is_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert run(monkeypatch, "sim", "portfolio", "--borrowers", "5", "--out", str(target)) == 2
    assert "not a directory" in capsys.readouterr().err


def test_bad_params_file_names_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from arrears.sim.portfolio_params import DEFAULT_PARAMS

    built_in = (Path(sim.__file__).parents[2] / "sim" / DEFAULT_PARAMS).read_text(encoding="utf-8")
    bad = built_in.replace("  email_share: 0.70", "  email_share: 1.70")
    params = tmp_path / "params.yaml"
    params.write_text(bad, encoding="utf-8")
    line = bad.splitlines().index("  email_share: 1.70") + 1
    assert (
        run(
            monkeypatch,
            "sim",
            "portfolio",
            "--borrowers",
            "5",
            "--out",
            str(tmp_path / "o"),
            "--params",
            str(params),
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f"params.yaml:{line}" in err and "borrowers.email_share" in err


def test_portfolio_load_into_the_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("arrears.services.imports")
    monkeypatch.setenv("ARREARS_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    args = ["sim", "portfolio", "--borrowers", "40", "--seed", "2", "--as-of", "2026-03-31"]
    assert run(monkeypatch, *args, "--out", str(tmp_path / "a"), "--load", "--json") == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["imported"]["loans"] == {"written": counts["instalments"], "duplicates": 0}
    assert counts["imported"]["events"]["written"] == counts["events"]
    assert run(monkeypatch, *args, "--out", str(tmp_path / "b"), "--load", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["imported"]["payments"] == {"written": 0, "duplicates": counts["payments"]}
