"""`arrears demo`: a sample 白条 portfolio in the embedded store, the daily run, and the seeds' question."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from arrears.domain.compliance.profile import ComplianceProfile
from arrears.entrypoints.cli.console import console, print_json
from arrears.entrypoints.cli.output import count, money
from arrears.services.portfolio_report import BucketLine, bucket_table

DEMO_LINE_LIMIT = 5_000_00  # ¥5,000.00: each demo borrower's 白条 line
DEMO_AS_OF = date(2026, 3, 31)
# What `make demo` simulates after this command (Makefile): paired seeds enough for bootstrap intervals, few
# enough borrowers to finish within 3 minutes on two cores.
DEMO_SEEDS = 5
DEMO_SIM_BORROWERS = 300


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("portfolio")(portfolio)


def demo(
    borrowers: int = typer.Option(10_000, "--borrowers", help="Synthetic borrowers to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed (the same seed, the same portfolio)."),
    compare_days: int = typer.Option(
        14, "--compare-days", help="Days of history to replay per policy in a dry run (0: none)."
    ),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    data: Path | None = typer.Option(
        None, "--data", help="Also write the replay's figures as JSON to this file (scripts/readme_demo.py)."
    ),
) -> None:
    """Build a sample portfolio (if the store is empty), show it by bucket, run the day, compare policies."""
    from arrears.adapters.profile_file import load_profile
    from arrears.entrypoints.cli.run import load_run_policy, render_summary
    from arrears.services.credit_lines import open_lines
    from arrears.services.daily_run import run_range
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.sim.portfolio import generate_portfolio, load_portfolio

    with UnitOfWork(db) as uow:
        empty = uow.loans.count() == 0
    if empty:
        with console.status(f"generating {borrowers:,} synthetic borrowers (seed {seed}) …"):
            generated = generate_portfolio(borrowers, seed, DEMO_AS_OF)
            load_portfolio(generated, db)
            with UnitOfWork(db) as uow:  # each borrower's purchases under one 白条 line (docs/books.md)
                open_lines(uow, DEMO_LINE_LIMIT, "CNY", DEMO_AS_OF)
        console.print(f"built a sample portfolio of {borrowers:,} borrowers as of {DEMO_AS_OF}")
    else:
        console.print("the store already holds a portfolio: using it")
    with UnitOfWork(db) as uow:
        lines = bucket_table(uow, DEMO_AS_OF)
    render_buckets(lines, DEMO_AS_OF)

    segmented = load_run_policy(None)
    profile = load_profile(segmented.compliance_profile)
    with console.status("daily run …"):
        (summary,) = run_range(db, DEMO_AS_OF, DEMO_AS_OF, segmented, profile)
    render_summary(summary)
    render_books(db, summary.counts.get("books", {}))

    rows = replay(db, compare_days, profile) if compare_days > 0 else []
    if data is not None:
        data.parent.mkdir(parents=True, exist_ok=True)
        document = {"as_of": DEMO_AS_OF.isoformat(), "replay_days": compare_days, "replay": rows}
        data.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    console.print(
        "next: [bold]arrears sim compare policies/jd-baitiao-11day.yaml policies/segmented.yaml "
        f"--days 90 --seeds {DEMO_SEEDS} --borrowers {DEMO_SIM_BORROWERS} --out out/report.html[/] "
        "(what `make demo` runs)"
    )


def render_books(db: str | None, counts: dict[str, int]) -> None:
    """The day's credit-line freezes and charge-offs, with one of each to look at (docs/books.md)."""
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(db) as uow:
        frozen = uow.credit_lines.all(status="frozen")
        charged = [co for co, status, _ in uow.books.charge_offs() if status == "charged_off"]
    written_off = sum(co.amounts.total for co in charged)
    console.print(
        f"credit lines frozen today: {counts.get('lines_frozen', 0):,} ({len(frozen):,} frozen in all"
        + (f"; e.g. [bold]arrears lines show {frozen[0].id}[/]" if frozen else "")
        + f"); charged off today: {counts.get('charged_off', 0):,} accounts ({len(charged):,} in all, "
        f"¥{money(written_off, 'CNY')} written off"
        + (f"; e.g. [bold]arrears books show {charged[0].loan_id}[/]" if charged else "")
        + ")"
    )


def replay(db: str | None, compare_days: int, profile: ComplianceProfile) -> list[dict[str, Any]]:
    """Each shipped policy over the last days of the stored portfolio, planned but not written; the table's
    rows."""
    from arrears.entrypoints.cli.run import load_run_policy, policy_path
    from arrears.services.daily_run import run_range

    start = DEMO_AS_OF - timedelta(days=compare_days - 1)
    table = Table(title=f"Replaying {start} → {DEMO_AS_OF} under each policy (dry run)")
    for col in ("policy", "actions planned", "lawyer's letters", "…to accidental late payers"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    rows = []
    for name in ("jd-baitiao-11day", "segmented"):
        policy = load_run_policy(str(policy_path(None).parent / f"{name}.yaml"))
        with console.status(f"replaying {compare_days} days under {policy.id} …"):
            days = run_range(db, start, DEMO_AS_OF, policy, profile, dry_run=True)
        row = {
            "policy": policy.id,
            "planned": sum(d.planned for d in days),
            "lawyer_letters": sum(d.counts["channels"].get("lawyer_letter", 0) for d in days),
            "accidental_lawyer_letters": sum(
                d.counts["accidental_late_payers"]["lawyer_letter"] for d in days
            ),
        }
        rows.append(row)
        table.add_row(
            policy.id,
            count(row["planned"]),
            count(row["lawyer_letters"]),
            count(row["accidental_lawyer_letters"]),
        )
    console.print(table)
    return rows


def portfolio(
    as_of: str = typer.Option(..., "--as-of", help="Date YYYY-MM-DD."),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The stored portfolio by delinquency bucket: accounts, outstanding, overdue and late fee."""
    from arrears.entrypoints.cli.console import parse_as_of
    from arrears.services.unit_of_work import UnitOfWork

    day = parse_as_of(as_of)
    with UnitOfWork(db) as uow:
        lines = bucket_table(uow, day)
    if json_out:
        print_json({"as_of": day.isoformat(), "buckets": [line.to_dict() for line in lines]})
    else:
        render_buckets(lines, day)


def render_buckets(lines: list[BucketLine], as_of: date, currency: str = "CNY") -> None:
    from arrears.entrypoints.cli.language import _
    from arrears.entrypoints.cli.output import Column, count, fitted_table, money

    columns = [
        Column(_("bucket"), "key"),
        *(Column(_(c), "number") for c in ("accounts", "outstanding", "overdue", "late fee")),
    ]
    rows = [
        [
            _(line.bucket) if line.bucket in ("total", "(settled)") else line.bucket,
            count(line.accounts),
            money(line.outstanding, currency),
            money(line.overdue, currency),
            money(line.late_fee, currency),
        ]
        for line in lines
    ]
    styles = ["bold" if line.bucket == "total" else None for line in lines]
    title = _("Portfolio by bucket as of {day} ({currency})").format(day=as_of, currency=currency)
    console.print(fitted_table(columns, rows, console=console, title=title, row_styles=styles))
