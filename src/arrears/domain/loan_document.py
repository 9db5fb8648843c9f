"""A loan written as a document (YAML / JSON): the input of `arrears loan explain` and of the scenarios.

The document's shape (keys, types, amounts, dates, instalment numbers) is read by
arrears.adapters.loan_document; what its values mean — a loan has instalments, a payment is positive and
not reversed before it was made, a pause does not end before it starts, a waiver names an instalment
the loan has — is checked here, on typed values. Every error names the field path (`payments[1].amount`).
"""

from __future__ import annotations

from collections.abc import Sequence

from arrears.domain.errors import InputError
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.products import LedgerSettings


def build_loan(
    loan_id: str,
    instalments: Sequence[Instalment],
    payments: Sequence[Payment],
    pauses: Sequence[Pause],
    waivers: Sequence[Waiver],
    settings: LedgerSettings,
) -> Loan:
    """A Loan from a document's typed rows (indexed as in the document)."""
    if not instalments:
        raise InputError("at least one instalment is required", field="instalments")
    for i, payment in enumerate(payments):
        if payment.amount <= 0:
            raise InputError("must be positive", field=f"payments[{i}].amount")
        if payment.reversed_on is not None and payment.reversed_on < payment.on:
            raise InputError(
                "a payment cannot be reversed before it was made", field=f"payments[{i}].reversed"
            )
    if len({p.id for p in payments}) != len(payments):
        raise InputError("payment ids must be unique", field="payments")
    for i, pause in enumerate(pauses):
        if pause.end is not None and pause.end < pause.start:
            raise InputError("ends before it starts", field=f"pauses[{i}].end")
    seqs = {inst.seq for inst in instalments}
    for i, waiver in enumerate(waivers):
        if waiver.instalment_seq is not None and waiver.instalment_seq not in seqs:
            raise InputError(f"there is no instalment {waiver.instalment_seq}", field=f"waivers[{i}].seq")
    return Loan(
        id=loan_id,
        instalments=tuple(instalments),
        payments=tuple(payments),
        pauses=tuple(pauses),
        waivers=tuple(waivers),
        settings=settings,
    )
