"""`arrears import events FILE`: account events (autodebit failures, promises, contacts, disputes ...).

An event belongs to a stored loan, has a known kind and a day; `at` is an instant with a UTC offset;
`detail` is a JSON object (a contact needs channel and outcome in it).
"""

from __future__ import annotations

import json
from typing import Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.account_features import EVENT_KINDS
from arrears.domain.import_layout import EVENT_OPTIONAL, EVENT_REQUIRED
from arrears.services.imports.row_checks import RowChecks, np_bool, table_of
from arrears.services.imports.skeleton import ImportOptions, ImportResult, ImportRun, Source
from arrears.services.unit_of_work import UnitOfWork


def import_events(uow: UnitOfWork, source: Source, **options: Unpack[ImportOptions]) -> ImportResult:
    """Import account events (autodebit failures, promises, contacts, disputes ...) and commit."""
    run = ImportRun(uow, "events", source, EVENT_REQUIRED, EVENT_OPTIONAL, **options)
    rows = run.rows
    event_id = rows.text("event_id", required=True)
    loan_id = rows.text("loan_id", required=True)
    kind = rows.text("kind", required=True, max_len=32)
    rows.one_of("kind", kind, EVENT_KINDS, "event kind")
    on = rows.dates("on", required=True)
    rows.duplicates("event_id", event_id)
    rows.known_loans(loan_id, uow.imports.loan_terms)
    at = rows.instants("at")
    detail = _details(rows, rows.text("detail", max_len=None), kind)

    good = run.settle()
    record = run.start()
    idx = np.flatnonzero(good)
    run.phase("write", int(idx.size))
    events = table_of(idx, id=event_id, loan_id=loan_id, kind=kind, on_date=on, at=at, detail=detail)
    return run.finish(uow.imports.add_events(record, events, progress=run.advance))


def _details(rows: RowChecks, values: pa.Array, kind: pa.Array) -> pa.Array:
    """The detail column: a JSON object as text (normalised); a contact needs channel and outcome."""
    out: list[str | None] = [None] * rows.n
    problems: dict[int, str] = {}
    for i in np.flatnonzero(np_bool(pc.is_valid(values))).tolist():
        try:
            parsed = json.loads(values[i].as_py())
        except json.JSONDecodeError as exc:
            problems[i] = f"not JSON: {exc.msg}"
            continue
        if not isinstance(parsed, dict):
            problems[i] = "must be a JSON object"
            continue
        out[i] = json.dumps(parsed, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    contact = np.flatnonzero(np_bool(pc.equal(kind, "contact"))).tolist()
    for i in contact:
        if i in problems:
            continue
        text = out[i]
        parsed = json.loads(text) if text else {}
        missing = [k for k in ("channel", "outcome") if k not in parsed]
        if missing:
            problems[i] = f"a contact event needs {' and '.join(missing)} in detail"
    rows.flag(np.array(sorted(problems), dtype=np.int64), "detail", lambda i: problems[i])
    return pa.array(out, pa.string())
