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
    head = Table.grid(padding=(0, 2))
    head.add_row("loan", pos.loan_id, "as of", pos.as_of.isoformat())
    head.add_row("DPD", str(pos.dpd), "delinquent days", str(pos.delinquent_days))
    head.add_row("bucket", pos.bucket, "oldest unpaid due", str(pos.oldest_unpaid_due or "—"))
    head.add_row(
        "credit",
        format_minor(pos.credit, cur),
        "late fee accrued / waived",
        f"{format_minor(pos.late_fee_accrued, cur)} / {format_minor(pos.late_fee_waived, cur)}",
    )
    console.print(head)
    totals = Table(title=f"Totals ({cur})", show_lines=False)
    for col in ("", "principal", "interest", "fees", "late fee", "total"):
        totals.add_column(col, justify="right" if col else "left")
    for label, amounts in (("overdue", pos.overdue), ("outstanding", pos.outstanding), ("paid", pos.paid)):
        totals.add_row(
            label,
            *(
                format_minor(v, cur)
                for v in (amounts.principal, amounts.interest, amounts.fees, amounts.late_fee, amounts.total)
            ),
        )
    console.print(totals)
    inst = Table(title="Instalments")
    for col in ("#", "due", "status", "DPD", "scheduled", "paid", "outstanding", "late fee", "paid on"):
        inst.add_column(col, justify="right" if col not in ("due", "status", "paid on") else "left")
    for i in pos.instalments:
        inst.add_row(
            str(i.seq),
            i.due.isoformat(),
            i.status,
            str(i.dpd),
            format_minor(i.scheduled.total, cur),
            format_minor(i.paid.total, cur),
            format_minor(i.outstanding.total, cur),
            format_minor(i.late_fee_accrued, cur),
            str(i.paid_on or "—"),
        )
    console.print(inst)
    if pos.allocations:
        pays = Table(title="Payments")
        for col in ("id", "date", "amount", "allocated to", "to credit"):
            pays.add_column(col)
        for a in pos.allocations:
            where = ", ".join(
                f"#{seq}: "
                + " ".join(f"{k} {v}" for k, v in amt.to_dict(cur).items() if v != format_minor(0, cur))
                for seq, amt in a.to_instalments
            )
            pays.add_row(
                a.payment_id,
                a.on.isoformat(),
                format_minor(a.amount, cur),
                where or "—",
                format_minor(a.to_credit, cur),
            )
        console.print(pays)
    if pos.reversed_payments:
        console.print(f"reversed (not counted): {', '.join(pos.reversed_payments)}")
