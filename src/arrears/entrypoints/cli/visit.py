"""`arrears visit queue|sheet|record`: field visits (上门) for the field teams (docs/agencies.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from arrears.entrypoints.cli.console import console, print_json

visit_app = typer.Typer(
    help="Field visits: the teams' queues, visit sheets, the agents' reports.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(visit_app, name="visit")


@visit_app.command("queue")
def queue(
    team: str = typer.Option(None, "--team", help="One field team (default: all)."),
    status: str = typer.Option("open", "--status", help="open, done (default open)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Visit tasks, addresses masked past the city."""
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.services.visits import queue as visit_queue

    with UnitOfWork() as uow:
        out = visit_queue(uow, team, status)
    if json_out:
        print_json(out)
        return
    for v in out:
        console.print(
            f"{v['id']:>5} {v['team']:<16} {v['loan_id']:<12} {v['day']}  {v['address'] or '-'}  {v['status']}",
            highlight=False,
        )


@visit_app.command("sheet")
def sheet(
    visit_id: int = typer.Argument(..., help="The visit."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The visit sheet with the full address (recorded in the audit log)."""
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.services.visits import sheet as visit_sheet

    with UnitOfWork() as uow:
        out = visit_sheet(uow, visit_id, default_actor())
        uow.commit()
    if json_out:
        print_json(out)
    else:
        for key, value in out.items():
            console.print(f"{key:<16} {value}", highlight=False)


@visit_app.command("record")
def record(
    visit_id: int = typer.Argument(..., help="The visit."),
    outcome: str = typer.Option(
        ..., "--outcome", help="met, promise_to_pay, paid, refused, not_home, moved, wrong_address."
    ),
    agents: str = typer.Option(..., "--agents", help="The field agents who went, comma-separated."),
    at: str = typer.Option(None, "--at", help="When (ISO instant with offset; default now)."),
    place: str = typer.Option("home", "--place", help="home or workplace."),
    recording: str = typer.Option("", "--recording", help="The audio recording's reference."),
    cost: str = typer.Option(None, "--cost", help="What the visit cost (decimal, default 80.00)."),
    note: str = typer.Option("", "--note", help="A note."),
    profile: str = typer.Option("cn", "--profile", help="The compliance profile (default cn)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a visit's outcome: a contact attempt judged by the compliance profile and audited."""
    from arrears.adapters.profile_file import load_profile
    from arrears.domain.errors import InputError
    from arrears.domain.money import parse_amount
    from arrears.services.audit import default_actor
    from arrears.services.desk import CallNotAllowed
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.services.visits import record_visit

    try:
        when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    except ValueError:
        raise InputError(f"--at must be an ISO instant, got {at!r}", field="--at") from None
    rules = load_profile(profile)
    spent = parse_amount(cost, field="--cost") if cost is not None else None
    names = tuple(a.strip() for a in agents.split(",") if a.strip())
    with UnitOfWork() as uow:
        try:
            out = record_visit(
                uow,
                rules,
                visit_id,
                outcome,
                names,
                when,
                default_actor(),
                place=place,
                recording=recording,
                cost=spent,
                note=note,
            )
        except CallNotAllowed as refused:
            uow.commit()  # the refusal's audit row
            console.print(f"visit {visit_id}: {refused}", highlight=False)
            raise typer.Exit(1) from None
        uow.commit()
    if json_out:
        print_json(out)
    else:
        console.print(f"visit {visit_id}: {out['contact_outcome']}, cost {out['cost']}", highlight=False)
