"""`arrears sim run` and `arrears sim compare`: policies played against synthetic borrowers.

Attaches to the `sim` group of entrypoints/cli/sim.py (register this module after "sim").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from arrears.adapters.kpi_costs import load_costs
from arrears.adapters.lab_report.html import write_report
from arrears.adapters.lab_report.language import report_language
from arrears.adapters.lab_report.text import format_estimate, format_value, interval_notes
from arrears.adapters.profile_file import load_profile
from arrears.domain.comparison import METRIC_BY_KEY, metric_value
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.language import language as cli_language
from arrears.entrypoints.cli.run import load_run_policy
from arrears.sim.behaviour import load_behaviour
from arrears.sim.report import compare
from arrears.sim.simulation import DEFAULT_START, DayRecord, simulate

HEADLINE = (
    "recovered",
    "recovery_rate",
    "cure_rate",
    "cei",
    "contacts",
    "cost",
    "complaints",
    "accidental_legal_threat_share",
    "compliance_blocked",
)


def register(app: typer.Typer) -> None:
    from arrears.entrypoints.cli.sim import sim_app

    sim_app.command("run")(run)
    sim_app.command("compare")(compare_command)


def _check_sizes(days: int, borrowers: int) -> None:
    if days < 1:
        raise InputError("--days must be at least 1", field="--days")
    if borrowers < 1:
        raise InputError("--borrowers must be at least 1", field="--borrowers")


def run(
    policy: str = typer.Option(None, "--policy", help="Policy file (default policies/segmented.yaml)."),
    days: int = typer.Option(90, "--days", help="Days to simulate."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed: the same seed gives the same numbers."),
    borrowers: int = typer.Option(1000, "--borrowers", help="Synthetic borrowers (1-3 loans each)."),
    db: str = typer.Option(None, "--db", help="Store URL (default: a new SQLite file in a temp folder)."),
    start: str = typer.Option(None, "--from", help=f"First simulated day (default {DEFAULT_START})."),
    params: Path = typer.Option(None, "--params", help="Behaviour parameters YAML (default: built-in)."),
    costs: Path = typer.Option(None, "--costs", help="Unit costs per channel YAML (default: docs/kpi.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Generate a portfolio into a fresh store and run the policy day by day against it."""
    _check_sizes(days, borrowers)
    chosen = load_run_policy(policy)
    profile = load_profile(chosen.compliance_profile)
    first = parse_as_of(start, "--from") if start else DEFAULT_START
    behaviour = load_behaviour(params)
    cost_table = load_costs(costs)
    if db and db.startswith("sqlite:///") and Path(db.removeprefix("sqlite:///")).exists():
        raise InputError("the simulation needs a fresh store: the file already exists", field="--db")

    def go(on_day: Any = None) -> Any:
        return simulate(
            chosen, profile, days=days, seed=seed, borrowers=borrowers, url=db, start=first,
            params=behaviour, costs=cost_table, on_day=on_day,
        )  # fmt: skip

    if console.is_terminal and not json_out:
        with console.status("simulating ...") as status:

            def tick(record: DayRecord) -> None:
                status.update(
                    f"simulating {record.day.isoformat()} ({record.sent} sent, {record.payments} paid)"
                )

            result = go(tick)
    else:
        result = go()
    if json_out:
        print_json(result.to_dict())
        return
    console.print(
        f"Simulated {result.policy}: {borrowers:,} borrowers, seed {seed}, "
        f"{result.start.isoformat()} .. {result.end.isoformat()} in {result.seconds:.1f} s"
    )
    table = Table()
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key in HEADLINE:
        metric = METRIC_BY_KEY[key]
        table.add_row(metric.label, format_value(metric_value(result.kpis, key), metric.kind))
    console.print(table)
    console.print(f"store: {result.url}")
    console.print(f"all KPIs: arrears kpi --from {result.start} --to {result.end} --db {result.url}")


def compare_command(
    policies: list[str] = typer.Argument(..., help="Two or more policy files."),
    days: int = typer.Option(90, "--days", help="Days to simulate."),
    seeds: int = typer.Option(3, "--seeds", help="How many seeds (seed, seed+1, ...)."),
    seed: int = typer.Option(0, "--seed", min=0, help="The first seed."),
    borrowers: int = typer.Option(1000, "--borrowers", help="Synthetic borrowers (1-3 loans each)."),
    start: str = typer.Option(None, "--from", help=f"First simulated day (default {DEFAULT_START})."),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML report to write."),
    jobs: int = typer.Option(None, "--jobs", help="Parallel simulations (default: CPU count)."),
    lang: str = typer.Option(
        None, "--lang", help="Language of the report and table: en or zh-CN (default: the CLI's language)."
    ),
    data: Path = typer.Option(None, "--data", help="Also write the comparison as JSON to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print the comparison as one JSON object."),
) -> None:
    """Simulate each policy with the same seeds (paired); print each KPI per policy and the difference
    between them with bootstrap intervals, and write a self-contained HTML report."""
    _check_sizes(days, borrowers)
    language = report_language(lang or cli_language())  # --lang, else the CLI's (`arrears --lang`, locale)
    if seeds < 1:
        raise InputError("--seeds must be at least 1", field="--seeds")
    if len(policies) < 2:
        raise InputError("give at least two policy files to compare", field="POLICIES")
    for path in policies:
        load_run_policy(path)  # bad input is reported before any simulation starts
    first = parse_as_of(start, "--from") if start else DEFAULT_START
    seed_list = list(range(seed, seed + seeds))
    total = len(policies) * seeds
    if console.is_terminal and not json_out:
        with console.status(f"simulating {total} runs ...") as status:
            done: list[str] = []

            def tick(name: str, s: int, secs: float) -> None:
                done.append(name)
                status.update(f"simulating: {len(done)}/{total} done ({name} seed {s}: {secs:.0f} s)")

            comparison = compare(
                policies,
                days=days,
                seeds=seed_list,
                borrowers=borrowers,
                start=first,
                jobs=jobs,
                on_done=tick,
            )
    else:
        comparison = compare(
            policies, days=days, seeds=seed_list, borrowers=borrowers, start=first, jobs=jobs
        )
    path = write_report(comparison, out, language)
    document = {**comparison.to_dict(), "report": str(path)}
    if data is not None:
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if json_out:
        print_json(document)
        return
    t = language.t
    table = Table(
        title=t(
            "{borrowers} borrowers × {days} days × {seeds} paired seed(s): mean and 95 % interval",
            borrowers=f"{borrowers:,}",
            days=days,
            seeds=seeds,
        )
    )
    table.add_column(t("KPI"))
    names = comparison.names
    for name in names:
        table.add_column(name, justify="right", overflow="fold")  # never cut a policy id
    for name in names[1:]:
        table.add_column(t("{b} − {a}", a=names[0], b=name), justify="right", overflow="fold")
    rows = [(t(row.label), row) for row in comparison.rows()]
    rows += [
        (t("{transition}, month {n}", transition=row.label, n=month), row)
        for month, _, row in comparison.monthly_rows()
    ]
    for label, row in rows:
        cells = [format_estimate(e, row.kind, language) for e in row.arms.values()]
        cells += [format_estimate(e, row.kind, language, change=True) for e in row.differences.values()]
        table.add_row(label, *cells)
    console.print(table)
    for note in interval_notes(comparison, language):
        console.print(note, highlight=False)
    console.print(t("{seconds} s; report: {path}", seconds=f"{comparison.seconds:.1f}", path=path.resolve()))
