"""`arrears kpi --from D1 --to D2 [--json]`: collections KPIs from the store (definitions: docs/kpi.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from arrears.adapters.kpi_costs import load_costs
from arrears.domain.roll_rates import bucket_rank, next_bucket
from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, count, fitted_table, grouped, number, percent
from arrears.services.kpi_report import all_kpis
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
        result = all_kpis(uow, first, last, cost_table, products=products)
    if json_out:
        print_json(result)
        return
    render_kpis(result, first, last)


def kpi_text(key: str, value: Any) -> str:
    """One KPI as text for people: rates as percentages, amounts and counts grouped, undefined as —."""
    if key.endswith(("rate", "share")):
        return percent(value)
    if isinstance(value, str):
        return grouped(value)  # an amount: a decimal string in yuan
    return number(value)


def render_kpis(result: dict[str, Any], first: date, last: date) -> None:
    title = _("KPIs {first} .. {last}").format(first=first.isoformat(), last=last.isoformat())
    rows = [[_(label), kpi_text(key, result[key])] for key, label in SHOWN]
    columns = [Column(_("KPI")), Column(_("value"), "number")]
    console.print(fitted_table(columns, rows, console=console, title=title))
    columns = [
        Column(_("bucket"), "key"),
        Column(_("accounts"), "number"),
        Column(_("rolled"), "number"),
        Column(_("rate"), "number"),
    ]
    rows = [
        [bucket, count(row["accounts"]), count(row["rolled"]), percent(row["rate"])]
        for bucket, row in result["roll_rates"].items()
    ]
    title = _("Roll rates (opening bucket → worse at the end)")
    console.print(fitted_table(columns, rows, console=console, title=title))
    render_field_kpis(result)
    if "charge_off" in result:  # charge-off and recoveries on charged-off balances (docs/books.md)
        rows = [[key.replace("_", " "), kpi_text(key, v)] for key, v in result["charge_off"].items()]
        columns = [Column("charge-off", "key"), Column(_("value"), "number")]
        console.print(fitted_table(columns, rows, console=console, title="Charge-off and recovery"))
    if result["monthly_roll_rates"]:
        buckets = sorted(
            {b for m in result["monthly_roll_rates"] for b in m["roll_rates"] if b != "M7+"},
            key=bucket_rank,
        )
        # The later buckets give way first on a narrow terminal.
        columns = [Column(_("month"), "key")]
        columns += [Column(f"{b}→{next_bucket(b)}", "number", drop=i) for i, b in enumerate(buckets)]
        rows = []
        for month in result["monthly_roll_rates"]:
            rates = [month["roll_rates"].get(bucket, {}).get("rate") for bucket in buckets]
            label = _("{month} (from {start})").format(month=month["month"], start=month["from"][5:])
            rows.append([label, *(percent(rate) for rate in rates)])
        title = _("Roll rates month by month (30-day months: bucket → the next one)")
        console.print(fitted_table(columns, rows, console=console, title=title))


def render_field_kpis(result: dict[str, Any]) -> None:
    """The agency league table, legal recovery and cost, field visits (docs/agencies.md)."""
    if result.get("agency_league"):
        columns = [
            Column(_("rank"), "number"),
            Column(_("agency"), "key"),
            Column(_("accounts"), "number"),
            Column(_("placed (¥)"), "number", drop=2),
            Column(_("recovered (¥)"), "number"),
            Column(_("recovery rate"), "number"),
            Column(_("commission (¥)"), "number", drop=1),
        ]
        rows = [
            [count(r["rank"]), r["agency_id"], count(r["accounts"]), grouped(r["placed"]), grouped(r["recovered"]),
             percent(r["recovery_rate"]), grouped(r["commission"])]
            for r in result["agency_league"]
        ]  # fmt: skip
        console.print(fitted_table(columns, rows, console=console, title=_("Agency league table")))
    rows = []
    for section in ("litigation", "visits"):
        for key, value in result.get(section, {}).items():
            if not isinstance(value, dict):
                rows.append([f"{section}: {key.replace('_', ' ')}", "—" if value is None else str(value)])
    if rows:
        columns = [Column(_("KPI")), Column(_("value"), "number")]
        console.print(fitted_table(columns, rows, console=console, title=_("Litigation and field visits")))
