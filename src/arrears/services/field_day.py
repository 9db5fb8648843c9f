"""The late end of the ladder's share of a daily run: after the outbox rows of the day are written, recall
the placements whose recall date has come (and place the loans again), place the accounts the policy's
agency step chose today, and turn today's `visit` steps into visit tasks for the field teams.

Called by services/daily_run.py inside the run's transaction, so a failed run leaves none of it behind, and
idempotent, so running the same day again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.runs import PlannedAction
from arrears.services import agencies, visits
from arrears.services.unit_of_work import UnitOfWork


def accounts_of(assignments: pa.Table, borrower_ids: set[str] | None = None) -> dict[str, agencies.Account]:
    """The run's accounts as placement reads them, by loan (only these borrowers' when given: a national
    portfolio's day places a few hundred borrowers, not ten million)."""
    table = assignments.select(["loan_id", "borrower_id", "bucket", "dpd", "outstanding_total"])
    if borrower_ids is not None:
        table = table.filter(
            pc.is_in(table["borrower_id"], value_set=pa.array(sorted(borrower_ids), pa.string()))
        )
    cols = table.to_pydict()
    return {
        loan_id: agencies.Account(loan_id, borrower_id, bucket, int(dpd), int(outstanding))
        for loan_id, borrower_id, bucket, dpd, outstanding in zip(
            cols["loan_id"],
            cols["borrower_id"],
            cols["bucket"],
            cols["dpd"],
            cols["outstanding_total"],
            strict=True,
        )
    }


def run_field_day(
    uow: UnitOfWork,
    as_of: date,
    profile: ComplianceProfile,
    rows: Sequence[PlannedAction],
    assignments: pa.Table,
) -> dict[str, Any]:
    """Recall and re-place, place for today's agency steps, open today's visit tasks; what was done."""
    agency_loans = sorted({r.loan_id for r in rows if r.channel == "agency"})
    visit_rows = [r for r in rows if r.channel == "visit"]
    due = [p for p in uow.agencies.active_placements() if p.recall_on <= as_of]
    if not (agency_loans or visit_rows or due):
        return {}
    wanted = {r.borrower_id for r in rows if r.channel == "agency"} | {
        p.borrower_id for p in due if p.borrower_id
    }
    due_loans = {p.loan_id for p in due if not p.borrower_id}  # placed by hand before borrowers were kept
    if due_loans:
        of_loans = assignments.filter(pc.is_in(assignments["loan_id"], value_set=pa.array(sorted(due_loans))))
        wanted |= {a.borrower_id for a in accounts_of(of_loans).values()}
    accounts = accounts_of(assignments, wanted)
    out: dict[str, Any] = {}
    recalled = agencies.recall_due(uow, as_of, accounts)
    if recalled:
        out["recalled"] = recalled
    if agency_loans:
        out["placed"] = agencies.place_for_policy(uow, as_of, agency_loans, accounts)
    if visit_rows:
        out["visits"] = visits.open_visits(uow, as_of, profile, visit_rows)
    return out
