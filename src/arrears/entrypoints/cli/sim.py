"""`arrears sim ...`: the strategy lab. `sim portfolio` writes a synthetic portfolio as import files.

Other simulation commands (`sim run`, `sim compare`) attach to `sim_app` from their own modules.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.sim.portfolio import FORMATS, check_output, generate_portfolio, load_portfolio, write_portfolio
from arrears.sim.portfolio_params import load_params

sim_app = typer.Typer(help="Strategy lab: synthetic portfolios and policy simulations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sim_app, name="sim")


@sim_app.command("portfolio")
def portfolio(
    borrowers: int = typer.Option(
        1000, "--borrowers", min=0, help="Number of borrowers (each has 1-3 loans)."
    ),
    seed: int = typer.Option(
        0, "--seed", min=0, help="Random seed: the same seed gives byte-identical files."
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Date YYYY-MM-DD the history runs up to (default: today)."
    ),
    out: Path = typer.Option(..., "--out", help="Directory for loans / payments / events files."),
    fmt: str = typer.Option("parquet", "--format", help=f"File format: {' | '.join(FORMATS)}."),
    params_file: Path = typer.Option(
        None, "--params", help="Portfolio parameters YAML (default: the built-in portfolio_params.yaml)."
    ),
    load: bool = typer.Option(
        False, "--load", help="Also import the portfolio into the store (ARREARS_DB_URL, else ./arrears.db)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the counts as one JSON object."),
) -> None:
    """Generate borrowers, loans, payment histories and events; write them in the import layouts."""
    day = parse_as_of(as_of) if as_of else date.today()
    check_output(out, fmt)
    params = load_params(params_file)
    started = time.perf_counter()
    if console.is_terminal and not json_out:
        with console.status(f"drawing {borrowers:,} borrowers ..."):
            result = generate_portfolio(borrowers, seed, day, params)
            paths = write_portfolio(result, out, fmt)
    else:
        result = generate_portfolio(borrowers, seed, day, params)
        paths = write_portfolio(result, out, fmt)
    imported: dict[str, dict[str, int]] = {}
    if load:
        for kind, done in load_portfolio(result).items():
            imported[kind] = {"written": done.written, "duplicates": done.duplicates}
    seconds = time.perf_counter() - started
    counts = result.counts()
    if json_out:
        extra = {"imported": imported} if load else {}
        files = {k: str(v) for k, v in paths.items()}
        print_json({**counts, "files": files, **extra, "seconds": round(seconds, 3)})
        return
    console.print(f"Synthetic portfolio: seed {seed}, as of {day.isoformat()}")
    summary = Table()
    summary.add_column("")
    summary.add_column("count", justify="right")
    for key in ("borrowers", "loans", "instalments", "payments", "reversals", "events"):
        summary.add_row(key, f"{counts[key]:,}")
    console.print(summary)
    detail = Table.grid(padding=(0, 3))
    personas = ", ".join(f"{k} {v:,}" for k, v in counts["loans_by_persona"].items())
    kinds = ", ".join(f"{k} {v:,}" for k, v in counts["events_by_kind"].items())
    detail.add_row("loans by persona", personas)
    detail.add_row("events by kind", kinds)
    console.print(detail)
    for name, path in paths.items():
        console.print(f"{name}: {path}")
    for kind, numbers in imported.items():
        console.print(
            f"imported {kind}: {numbers['written']:,} rows written, {numbers['duplicates']:,} duplicates"
        )
    console.print(f"{seconds:.1f} s")
