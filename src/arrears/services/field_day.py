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

from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.runs import PlannedAction
from arrears.services import agencies, visits
from arrears.services.unit_of_work import UnitOfWork


def accounts_of(assignments: pa.Table) -> dict[str, agencies.Account]:
    """The run's accounts as placement reads them, by loan."""
    cols = assignments.select(["loan_id", "borrower_id", "bucket", "dpd", "outstanding_total"]).to_pydict()
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
    due_recalls = any(p.recall_on <= as_of for p in uow.agencies.active_placements())
    if not (agency_loans or visit_rows or due_recalls):
        return {}
    accounts = accounts_of(assignments)
    out: dict[str, Any] = {}
    recalled = agencies.recall_due(uow, as_of, accounts)
    if recalled:
        out["recalled"] = recalled
    if agency_loans:
        out["placed"] = agencies.place_for_policy(uow, as_of, agency_loans, accounts)
    if visit_rows:
        out["visits"] = visits.open_visits(uow, as_of, profile, visit_rows)
    return out
