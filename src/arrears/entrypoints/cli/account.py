"""`arrears account show LOAN_ID --as-of D`: a stored loan's ledger with its borrower (PII masked)."""

from __future__ import annotations

import typer
from rich.table import Table

from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.loan import render_position
from arrears.entrypoints.cli.output import cell
from arrears.services.accounts import AccountView, show_account
from arrears.services.unit_of_work import UnitOfWork

account_app = typer.Typer(help="Accounts in the store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")


@account_app.command("show")
def show(
    loan_id: str = typer.Argument(..., help="The loan id."),
    as_of: str = typer.Option(..., "--as-of", help="Date YYYY-MM-DD: the ledger at the end of this day."),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON object (loan explain's, plus borrower)."
    ),
    unmasked: bool = typer.Option(
        False,
        "--unmasked",
        help="Show name, phone, ID number and e-mail in full (recorded in the audit log).",
    ),
    actor: str = typer.Option(
        None, "--actor", help="Who is looking (default: ARREARS_ACTOR or the OS user)."
    ),
) -> None:
    """DPD, bucket, amounts, instalments and payments of a stored loan, and who owes it."""
    day = parse_as_of(as_of)
    with UnitOfWork() as uow:
        view = show_account(uow, loan_id, day, unmasked=unmasked, actor=actor)
    if json_out:
        print_json(view.to_dict())
    else:
        render_account(view)


def render_account(view: AccountView) -> None:
    """The borrower and product above the ledger position (loan explain's view), then the postings check."""
    head = Table.grid(padding=(0, 2))
    borrower = view.borrower_view() or {"id": view.record.borrower_id}
    head.add_row(_("borrower"), cell(borrower.get("id")), _("name"), cell(borrower.get("name")))
    head.add_row(_("phone"), cell(borrower.get("phone")), _("ID number"), cell(borrower.get("id_number")))
    zone = cell(borrower.get("timezone") or _("unknown"))
    head.add_row(_("e-mail"), cell(borrower.get("email")), _("time zone"), zone)
    head.add_row(_("product"), cell(view.record.product_code), _("opened"), cell(view.record.opened_on))
    console.print(head)
    render_position(view.position)
    if view.problems:
        for problem in view.problems:
            console.print(f"[red]{_('postings')}:[/] {cell(problem)}", highlight=False, soft_wrap=True)
    else:
        console.print(_("postings: agree with the ledger"), soft_wrap=True)
