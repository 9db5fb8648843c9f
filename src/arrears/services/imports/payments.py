"""`arrears import payments FILE`: payments into stored loans, and reversals (a row with `reverses`).

A payment is in the loan's currency, more than zero, not before the loan was opened. A reversal undoes a
payment stored or higher up in the file: the same loan and amount, not before it, once. Payment and reversal
ids share one namespace.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple, Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.import_layout import PAYMENT_OPTIONAL, PAYMENT_REQUIRED
from arrears.domain.imports import OriginalPayment, shown
from arrears.domain.money import MAX_LOAN_TOTAL_MINOR
from arrears.services.imports.row_checks import (
    RowChecks,
    codes_of,
    decimal_text,
    digits_per_row,
    np_bool,
    table_of,
    totals_over,
)
from arrears.services.imports.skeleton import ImportOptions, ImportResult, ImportRun, Source
from arrears.services.unit_of_work import UnitOfWork


class _Reversal(NamedTuple):
    """A reversal on file row `row`, checked: the payment it undoes, when, on which loan, how much."""

    row: int
    id: str
    payment_id: str
    reversed_on: date
    loan_id: str
    amount: int


_REVERSALS = pa.schema(  # what uow.imports.add_reversals takes
    [
        ("id", pa.string()),
        ("payment_id", pa.string()),
        ("reversed_on", pa.date32()),
        ("loan_id", pa.string()),
        ("amount", pa.int64()),
    ]
)


def import_payments(uow: UnitOfWork, source: Source, **options: Unpack[ImportOptions]) -> ImportResult:
    """Import a payments file (reversals included: a row with `reverses`) and commit."""
    run = ImportRun(uow, "payments", source, PAYMENT_REQUIRED, PAYMENT_OPTIONAL, **options)
    rows = run.rows
    payment_id = rows.text("payment_id", required=True)
    loan_id = rows.text("loan_id", required=True)
    paid_on = rows.dates("paid_on", required=True)
    reverses = rows.text("reverses")
    source_col = rows.text("source", max_len=200)
    rows.duplicates("payment_id", payment_id)

    known, loan_currency, opened = rows.known_loans(loan_id, uow.imports.loan_terms)
    amount = rows.amounts("amount", digits_per_row(loan_currency), required=True, positive=True)
    early = np_bool(pc.less(paid_on, opened)) & known
    rows.flag(early, "paid_on", lambda i: f"paid on {paid_on[i]}, before the loan was opened ({opened[i]})")

    is_reversal = np_bool(pc.is_valid(reverses))
    plain = ~is_reversal
    codes, loan_ids = codes_of(loan_id)
    # A loan's payments, those stored before and this file's, stay within what a loan may hold.
    stored = uow.imports.payment_totals(loan_ids.to_pylist())
    before = np.array([stored.get(k, 0) for k in loan_ids.to_pylist()], dtype=np.int64)
    over = np.append(
        totals_over(np.where(plain, codes, -1), amount, len(loan_ids), MAX_LOAN_TOTAL_MINOR, before),
        False,
    )
    digits = digits_per_row(loan_currency)
    rows.flag(
        plain & over[codes],  # code −1 (no loan id) → the False at the end
        "amount",
        lambda i: (
            f"payments to loan {loan_id[i].as_py()}"
            + (" (stored and in this file)" if stored.get(loan_id[i].as_py()) else " in this file")
            + f" add up to more than a loan may hold ({decimal_text(MAX_LOAN_TOTAL_MINOR, int(digits[i]))})"
        ),
    )
    _check_reversal_ids_reused(uow, rows, payment_id, plain)
    reversals = _check_reversals(uow, rows, payment_id, loan_id, paid_on, amount, reverses, is_reversal)

    good = run.settle()
    record = run.start()
    idx = np.flatnonzero(good & plain)
    run.phase("write", int(idx.size))
    payments = table_of(
        idx, id=payment_id, loan_id=loan_id, paid_on=paid_on, amount=amount, source=source_col
    )
    payments_written = uow.imports.add_payments(record, payments, progress=run.advance)
    applied = [r._asdict() for r in reversals if good[r.row]]
    reversals_written = uow.imports.add_reversals(record, pa.Table.from_pylist(applied, _REVERSALS))
    return run.finish(
        payments_written + reversals_written, {"payments": payments_written, "reversals": reversals_written}
    )


def _check_reversal_ids_reused(
    uow: UnitOfWork, rows: RowChecks, payment_id: pa.Array, plain: np.ndarray
) -> None:
    """Payment and reversal ids share one namespace: a new payment may not reuse a stored reversal's id."""
    if not uow.imports.any_reversals():
        return
    taken = uow.imports.reversed_payments(pc.take(payment_id, pa.array(np.flatnonzero(plain))).to_pylist())
    if not taken:
        return
    clash = plain & np_bool(pc.is_in(payment_id, value_set=pa.array(list(taken), pa.string())))
    rows.flag(
        clash,
        "payment_id",
        lambda i: (
            f"{shown(payment_id[i].as_py())} is already stored as the reversal of payment "
            f"{taken[payment_id[i].as_py()]}"
        ),
    )


def _check_reversals(
    uow: UnitOfWork,
    rows: RowChecks,
    payment_id: pa.Array,
    loan_id: pa.Array,
    paid_on: pa.Array,
    amount: np.ndarray,
    reverses: pa.Array,
    is_reversal: np.ndarray,
) -> list[_Reversal]:
    """Check reversal rows one by one (they are few); returns the reversals to record if their rows are good."""
    rev_idx = np.flatnonzero(is_reversal)
    if not rev_idx.size:
        return []
    bad_before = rows.bad()
    targets = pc.take(reverses, pa.array(rev_idx))
    in_file = pc.index_in(targets, value_set=payment_id).to_pylist()
    stored = uow.imports.payments(targets.to_pylist())
    own_ids = pc.take(payment_id, pa.array(rev_idx)).to_pylist()
    present = [i for i in own_ids if i is not None]
    stored_as_payment = set(uow.imports.payments(present))
    stored_as_reversal = uow.imports.reversed_payments(present)
    plan: list[_Reversal] = []
    claimed: dict[str, int] = {}
    for k, i in enumerate(rev_idx.tolist()):
        rid, target, lid = own_ids[k], targets[k].as_py(), loan_id[i].as_py()
        on = paid_on[i].as_py()
        if bad_before[i] or rid is None or on is None:
            continue
        if target == rid:
            rows.flag(np.array([i]), "reverses", "a payment cannot reverse itself")
            continue
        if rid in stored_as_payment:
            rows.flag(
                np.array([i]), "payment_id", f"{shown(rid)} is already stored as a payment, not a reversal"
            )
            continue
        original: OriginalPayment | None = None
        j = in_file[k]
        if j is not None:
            if is_reversal[j]:
                rows.flag(np.array([i]), "reverses", f"{shown(target)} (row {j + 2}) is itself a reversal")
                continue
            if bad_before[j]:
                rows.flag(
                    np.array([i]),
                    "reverses",
                    f"reverses payment {shown(target)} on row {j + 2}, which is bad",
                )
                continue
            original = OriginalPayment(loan_id[j].as_py(), paid_on[j].as_py(), int(amount[j]), None)
            if target in stored:  # also stored already (a re-import): the stored state decides
                original = stored[target]
        elif target in stored:
            original = stored[target]
        if original is None:
            rows.flag(np.array([i]), "reverses", f"unknown payment {shown(target)}")
            continue
        if rid in stored_as_reversal:
            if stored_as_reversal[rid] == target:
                continue  # this very reversal is stored: a duplicate
            rows.flag(
                np.array([i]),
                "payment_id",
                f"{shown(rid)} is already stored as the reversal of {stored_as_reversal[rid]}",
            )
            continue
        if original.reversal_id is not None:
            rows.flag(
                np.array([i]),
                "reverses",
                f"payment {shown(target)} is already reversed by {shown(original.reversal_id)}",
            )
            continue
        if original.loan_id != lid:
            rows.flag(
                np.array([i]),
                "loan_id",
                f"payment {shown(target)} belongs to loan {original.loan_id}, not {lid}",
            )
            continue
        if original.amount != int(amount[i]):
            rows.flag(
                np.array([i]),
                "amount",
                f"a reversal must equal the payment it reverses ({shown(target)}: {original.amount} minor units)",
            )
            continue
        if on < original.paid_on:
            rows.flag(
                np.array([i]),
                "paid_on",
                f"reversed on {on}, before payment {shown(target)} was made ({original.paid_on})",
            )
            continue
        if target in claimed:
            rows.flag(
                np.array([i]),
                "reverses",
                f"payment {shown(target)} is already reversed on row {claimed[target] + 2}",
            )
            continue
        claimed[target] = i
        plan.append(_Reversal(i, rid, target, on, lid, original.amount))
    return plan
