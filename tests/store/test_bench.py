"""`arrears bench import` on a small file: the figures it prints (the timing itself is in docs/performance.md)."""

from __future__ import annotations

import json


def test_bench_import_prints_rows_seconds_and_rate(store_url: str, cli) -> None:
    result = cli("bench", "import", "--rows", "2000", "--url", store_url, "--json")
    assert result.code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert (figures["rows"], figures["written"], figures["reversals"], figures["loans"]) == (
        2000,
        2000,
        20,
        500,
    )
    assert figures["loan_rows"] == 1500
    assert figures["seconds"] > 0 and figures["rows_per_s"] > 0
    check = cli("db", "check")
    assert check.code == 0 and "500 loan(s) checked" in check.stdout


def test_bench_run_prints_the_measured_figures(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = cli("bench", "run", "--accounts", "2000", "--part-accounts", "800", "--json")
    assert result.code == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"accounts", "seconds", "accounts_per_s", "engine", "actions", "peak_rss_mb", "parts"} <= set(
        figures
    )
    assert (figures["accounts"], figures["parts"], figures["engine"]) == (2000, 3, "duckdb")
    assert figures["workers"] >= 1  # DuckDB runs the parts on worker processes by default
    assert figures["seconds"] > 0 and figures["actions"] > 0 and figures["peak_rss_mb"] > 0
    assert (tmp_path / ".bench" / "snapshot-2000-seed1" / "manifest.json").exists()
