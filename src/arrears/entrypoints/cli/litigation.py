"""`arrears litigation open|stage|document|cost|show|list`: litigation as a case (docs/agencies.md)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import typer

from arrears.entrypoints.cli.console import console, parse_as_of, print_json

litigation_app = typer.Typer(
    help="Litigation cases: stages with dates, court and case number, documents, costs; the ladder held.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(litigation_app, name="litigation")


def _day(on: str | None) -> object:
    return parse_as_of(on, "--on") if on else datetime.now(UTC).date()


def _print(case: dict[str, object], json_out: bool) -> None:
    if json_out:
        print_json(case)
        return
    console.print(
        f"case {case['id']} · loan {case['loan_id']} · {case['stage']} since {case['stage_on']} · "
        f"{case['court'] or '-'} {case['case_number'] or ''} · claim {case['claim']} · costs {case['costs']} · "
        f"ladder {case['ladder']}",
        highlight=False,
    )


@litigation_app.command("open")
def open_(
    loan_id: str = typer.Argument(..., help="The loan referred to litigation."),
    on: str = typer.Option(None, "--on", help="Referral day (default today)."),
    court: str = typer.Option("", "--court", help="The court, if known."),
    note: str = typer.Option("", "--note", help="A note."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Refer a loan to litigation (stage referred); the claim is what it owes that day."""
    from arrears.services.audit import default_actor
    from arrears.services.litigation import open_case
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        case = open_case(uow, loan_id, _day(on), default_actor(), court=court, note=note)  # type: ignore[arg-type]
        uow.commit()
    _print(case, json_out)


@litigation_app.command("stage")
def stage(
    case_id: int = typer.Argument(..., help="The case."),
    name: str = typer.Argument(..., help="filed, hearing, judgment, enforcement or closed."),
    on: str = typer.Option(None, "--on", help="The stage's day (default today)."),
    court: str = typer.Option(None, "--court", help="The court."),
    case_number: str = typer.Option(None, "--case-number", help="The court's case number."),
    note: str = typer.Option("", "--note", help="A note."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Move a case to a later stage: filing holds the account's ladder, closing ends the hold."""
    from arrears.services.audit import default_actor
    from arrears.services.litigation import move
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        case = move(
            uow, case_id, name, _day(on), default_actor(), court=court, case_number=case_number, note=note
        )  # type: ignore[arg-type]
        uow.commit()
    _print(case, json_out)


@litigation_app.command("document")
def document(
    case_id: int = typer.Argument(..., help="The case."),
    file: Path = typer.Argument(..., help="The document (its name and SHA-256 are recorded)."),
    on: str = typer.Option(None, "--on", help="Its day (default today)."),
    note: str = typer.Option("", "--note", help="What it is."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Attach a document to the case."""
    from arrears.domain.errors import InputError
    from arrears.services.audit import default_actor
    from arrears.services.litigation import add_document
    from arrears.services.unit_of_work import UnitOfWork

    if not file.is_file():
        raise InputError(f"{file}: no such file", file=str(file))
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    with UnitOfWork() as uow:
        case = add_document(uow, case_id, file.name, digest, _day(on), default_actor(), note)  # type: ignore[arg-type]
        uow.commit()
    _print(case, json_out)


@litigation_app.command("cost")
def cost(
    case_id: int = typer.Argument(..., help="The case."),
    amount: str = typer.Option(..., "--amount", help="The cost, a decimal (500.00)."),
    kind: str = typer.Option(
        ..., "--kind", help="court_fee, lawyer_fee, service_fee, enforcement_fee, other."
    ),
    on: str = typer.Option(None, "--on", help="Its day (default today)."),
    book_as_fee: bool = typer.Option(False, "--book-as-fee", help="Charge it to the loan as a fee."),
    fee_products: str = typer.Option(
        "", "--fee-products", help="Products whose contract lets legal costs be charged (comma-separated)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a legal cost; booked as a fee on the loan only where the product's contract allows."""
    from arrears.domain.money import parse_amount
    from arrears.services.audit import default_actor
    from arrears.services.litigation import add_cost
    from arrears.services.unit_of_work import UnitOfWork

    minor = parse_amount(amount, field="--amount")
    products = {p.strip() for p in fee_products.split(",") if p.strip()}
    with UnitOfWork() as uow:
        case = add_cost(
            uow, case_id, minor, kind, _day(on), default_actor(),  # type: ignore[arg-type]
            book_as_fee=book_as_fee, fee_products=products,
        )  # fmt: skip
        uow.commit()
    _print(case, json_out)


@litigation_app.command("show")
def show(
    case_id: int = typer.Argument(..., help="The case."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The case with its events."""
    from arrears.services.litigation import show as show_case
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        case = show_case(uow, case_id)
    _print(case, json_out)
    if not json_out:
        for e in case["events"]:
            console.print(
                f"  {e['on']} {e['kind']:<8} {e['stage']:<12} {e.get('document') or e.get('cost') or ''} {e['note']}",
                highlight=False,
            )


@litigation_app.command("list")
def list_(
    stage_name: str = typer.Option(None, "--stage", help="Only cases at this stage."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every litigation case."""
    from arrears.services.litigation import list_cases
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        cases = list_cases(uow, stage_name)
    if json_out:
        print_json(cases)
        return
    for case in cases:
        _print(case, False)
