"""`arrears import flags FILE`: borrower compliance facts set or cleared from CSV / Parquet, all or nothing.

Same rules as the other imports (skeleton.py, docs/import-formats.md): every bad row is listed
(file:row: field 'column': reason) and nothing is written, unless skip_bad, which writes the good rows and
puts the bad ones in FILE.rejects.csv. Each row goes through `borrower_facts.set_flag` / `clear_flag`
(source "import"), so each change is validated like the CLI's and leaves its own audit row, all in the
import's one transaction. Rows are applied in file order: a file may set a fact and clear it later. What
the service refuses is a bad row too, so the rows are applied before the import settles, inside a
savepoint that a rejected file rolls back.

Idempotent like the others: a set of a fact already in force, or a clear of a fact not in force, changes
nothing and counts as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.compliance.facts import FLAG_NAMES, check_flag
from arrears.domain.errors import InputError, NotFound
from arrears.domain.imports import shown
from arrears.services import borrower_facts
from arrears.services.imports.row_checks import RowChecks, codes_of, np_bool
from arrears.services.imports.skeleton import ImportOptions, ImportResult, ImportRun, Source
from arrears.services.unit_of_work import UnitOfWork

FLAG_REQUIRED = ("borrower_id", "flag", "by", "reason")
FLAG_OPTIONAL = ("action", "channel", "debt", "value", "until", "effective_at")
ACTIONS = ("set", "clear")
# The service names a field; the file's column for it ("clear": nothing in force, a duplicate).
_COLUMNS = {"flag", "channel", "debt", "value", "until", "by", "reason", "effective_at"}


def import_flags(uow: UnitOfWork, source: Source, **options: Unpack[ImportOptions]) -> ImportResult:
    """Set and clear borrower flags, one audited change per row, and commit; ImportRejected if rows are bad."""
    run = ImportRun(uow, "flags", source, FLAG_REQUIRED, FLAG_OPTIONAL, **options)
    rows = run.rows
    borrower_id = rows.text("borrower_id", required=True)
    flag = rows.text("flag", required=True, max_len=32)
    rows.one_of("flag", flag, FLAG_NAMES, "flag")
    action = pc.fill_null(rows.text("action", max_len=8), "set")
    rows.one_of("action", action, ACTIONS, "action")
    changes = _Changes(
        borrower_id=borrower_id,
        flag=flag,
        is_clear=np_bool(pc.equal(action, "clear")),
        channel=rows.text("channel", max_len=32),
        debt=rows.text("debt"),
        value=rows.text("value", max_len=200),
        until=rows.dates("until"),
        effective_at=rows.instants("effective_at"),
        by=rows.text("by", required=True, max_len=200),
        reason=rows.text("reason", required=True, max_len=2000),
    )
    _known(uow, rows, borrower_id, changes.debt)
    rows.flag(changes.is_clear & np_bool(pc.is_valid(changes.until)), "until", "only a set takes an end date")
    changes.check_shapes(rows)

    run.phase("write", int((~rows.bad()).sum()))
    with uow.savepoint():  # a rejected file leaves the caller's transaction as it was
        run.start()
        counts = {"set": 0, "cleared": 0}
        for i in np.flatnonzero(~rows.bad()).tolist():
            changes.apply(uow, rows, i, counts)
            if run.progress is not None:
                run.progress.advance(1)
        run.settle()
    return run.finish(counts["set"] + counts["cleared"], counts)


@dataclass(frozen=True, slots=True)
class _Changes:
    """The checked columns of a flags file: per row, one fact set or cleared."""

    borrower_id: pa.Array
    flag: pa.Array
    is_clear: np.ndarray
    channel: pa.Array
    debt: pa.Array
    value: pa.Array
    until: pa.Array
    effective_at: pa.Array
    by: pa.Array
    reason: pa.Array

    def check_shapes(self, rows: RowChecks) -> None:
        """The shape of each fact a good row sets (check_flag: channel, debt, value and end date as it needs)."""
        for i in np.flatnonzero(~rows.bad() & ~self.is_clear).tolist():
            try:
                check_flag(
                    self.flag[i].as_py(),
                    _str(self.channel, i),
                    _str(self.debt, i),
                    _str(self.value, i),
                    self.until[i].as_py(),
                )
            except InputError as err:
                rows.flag(np.array([i]), _column(err.field), err.message)

    def apply(self, uow: UnitOfWork, rows: RowChecks, i: int, counts: dict[str, int]) -> None:
        """Row i through the service; what it refuses becomes the row's error (a refusal writes nothing)."""
        common = {
            "by": self.by[i].as_py(),
            "reason": self.reason[i].as_py(),
            "source": "import",
            "channel": _str(self.channel, i),
            "debt": _str(self.debt, i),
        }
        at: datetime | None = self.effective_at[i].as_py()
        borrower, flag = self.borrower_id[i].as_py(), self.flag[i].as_py()
        try:
            if self.is_clear[i]:
                borrower_facts.clear_flag(uow, borrower, flag, value=self.value[i].as_py(), at=at, **common)
                counts["cleared"] += 1
            else:
                change = borrower_facts.set_flag(
                    uow,
                    borrower,
                    flag,
                    value=_str(self.value, i),
                    until=self.until[i].as_py(),
                    effective_at=at,
                    **common,
                )
                counts["set"] += change.changed
        except InputError as err:
            if err.field != "clear":  # "clear" = that fact is not in force: nothing to do, a duplicate
                rows.flag(np.array([i]), _column(err.field), err.message)
        except NotFound as err:
            rows.flag(np.array([i]), "debt", str(err))


def _known(uow: UnitOfWork, rows: RowChecks, borrower_id: pa.Array, debt: pa.Array) -> None:
    """Flag rows of unknown borrowers, unknown loans and loans that are another borrower's."""
    _, ids = codes_of(borrower_id)
    found = uow.imports.borrower_ids(ids.to_pylist())
    unknown = np_bool(pc.is_valid(borrower_id)) & ~np_bool(
        pc.is_in(borrower_id, value_set=pa.array(sorted(found), pa.string()))
    )
    rows.flag(unknown, "borrower_id", lambda i: f"unknown borrower {shown(borrower_id[i].as_py())}")
    _, loans = codes_of(debt)
    owner = uow.imports.loan_owners(loans.to_pylist())
    problems: dict[int, str] = {}
    for i in np.flatnonzero(np_bool(pc.is_valid(debt)) & ~unknown).tolist():
        loan, who = debt[i].as_py(), borrower_id[i].as_py()
        if loan not in owner:
            problems[i] = f"unknown loan {shown(loan)}"
        elif who is not None and owner[loan] != who:
            problems[i] = f"loan {shown(loan)} is not a debt of borrower {shown(who)}"
    rows.flag(np.array(sorted(problems), dtype=np.int64), "debt", lambda i: problems[i])


def _str(values: pa.Array, i: int) -> str:
    got = values[i].as_py()
    return "" if got is None else str(got)


def _column(field: str | None) -> str | None:
    return field if field in _COLUMNS else None
