"""`arrears kpi --from D1 --to D2 [--json]`: collections KPIs from the store (definitions: docs/kpi.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from arrears.adapters.kpi_costs import load_costs
from arrears.domain.roll_rates import bucket_rank, next_bucket
from arrears.entrypoints.cli.common import console, parse_as_of, print_json
from arrears.services.kpi import compute_kpis
from arrears.services.unit_of_work import UnitOfWork

SHOWN = (
    ("accounts", "accounts"),
    ("delinquent_at_start", "delinquent at start"),
    ("cure_rate", "cure rate"),
    ("self_cure_rate", "self-cure rate"),
    ("overdue_at_start", "overdue at start (¥)"),
    ("overdue_at_end", "overdue at end (¥)"),
    ("recovery_rate", "recovery rate"),
    ("recovered", "recovered (¥)"),
    ("cei", "CEI"),
    ("contacts", "contacts"),
    ("right_party_contact_rate", "right-party contact rate"),
    ("promise_kept_rate", "promise kept rate"),
    ("contacts_per_yuan_recovered", "contacts per ¥ recovered"),
    ("cost", "cost (¥)"),
    ("cost_to_collect", "cost to collect (¥ per ¥)"),
    ("complaints", "complaints"),
    ("complaints_per_10k_contacts", "complaints per 10k contacts"),
    ("accidental_late_payers", "accidental late payers"),
    ("accidental_legal_threat_share", "… of them sent a legal threat"),
    ("compliance_blocked", "compliance blocks"),
    ("compliance_deferred", "compliance defers"),
)


def register(app: typer.Typer) -> None:
    app.command("kpi")(kpi)


def kpi(
    start: str = typer.Option(..., "--from", help="First day of the window, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day of the window (included)."),
    db: str = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    policy: str = typer.Option(
        None, "--policy", help="Read product settings (grace, late fee) from this policy file."
    ),
    costs: Path = typer.Option(None, "--costs", help="Unit costs per channel YAML (default: docs/kpi.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print every KPI as one JSON object."),
) -> None:
    """Roll rates, cures, recovery, contact rates, promises, cost, complaints, CEI, legal threats."""
    first, last = parse_as_of(start, "--from"), parse_as_of(end, "--to")
    products = None
    if policy:
        from arrears.adapters.policy_file import load_policy

        products = dict(load_policy(policy).products)
    cost_table = load_costs(costs)
    with UnitOfWork(db) as uow:
        result = compute_kpis(uow, first, last, cost_table, products=products)
    if json_out:
        print_json(result)
        return
    table = Table(title=f"KPIs {first.isoformat()} .. {last.isoformat()}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, label in SHOWN:
        value = result[key]
        if key.endswith(("rate", "share")):
            value = "–" if value is None else f"{value * 100:.1f}%"
        table.add_row(label, "–" if value is None else str(value))
    console.print(table)
    rolls = Table(title="Roll rates (opening bucket → worse at the end)")
    for column in ("bucket", "accounts", "rolled", "rate"):
        rolls.add_column(column, justify="right")
    for bucket, row in result["roll_rates"].items():
        rate = "–" if row["rate"] is None else f"{row['rate'] * 100:.1f}%"
        rolls.add_row(bucket, str(row["accounts"]), str(row["rolled"]), rate)
    console.print(rolls)
    if result["monthly_roll_rates"]:
        monthly = Table(title="Roll rates month by month (30-day months: bucket → the next one)")
        monthly.add_column("month")
        buckets = sorted(
            {b for m in result["monthly_roll_rates"] for b in m["roll_rates"] if b != "M7+"},
            key=bucket_rank,
        )
        for bucket in buckets:
            monthly.add_column(f"{bucket}→{next_bucket(bucket)}", justify="right")
        for month in result["monthly_roll_rates"]:
            rates = [month["roll_rates"].get(bucket, {}).get("rate") for bucket in buckets]
            cells = ["–" if rate is None else f"{rate * 100:.1f}%" for rate in rates]
            monthly.add_row(f"{month['month']} (from {month['from'][5:]})", *cells)
        console.print(monthly)
