"""Credit lines: import them (with the loans under each), show a line's use, freeze or unfreeze by hand.

A lines file has one row per line, or per loan under a line: `line_id, borrower_id, currency, limit,
loan_ids` (loan ids separated by `;`, optional; a loan may also be put under a line on a row of its own).
The import is all or nothing: one bad row and nothing is written (InputError naming the line and field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from arrears.domain.credit_lines import (
    CreditLine,
    LineAccount,
    LinePosition,
    line_level_accounts,
    line_position,
    line_steps_taken,
)
from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor, parse_minor
from arrears.domain.runs import PlannedAction
from arrears.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    import pyarrow as pa

LINE_COLUMNS = ("line_id", "borrower_id", "currency", "limit")


@dataclass(frozen=True)
class LinesImport:
    lines_added: int
    lines_updated: int
    loans_attached: int

    def to_dict(self) -> dict[str, int]:
        return {
            "lines_added": self.lines_added,
            "lines_updated": self.lines_updated,
            "loans_attached": self.loans_attached,
        }


def import_lines(uow: UnitOfWork, rows: Sequence[tuple[int, Mapping[str, str]]], source: str) -> LinesImport:
    """Check every row (line number, columns), then write the lines and attach their loans; commits."""
    lines: dict[str, CreditLine] = {}
    loans: dict[str, str] = {}
    for number, row in rows:

        def bad(message: str, column: str, number: int = number) -> InputError:
            return InputError(message, file=source, line=number, field=column)

        missing = [c for c in LINE_COLUMNS if c not in row]
        if missing:
            raise bad(
                f"missing column {missing[0]!r} (need {', '.join(LINE_COLUMNS)}[, loan_ids])", missing[0]
            )
        line_id = (row["line_id"] or "").strip()
        borrower = (row["borrower_id"] or "").strip()
        currency = (row["currency"] or "").strip().upper()
        if not line_id:
            raise bad("a line needs an id", "line_id")
        if not borrower:
            raise bad("a line needs its borrower", "borrower_id")
        if len(currency) != 3 or not currency.isalpha():
            raise bad(f"not a currency code: {row['currency']!r}", "currency")
        try:
            limit = parse_minor(row["limit"] or "", currency, field="limit")
            line = CreditLine(line_id, borrower, currency, limit)
        except InputError as err:
            raise bad(err.message, err.field or "limit") from None
        earlier = lines.get(line_id)
        if earlier is not None and (earlier.borrower_id, earlier.limit, earlier.currency) != (
            borrower,
            limit,
            currency,
        ):
            raise bad(f"line {line_id} is given twice with different borrower, currency or limit", "line_id")
        lines[line_id] = line
        for loan_id in (x.strip() for x in (row.get("loan_ids") or "").split(";")):
            if not loan_id:
                continue
            if loans.get(loan_id, line_id) != line_id:
                raise bad(f"loan {loan_id} is put under two lines ({loans[loan_id]}, {line_id})", "loan_ids")
            loans[loan_id] = line_id
    if not lines:
        raise InputError("the file has no lines", file=source)
    owners = uow.imports.loan_owners(sorted(loans))
    where = {loan_id: next(n for n, r in rows if loan_id in (r.get("loan_ids") or "")) for loan_id in loans}
    for loan_id, line_id in sorted(loans.items()):
        owner = owners.get(loan_id)
        if owner is None:
            raise InputError(f"unknown loan {loan_id}", file=source, line=where[loan_id], field="loan_ids")
        if owner != lines[line_id].borrower_id:
            raise InputError(
                f"loan {loan_id} is owed by another borrower than line {line_id}'s",
                file=source,
                line=where[loan_id],
                field="loan_ids",
            )
    placed = uow.credit_lines.line_of(sorted(loans))
    for loan_id, line_id in sorted(loans.items()):
        if placed.get(loan_id, line_id) != line_id:
            raise InputError(
                f"loan {loan_id} is under line {placed[loan_id]} already",
                file=source,
                line=where[loan_id],
                field="loan_ids",
            )
    added = updated = 0
    for line in lines.values():
        if uow.credit_lines.upsert(line):
            added += 1
        else:
            updated += 1
    attached = 0
    for line_id in lines:
        attached += uow.credit_lines.attach(line_id, sorted(k for k, v in loans.items() if v == line_id))
    uow.commit()
    return LinesImport(added, updated, attached)


def open_lines(uow: UnitOfWork, limit: int, currency: str, opened_on: date) -> int:
    """A line for every borrower without one, holding all their loans (the demo's 白条 portfolio); commits."""
    opened = uow.credit_lines.open_for_every_borrower(limit, currency, opened_on)
    uow.commit()
    return opened


def position(uow: UnitOfWork, line_id: str, as_of: date) -> LinePosition:
    """The line's limit, use and availability as of a day, from its loans' ledgers."""
    line = uow.credit_lines.get(line_id)
    if line is None:
        raise NotFound(f"no credit line {line_id!r}")
    loan_ids = uow.credit_lines.loans([line_id]).get(line_id, [])
    positions = (
        [(loan.id, compute_position(loan, as_of)) for loan in uow.loans.stream(loan_ids)] if loan_ids else []
    )
    return line_position(
        line, [(loan_id, p.outstanding.principal) for loan_id, p in positions], [p.dpd for _, p in positions]
    )


def position_dict(p: LinePosition, as_of: date) -> dict[str, Any]:
    cur = p.line.currency
    return {
        "line_id": p.line.id,
        "borrower_id": p.line.borrower_id,
        "as_of": as_of.isoformat(),
        "currency": cur,
        "limit": format_minor(p.line.limit, cur),
        "used": format_minor(p.used, cur),
        "available": format_minor(p.available, cur),
        "status": p.line.status,
        "dpd": p.dpd,
        "frozen_on": p.line.frozen_on.isoformat() if p.line.frozen_on else None,
        "frozen_by": p.line.frozen_by,
        "loans": list(p.loans),
    }


def line_level_rows(
    uow: UnitOfWork,
    rows: Sequence[PlannedAction],
    assignments: pa.Table,
    history: pa.Table,
    line_level_products: frozenset[str],
) -> list[PlannedAction]:
    """The day's outbox rows with the loans of line-level products under one line taken together: only
    the line's representative (its worst loan, domain/credit_lines.py) keeps its steps, less any step a
    loan of the line was already given in the line's episode; the line's other loans get none."""
    if not rows:
        return list(rows)
    line_of = {loan_id: line_id for line_id, loans in uow.credit_lines.loans().items() for loan_id in loans}
    members = [
        LineAccount(a["loan_id"], line_of[a["loan_id"]], a["dpd"], a["anchor"])
        for a in assignments.select(["loan_id", "product", "dpd", "anchor"]).to_pylist()
        if a["product"] in line_level_products and a["loan_id"] in line_of
    ]
    if not members:
        return list(rows)
    import pyarrow as pa  # here: the lines commands start without it
    import pyarrow.compute as pc

    representative = line_level_accounts(members)
    grouped = {a.loan_id: a.line_id for a in members}
    mine = history.filter(pc.is_in(history["loan_id"], value_set=pa.array(sorted(grouped), pa.string())))
    taken = line_steps_taken(
        members,
        zip(
            mine["loan_id"].to_pylist(), mine["step_id"].to_pylist(), mine["anchor"].to_pylist(), strict=True
        ),
    )
    kept = []
    for row in rows:
        line_id = grouped.get(row.loan_id)
        alone = line_id is None
        if alone or (representative[line_id] == row.loan_id and row.step_id not in taken.get(line_id, ())):
            kept.append(row)
    return kept
