"""`arrears compliance report --from D1 --to D2`: decisions and contacts of a period, and a replay of the
contact history that reports every violation (exit 1 when there is one).

Registered on the `compliance` group of entrypoints/cli/compliance.py; listed after it in COMMAND_MODULES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from arrears.entrypoints.cli.compliance import compliance_app
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, parse_as_of, print_json

if TYPE_CHECKING:
    from arrears.services.compliance_report import ComplianceReport


def register(app: typer.Typer) -> None:
    """The command is added to `compliance_app` on import; nothing to add to the root app."""


@compliance_app.command("report")
def report(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD), local to the profile's zone."),
    end: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD), inclusive."),
    profile: str | None = typer.Option(None, "--profile", help="Profile name or file (default cn)."),
    channels: str | None = typer.Option(
        None, "--channels", help="channels.yaml (the lender's law firm for lawyer's letters)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Contacts by outcome, channel and rule; replay the history and exit 1 if any contact broke a rule."""
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.profile_file import DEFAULT_PROFILE, load_profile
    from arrears.services.compliance_report import compliance_report
    from arrears.services.unit_of_work import UnitOfWork

    day_from, day_to = parse_as_of(start, "--from"), parse_as_of(end, "--to")
    rules = load_profile(profile or DEFAULT_PROFILE)
    lender = load_channels_config(channels).lender
    with UnitOfWork() as uow:
        result = compliance_report(uow, rules, day_from, day_to, lender)
    if json_out:
        print_json(result.to_dict())
    else:
        _render(result)
    if result.violations:
        raise typer.Exit(EXIT_FINDINGS)


def _render(result: ComplianceReport) -> None:
    console.print(
        f"[bold]compliance report[/] {result.start} … {result.end}  profile {result.profile} ({result.zone})",
        highlight=False,
    )
    console.print(
        "decisions: "
        + " · ".join(f"{k} {result.decisions.get(k, 0):,}" for k in ("allowed", "deferred", "blocked")),
        highlight=False,
    )
    if result.by_rule:
        table = Table(
            "rule", "deferred", "blocked", title="outbox rows held back, by rule", title_justify="left"
        )
        for rule, held in sorted(result.by_rule.items()):
            table.add_row(rule, f"{held.get('deferred', 0):,}", f"{held.get('blocked', 0):,}")
        console.print(table)
    table = Table(
        "channel", "outcome", "contacts", title=f"contacts: {result.contacts:,}", title_justify="left"
    )
    for channel, outcomes in sorted(result.contacts_by_channel.items()):
        for outcome, n in sorted(outcomes.items()):
            table.add_row(channel, outcome, f"{n:,}")
    console.print(table)
    if not result.violations:
        console.print(f"[green]replay: {result.replayed:,} contact(s), no violation[/]", highlight=False)
        return
    console.print(
        f"[bold red]replay: {len(result.violations)} violation(s) in {result.replayed:,} contact(s)[/]",
        highlight=False,
    )
    for v in result.violations:  # one line each: a narrow terminal must not fold the masked values
        console.print(
            f"  {v.at.isoformat()}  {','.join(v.rules)}  loan {v.loan_id}  borrower {v.borrower_id} "
            f"{v.borrower or ''}  {v.channel} {v.target or ''} ({v.outcome})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
