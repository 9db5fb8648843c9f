"""`arrears import flags FILE`: borrower compliance facts set or cleared from CSV / Parquet, all or nothing.

Same rules as the other imports (services/importing.py, docs/import-formats.md): every bad row is listed
(file:row: field 'column': reason) and nothing is written, unless skip_bad, which writes the good rows and
puts the bad ones in FILE.rejects.csv. Each row goes through `borrower_facts.set_flag` / `clear_flag`
(source "import"), so each change is validated like the CLI's and leaves its own audit row, all in the
import's one transaction. Rows are applied in file order: a file may set a fact and clear it later.

Idempotent like the others: a set of a fact already in force, or a clear of a fact not in force, changes
nothing and counts as a duplicate.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.compliance.facts import FLAG_NAMES, check_flag
from arrears.domain.errors import InputError, NotFound
from arrears.services import audit, borrower_facts
from arrears.services.importing import (
    ImportRejected,
    ImportResult,
    ProgressSink,
    Source,
    _codes,
    _finish,
    _load,
    _np_bool,
    _phase,
    _Rows,
    _settle,
    _start,
)
from arrears.services.unit_of_work import UnitOfWork

FLAG_REQUIRED = ("borrower_id", "flag", "by", "reason")
FLAG_OPTIONAL = ("action", "channel", "debt", "value", "until", "effective_at")
ACTIONS = ("set", "clear")
# The service names a field; the file's column for it ("clear": nothing in force, a duplicate).
_COLUMNS = {"flag", "channel", "debt", "value", "until", "by", "reason", "effective_at"}


def import_flags(
    uow: UnitOfWork,
    source: Source,
    *,
    name: str | None = None,
    skip_bad: bool = False,
    actor: str | None = None,
    progress: ProgressSink | None = None,
) -> ImportResult:
    """Set and clear borrower flags, one audited change per row, and commit; ImportRejected if rows are bad."""
    started = time.perf_counter()
    actor = actor or audit.default_actor()
    _phase(progress, "read", None)
    table, src, path = _load(source, name)
    rows = _Rows(table, src, FLAG_REQUIRED, FLAG_OPTIONAL)
    n = rows.n
    _phase(progress, "validate", None)

    borrower_id = rows.text("borrower_id", required=True)
    flag = rows.text("flag", required=True, max_len=32)
    rows.one_of("flag", flag, FLAG_NAMES, "flag")
    action = pc.fill_null(rows.text("action", max_len=8), "set")
    rows.one_of("action", action, ACTIONS, "action")
    channel = rows.text("channel", max_len=32)
    debt = rows.text("debt")
    value = rows.text("value", max_len=200)
    until = rows.dates("until")
    effective_at = _instants(rows, "effective_at", rows.text("effective_at", max_len=64))
    by = rows.text("by", required=True, max_len=200)
    reason = rows.text("reason", required=True, max_len=2000)
    _known(uow, rows, borrower_id, debt)
    is_clear = _np_bool(pc.equal(action, "clear"))
    rows.flag(is_clear & _np_bool(pc.is_valid(until)), "until", "only a set takes an end date")

    bad = rows.bad()
    for i in np.flatnonzero(~bad & ~is_clear).tolist():  # the shape of each fact (check_flag)
        try:
            check_flag(flag[i].as_py(), _str(channel, i), _str(debt, i), _str(value, i), until[i].as_py())
        except InputError as err:
            rows.flag(np.array([i]), _column(err.field), err.message)

    _phase(progress, "write", int((~rows.bad()).sum()))
    savepoint = uow.connection.begin_nested()  # a rejected file leaves the caller's transaction as it was
    import_id, _ = _start(uow, "flags", src, actor, n)
    counts = {"set": 0, "cleared": 0}
    for i in np.flatnonzero(~rows.bad()).tolist():
        _apply(uow, rows, i, flag, is_clear, borrower_id, channel, debt, value, until, effective_at, by, reason, counts)  # fmt: skip
        if progress is not None:
            progress.advance(1)
    try:
        _, errors, rejects_file = _settle(rows, skip_bad, path)
    except ImportRejected:
        savepoint.rollback()
        raise
    savepoint.commit()
    written = counts["set"] + counts["cleared"]
    rejected = len({e.row for e in errors})
    result = ImportResult(
        kind="flags",
        source=src,
        rows_read=n,
        written=written,
        duplicates=n - written - rejected,
        rejected=rejected,
        seconds=0.0,
        errors=errors,
        rejects_file=rejects_file,
        details=counts,
        import_id=import_id,
    )
    return _finish(uow, result, actor, started)


def _apply(
    uow: UnitOfWork,
    rows: _Rows,
    i: int,
    flag: pa.Array,
    is_clear: np.ndarray,
    borrower_id: pa.Array,
    channel: pa.Array,
    debt: pa.Array,
    value: pa.Array,
    until: pa.Array,
    effective_at: pa.Array,
    by: pa.Array,
    reason: pa.Array,
    counts: dict[str, int],
) -> None:
    """Row i through the service; what it refuses becomes the row's error (a refusal writes nothing)."""
    common = {
        "by": by[i].as_py(),
        "reason": reason[i].as_py(),
        "source": "import",
        "channel": _str(channel, i),
        "debt": _str(debt, i),
    }
    at: datetime | None = effective_at[i].as_py()
    try:
        if is_clear[i]:
            borrower_facts.clear_flag(
                uow, borrower_id[i].as_py(), flag[i].as_py(), value=value[i].as_py(), at=at, **common
            )
            counts["cleared"] += 1
        else:
            change = borrower_facts.set_flag(
                uow,
                borrower_id[i].as_py(),
                flag[i].as_py(),
                value=_str(value, i),
                until=until[i].as_py(),
                effective_at=at,
                **common,
            )
            counts["set"] += change.changed
    except InputError as err:
        if err.field != "clear":  # "clear" = that fact is not in force: nothing to do, a duplicate
            rows.flag(np.array([i]), _column(err.field), err.message)
    except NotFound as err:
        rows.flag(np.array([i]), "debt", str(err))


def _known(uow: UnitOfWork, rows: _Rows, borrower_id: pa.Array, debt: pa.Array) -> None:
    """Flag rows of unknown borrowers, unknown loans and loans that are another borrower's."""
    _, ids = _codes(borrower_id)
    found = {r[0] for r in uow.bulk.lookup("borrowers", "id", ids.to_pylist(), ["id"])}
    unknown = _np_bool(pc.is_valid(borrower_id)) & ~_np_bool(
        pc.is_in(borrower_id, value_set=pa.array(sorted(found), pa.string()))
    )
    rows.flag(unknown, "borrower_id", lambda i: f"unknown borrower {borrower_id[i].as_py()!r}")
    _, loans = _codes(debt)
    owner = dict(uow.bulk.lookup("loans", "id", loans.to_pylist(), ["id", "borrower_id"]))
    problems: dict[int, str] = {}
    for i in np.flatnonzero(_np_bool(pc.is_valid(debt)) & ~unknown).tolist():
        loan, who = debt[i].as_py(), borrower_id[i].as_py()
        if loan not in owner:
            problems[i] = f"unknown loan {loan!r}"
        elif who is not None and owner[loan] != who:
            problems[i] = f"loan {loan!r} is not a debt of borrower {who!r}"
    rows.flag(np.array(sorted(problems), dtype=np.int64), "debt", lambda i: problems[i])


def _instants(rows: _Rows, column: str, values: pa.Array) -> pa.Array:
    """ISO 8601 instants with a UTC offset (a naive time is ambiguous: a bad row) → UTC timestamps."""
    out: list[datetime | None] = [None] * rows.n
    problems: dict[int, str] = {}
    for i in np.flatnonzero(_np_bool(pc.is_valid(values))).tolist():
        raw = values[i].as_py()
        try:
            parsed = datetime.fromisoformat(raw.replace("z", "Z"))
        except ValueError:
            problems[i] = f"not an ISO 8601 instant: {raw!r}"
            continue
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            problems[i] = "needs a UTC offset (e.g. 2026-01-05T10:00:00+08:00)"
            continue
        out[i] = parsed.astimezone(UTC)
    rows.flag(np.array(sorted(problems), dtype=np.int64), column, lambda i: problems[i])
    return pa.array(out, pa.timestamp("us", tz="UTC"))


def _str(values: pa.Array, i: int) -> str:
    got = values[i].as_py()
    return "" if got is None else str(got)


def _column(field: str | None) -> str | None:
    return field if field in _COLUMNS else None


__all__ = ["ACTIONS", "FLAG_OPTIONAL", "FLAG_REQUIRED", "import_flags"]
