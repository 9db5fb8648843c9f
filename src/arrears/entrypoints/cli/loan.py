"""`arrears loan explain FILE --as-of D`: the ledger of one loan written as a document."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from arrears.adapters.loan_document import parse_loan_document
from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError
from arrears.domain.ledger import LedgerPosition, compute_position
from arrears.domain.money import format_minor
from arrears.entrypoints.cli.console import console, parse_as_of, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import UNDEFINED, Column, cell, count, fitted_table, grouped, money

loan_app = typer.Typer(help="Explain a loan's ledger as of a date.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(loan_app, name="loan")


@loan_app.command("explain")
def explain(
    file: Path = typer.Argument(..., help="Loan document (YAML or JSON): instalments, payments, overrides."),
    as_of: str = typer.Option(..., "--as-of", help="Date YYYY-MM-DD: the ledger at the end of this day."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (the documented contract)."),
) -> None:
    """DPD, bucket, what is overdue / outstanding / paid, the late fee and where each payment went."""
    day = parse_as_of(as_of)
    doc = load_document(file)
    try:
        loan = parse_loan_document(doc.data)
        position = compute_position(loan, day)  # refuses a waiver for more than the unpaid late fee
    except InputError as err:
        raise doc.locate(err) from None
    if json_out:
        print_json(position.to_dict())
    else:
        render_position(position)


def render_position(pos: LedgerPosition) -> None:
    """A readable account of a ledger position (the view for people)."""
    cur = pos.currency

    def amount(minor: int) -> str:
        return money(minor, cur)

    head = Table.grid(padding=(0, 2))
    head.add_row(_("loan"), pos.loan_id, _("as of"), pos.as_of.isoformat())
    head.add_row(_("DPD"), count(pos.dpd), _("delinquent days"), count(pos.delinquent_days))
    head.add_row(_("bucket"), pos.bucket, _("oldest unpaid due"), cell(pos.oldest_unpaid_due))
    head.add_row(
        _("credit"),
        amount(pos.credit),
        _("late fee accrued / waived"),
        f"{amount(pos.late_fee_accrued)} / {amount(pos.late_fee_waived)}",
    )
    console.print(head)
    headers = ("principal", "interest", "fees", "late fee", "total")
    totals = [
        [_(label), *(amount(v) for v in (a.principal, a.interest, a.fees, a.late_fee, a.total))]
        for label, a in (("overdue", pos.overdue), ("outstanding", pos.outstanding), ("paid", pos.paid))
    ]
    columns = [Column(""), *(Column(_(h), "number") for h in headers)]
    title = _("Totals ({currency})").format(currency=cur)
    console.print(fitted_table(columns, totals, console=console, title=title))
    columns = [
        Column("#", "key", justify="right"),
        Column(_("due"), "key"),
        Column(_("status")),
        Column(_("DPD"), "number", drop=1),
        Column(_("scheduled"), "number", drop=2),
        Column(_("paid"), "number"),
        Column(_("outstanding"), "number"),
        Column(_("late fee"), "number", drop=4),
        Column(_("paid on"), "key", drop=3),
    ]
    rows = [
        [
            str(i.seq),
            i.due.isoformat(),
            i.status,
            count(i.dpd),
            amount(i.scheduled.total),
            amount(i.paid.total),
            amount(i.outstanding.total),
            amount(i.late_fee_accrued),
            cell(i.paid_on),
        ]
        for i in pos.instalments
    ]
    console.print(fitted_table(columns, rows, console=console, title=_("Instalments")))
    if pos.allocations:
        columns = [
            Column(_("id"), "key"),
            Column(_("date"), "key"),
            Column(_("amount"), "number"),
            Column(_("allocated to")),
            Column(_("to credit"), "number", drop=1),
        ]
        rows = []
        for a in pos.allocations:
            where = ", ".join(
                f"#{seq}: "
                + " ".join(
                    f"{_(k)} {grouped(v)}" for k, v in amt.to_dict(cur).items() if v != format_minor(0, cur)
                )
                for seq, amt in a.to_instalments
            )
            rows.append(
                [a.payment_id, a.on.isoformat(), amount(a.amount), where or UNDEFINED, amount(a.to_credit)]
            )
        console.print(fitted_table(columns, rows, console=console, title=_("Payments")))
    if pos.reversed_payments:
        console.print(_("reversed (not counted): {ids}").format(ids=", ".join(pos.reversed_payments)))
