"""`arrears bench run --accounts N --engine E [--json]`: the daily run's throughput on a generated portfolio."""

from __future__ import annotations

import typer

from arrears.entrypoints.cli.bench import bench_app
from arrears.entrypoints.cli.common import console, print_json


def register(app: typer.Typer) -> None:
    """`run` is added to the `bench` group that bench.py registers."""


@bench_app.command("run")
def bench_run(
    accounts: int = typer.Option(100_000, "--accounts", min=1, help="Accounts (loans) in the portfolio."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb, reference or spark."),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy file (default policies/segmented.yaml)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Ledger + features + segments + steps + outbox (Parquet) for N generated accounts, timed."""
    from arrears.engine.bench import generated_portfolio, measure, warm_up
    from arrears.entrypoints.cli.run import load_run_policy

    chosen = load_run_policy(policy)
    with console.status(f"generating {accounts:,} accounts …") if not json_out else _quiet():
        portfolio = generated_portfolio(accounts)
        warm_up(chosen, engine)
    result = measure(portfolio, chosen, engine)
    if json_out:
        print_json(result.to_dict())
    else:
        console.print(
            f"{result.engine}: {result.accounts:,} accounts in {result.seconds:.2f}s = "
            f"{result.accounts_per_s:,.0f} accounts/s ({result.actions:,} actions, peak RSS {result.peak_rss_mb:,.0f} MB)"
        )


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
