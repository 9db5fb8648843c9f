"""`arrears agency create|list|place|recall|statement|league`: outside agencies (docs/agencies.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from arrears.entrypoints.cli.console import console, parse_as_of, print_json

agency_app = typer.Typer(
    help="Outside agencies: allocation terms, placements, recalls, commission statements, league table.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(agency_app, name="agency")


@agency_app.command("create")
def create(
    agency_id: str = typer.Argument(..., help="The agency's id (AG1)."),
    name: str = typer.Option(..., "--name", help="Its name."),
    rate: str = typer.Option(..., "--commission-rate", help="Commission on recoveries, a fraction (0.18)."),
    capacity: int = typer.Option(None, "--capacity", help="Loans it may hold at once (default: no limit)."),
    buckets: str = typer.Option("", "--buckets", help="Buckets it takes, comma-separated (default: any)."),
    days: int = typer.Option(90, "--placement-days", help="Days from placement to the recall date."),
    json_out: bool = typer.Option(False, "--json", help="Print the agency as JSON."),
) -> None:
    """Add an agency the policy's agency step may place accounts with."""
    from arrears.services.agencies import create_agency
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        out = create_agency(
            uow,
            agency_id,
            name,
            rate,
            default_actor(),
            capacity=capacity,
            buckets=buckets,
            placement_days=days,
        )
        uow.commit()
    if json_out:
        print_json(out)
    else:
        console.print(f"agency {out['id']} ({out['name']}) at {out['commission_rate']}", highlight=False)


@agency_app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every agency with its terms and the loans it holds."""
    from arrears.services.agencies import list_agencies
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        out = list_agencies(uow, datetime.now(UTC).date())
    if json_out:
        print_json(out)
        return
    for a in out:
        buckets = ",".join(a["buckets"]) or "any"
        cap = a["capacity"] if a["capacity"] is not None else "∞"
        console.print(
            f"{a['id']:<8} {a['name']}  rate {a['commission_rate']}  holds {a['holding']}/{cap}  buckets {buckets}",
            highlight=False,
        )


@agency_app.command("place")
def place(
    agency_id: str = typer.Argument(..., help="The agency."),
    loan_ids: list[str] = typer.Argument(..., help="The loans."),
    on: str = typer.Option(None, "--on", help="Placement day (default today)."),
    days: int = typer.Option(90, "--days", help="Days until the recall date."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Place loans with an agency by hand (the policy's agency step places by the allocation rules)."""
    from arrears.services.agencies import place as place_loans
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork

    day = parse_as_of(on, "--on") if on else datetime.now(UTC).date()
    with UnitOfWork() as uow:
        out = place_loans(uow, agency_id, loan_ids, day, day + timedelta(days=days), default_actor())
        uow.commit()
    if json_out:
        print_json(out)
    else:
        console.print(f"{len(out)} loan(s) placed with {agency_id}", highlight=False)


@agency_app.command("recall")
def recall(
    loan_id: str = typer.Argument(..., help="The loan to take back."),
    on: str = typer.Option(None, "--on", help="Recall day (default today)."),
) -> None:
    """Take a loan back from the agency holding it."""
    from arrears.services.agencies import recall as recall_loan
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork

    day = parse_as_of(on, "--on") if on else None
    with UnitOfWork() as uow:
        out = recall_loan(uow, loan_id, default_actor(), day)
        uow.commit()
    console.print(f"{loan_id} recalled from {out['agency_id']} on {out['recalled_on']}", highlight=False)


@agency_app.command("statement")
def statement(
    period: str = typer.Option(..., "--period", help="The month, YYYY-MM."),
    agency_id: str = typer.Option(None, "--agency", help="One agency (default: all)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Commission statement of a month: each recovery received while the loan was placed, and the commission."""
    from arrears.services.agencies import statement as make_statement
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        out = make_statement(uow, period, agency_id)
    if json_out:
        print_json(out)
        return
    console.print(f"Commission statement {out['period']} ({out['from']} .. {out['to']})", highlight=False)
    for a in out["agencies"]:
        console.print(
            f"{a['agency_id']} {a['name']}: recovered {a['recovered']}, commission {a['commission']}",
            highlight=False,
        )
        for line in a["lines"]:
            console.print(
                f"  {line['paid_on']}  {line['loan_id']:<12} {line['recovered']:>12} × {line['commission_rate']}"
                f" = {line['commission']:>10}",
                highlight=False,
            )


@agency_app.command("league")
def league(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day (included)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Agencies ranked by recovery rate on what was placed with them (also in `arrears kpi`)."""
    from arrears.services.agencies import league_table
    from arrears.services.unit_of_work import UnitOfWork

    first, last = parse_as_of(start, "--from"), parse_as_of(end, "--to")
    with UnitOfWork() as uow:
        out = league_table(uow, first, last + timedelta(days=1))
    if json_out:
        print_json(out)
        return
    for r in out:
        console.print(
            f"{r['rank']}. {r['agency_id']:<8} accounts {r['accounts']}  recovery rate {r['recovery_rate']:.2%}",
            highlight=False,
        )
