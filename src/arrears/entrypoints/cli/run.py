"""`arrears run --as-of D [--through D2] [--policy FILE] [--engine E]`: the daily collections run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress

import arrears
from arrears.adapters.policy_file import load_policy
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError
from arrears.domain.policy.model import Policy
from arrears.engine.evaluators import ENGINES, require_installed
from arrears.entrypoints.cli.audit import checkpoint_after
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, err_console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, count, fitted_table
from arrears.services.daily_run import (
    PART_ACCOUNTS,
    PartPlanner,
    RunSummary,
    days,
    run_range,
    run_warnings,
)

DEFAULT_POLICY = "segmented.yaml"


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def policy_path(ref: str | None) -> Path:
    """A policy file: the path given, else policies/segmented.yaml here or in the source tree."""
    if ref:
        return Path(ref)
    here = Path.cwd() / "policies" / DEFAULT_POLICY
    return (
        here if here.exists() else Path(arrears.__file__).resolve().parents[2] / "policies" / DEFAULT_POLICY
    )


def load_run_policy(ref: str | None) -> Policy:
    return load_policy(policy_path(ref))


def run(
    as_of: str = typer.Option(..., "--as-of", help="The day to run, YYYY-MM-DD."),
    through: str | None = typer.Option(
        None, "--through", help="Catch up every day from --as-of to this one."
    ),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy file (default policies/segmented.yaml)."
    ),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (default), reference or spark."),
    spark_master: str | None = typer.Option(
        None,
        "--spark-master",
        help="With --engine spark: spark://HOST:PORT, yarn or k8s://… (docs/scale.md).",
    ),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Plan and report, write nothing (compare policies)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary per day."),
    workers: int = typer.Option(1, "--workers", help="Worker processes planning the parts (default 1)."),
    part_accounts: int = typer.Option(
        PART_ACCOUNTS, "--part-accounts", help="Accounts per part: the run's memory is bounded by this."
    ),
) -> None:
    """Plan today's collection actions for every account and write them to the outbox (idempotent)."""
    from arrears.adapters.profile_file import load_profile

    start = parse_as_of(as_of)
    end = parse_as_of(through, "--through") if through else start
    n_days = len(list(days(start, end)))
    chosen = load_run_policy(policy)
    profile = load_profile(chosen.compliance_profile)
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use duckdb, reference or spark)", field="--engine")
    if workers < 1:
        raise InputError("--workers must be at least 1", field="--workers")
    if part_accounts < 1:
        raise InputError("--part-accounts must be at least 1", field="--part-accounts")
    require_installed(engine)  # before any work: a missing extra is one line naming it
    if spark_master is not None:
        if engine != "spark":
            raise InputError("--spark-master needs --engine spark", field="--spark-master")
        from arrears.engine.spark_engine import use_master

        use_master(spark_master)
    warnings = run_warnings(db, start, end)
    if not json_out:
        for warning in warnings:
            err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    show_progress = not json_out and console.is_terminal
    with (
        Progress(console=console, disable=not show_progress, transient=True) as progress,
        _planner(db, workers, policy, profile, engine) as planner,
    ):
        task = progress.add_task("daily runs", total=n_days, visible=n_days > 1)
        parts = progress.add_task("parts", total=None)

        def on_part(day: date, done: int, total: int, accounts: int) -> None:
            progress.update(parts, description=f"{day} parts", completed=done, total=total)

        summaries = run_range(
            db,
            start,
            end,
            chosen,
            profile,
            engine,
            lambda _s: progress.advance(task),
            dry_run=dry_run,
            part_accounts=part_accounts,
            planner=planner,
            on_part=on_part,
        )
    for s in summaries:
        s.warnings = list(warnings)
    anchored = dry_run or checkpoint_after(db)  # the audit log's head, signed, outside the database
    if json_out:
        print_json([s.to_dict() for s in summaries] if through else summaries[0].to_dict())
    else:
        for s in summaries:
            render_summary(s, dry_run)
        if len(summaries) > 1:
            total = sum(s.counts["accidental_late_payers"]["lawyer_letter"] for s in summaries)
            console.print(
                _("over {days} days: {letters} lawyer's letters planned for accidental late payers").format(
                    days=count(len(summaries)), letters=count(total)
                )
            )
    if not anchored:
        raise typer.Exit(EXIT_FINDINGS)


@contextmanager
def _planner(
    db: str | None, workers: int, policy: str | None, profile: ComplianceProfile, engine: str
) -> Iterator[PartPlanner | None]:
    """Worker processes planning the parts (`--workers N`, N > 1), or None: the parts are planned here."""
    if workers == 1:
        yield None
        return
    from arrears.adapters.policy_file import load_policy
    from arrears.bootstrap import configure
    from arrears.services.run_workers import WorkerPlanner

    with WorkerPlanner(
        db, workers, configure, partial(load_policy, policy_path(policy)), profile, engine
    ) as pool:
        yield pool


def render_summary(s: RunSummary, dry_run: bool = False) -> None:
    note = " " + _("(already run: nothing new written)") if s.already_run and s.written == 0 else ""
    note = " " + _("(dry run: nothing written)") if dry_run else note
    line = _(
        "{day} {policy} on {engine}: {accounts} accounts, {planned} actions planned, "
        "{written} written to the outbox in {seconds}s"
    ).format(
        day=f"[bold]{s.as_of}[/]",
        policy=escape(s.policy_id),
        engine=s.engine,
        accounts=count(s.accounts),
        planned=count(s.planned),
        written=count(s.written),
        seconds=f"{s.seconds:.2f}",
    )
    console.print(line + note)
    segments = [[name, count(n)] for name, n in sorted(s.counts["segments"].items(), key=lambda kv: -kv[1])]
    steps = [[name, count(n)] for name, n in sorted(s.counts["steps"].items(), key=lambda kv: -kv[1])]
    console.print(
        fitted_table([Column(_("segment")), Column(_("accounts"), "number")], segments, console=console),
        fitted_table([Column(_("step")), Column(_("actions"), "number")], steps, console=console),
    )
    statuses = ", ".join(f"{k} {count(v)}" for k, v in sorted(s.counts["statuses"].items()))
    console.print(_("statuses: {statuses}").format(statuses=statuses))
    acc = s.counts["accidental_late_payers"]
    console.print(
        _(
            "accidental late payers planned a lawyer's letter: {letters} (any legal-tone action: {legal})"
        ).format(letters=f"[bold]{count(acc['lawyer_letter'])}[/]", legal=count(acc["legal_tone"]))
    )
