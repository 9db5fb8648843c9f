"""The features of every account at once, column-wise: the same numbers as arrears.domain.account_features."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.account_features import (
    AUTODEBIT_WINDOW,
    HARDSHIP_WINDOW,
    HISTORY_WINDOW,
    NEVER,
    NO_ANCHOR,
    PROMISE_WINDOW,
)
from arrears.domain.features import RATIO_ONE
from arrears.engine.portfolio import Portfolio, epoch_day
from arrears.engine.vector_ledger import FAR_DAY, NONE_DAY, LedgerColumns, _days


def _count(acc: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(acc[mask], minlength=n).astype(np.int64)


def feature_table(portfolio: Portfolio, ledger: LedgerColumns, as_of: date) -> pa.Table:
    """One row per account (portfolio order): loan_id plus one column per engine-computed feature."""
    n = ledger.accounts
    today = epoch_day(as_of)
    codes = pc.unique(ledger.product).to_pylist()
    grace_of = {c: portfolio.settings_for(c).grace_days for c in codes}
    acc_grace = np.array([grace_of[c] for c in codes], dtype=np.int64)[
        np.asarray(
            pc.index_in(ledger.product, pa.array(codes, pa.string())).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
    ]

    ra, due, paid_on = ledger.inst_account, ledger.inst_due, ledger.inst_paid_on
    grace_end = due + acc_grace[ra]
    past = due < today
    settled = paid_on != NONE_DAY
    judged = past & (settled | (grace_end < today))
    on_time = judged & settled & (paid_on <= grace_end)
    n_judged, n_on_time = _count(ra, judged, n), _count(ra, on_time, n)
    on_time_ratio = np.where(n_judged == 0, RATIO_ONE, n_on_time * RATIO_ONE // np.maximum(n_judged, 1))
    last_late = np.where(settled, paid_on - 1, today)
    counts_late = past & (last_late >= today - (HISTORY_WINDOW - 1)) & (last_late > due)
    max_dpd = np.zeros(n, dtype=np.int64)
    np.maximum.at(max_dpd, ra[counts_late], (last_late - due)[counts_late])
    overdue_inst = past & (ledger.inst_outstanding.sum(axis=1) > 0)

    ev = portfolio["events"]
    loan_index = pc.index_in(ev["loan_id"], ledger.loan_id)
    e_acc = np.asarray(loan_index.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    e_day = _days(ev["on"], NONE_DAY)
    keep = (e_acc >= 0) & (e_day <= today)
    kinds = np.asarray(ev["kind"].to_numpy(zero_copy_only=False), dtype=object)
    e_acc, e_day, kinds = e_acc[keep], e_day[keep], kinds[keep]
    outcomes = (
        np.asarray(pc.fill_null(ev["outcome"], "none").to_numpy(zero_copy_only=False), dtype=object)[keep]
        if "outcome" in ev.column_names
        else np.full(len(e_acc), "none", dtype=object)
    )

    def kind(name: str, window: int | None = None) -> np.ndarray:
        mask = kinds == name
        if window is not None:
            mask &= e_day > today - window
        return _count(e_acc, mask, n)

    ps = portfolio["pauses"]
    z_idx = pc.index_in(ps["loan_id"], ledger.loan_id)
    z_acc = np.asarray(z_idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    z_cover = (
        (z_acc >= 0) & (_days(ps["start_on"], NONE_DAY) <= today) & (_days(ps["end_on"], FAR_DAY) >= today)
    )
    reasons = np.asarray(pc.fill_null(ps["reason"], "dispute").to_numpy(zero_copy_only=False), dtype=object)

    def paused_for(reason: str) -> np.ndarray:
        return _count(z_acc, z_cover & (reasons == reason), n) > 0

    contact = kinds == "contact"
    last_outcome = np.full(n, "none", dtype=object)
    if contact.any():
        idx = np.nonzero(contact)[0]
        order = np.lexsort((idx, e_day[idx], e_acc[idx]))  # by account, day, then recorded order
        idx = idx[order]
        last = np.concatenate([e_acc[idx][1:] != e_acc[idx][:-1], [True]])
        last_outcome[e_acc[idx][last]] = outcomes[idx][last]

    oldest = ledger.oldest_unpaid_due
    last_pay = ledger.last_payment_on
    return pa.table(
        {
            "loan_id": ledger.loan_id,
            "dpd": ledger.dpd,
            "delinquent_days": ledger.delinquent_days,
            "bucket": pa.array(ledger.bucket.tolist(), pa.string()),
            "day_offset": np.where(oldest != NONE_DAY, today - oldest, NO_ANCHOR),
            "overdue_total": ledger.overdue.sum(axis=1),
            "outstanding_total": ledger.outstanding.sum(axis=1),
            "overdue_principal": ledger.overdue[:, 0],
            "late_fee": ledger.outstanding[:, 3],
            "instalments_overdue": _count(ra, overdue_inst, n),
            "on_time_ratio": on_time_ratio,
            "max_dpd_12m": max_dpd,
            "broken_promises_90d": kind("promise_broken", PROMISE_WINDOW),
            "promise_pending": kind("promise_made") > kind("promise_kept") + kind("promise_broken"),
            "autodebit_failed": kind("autodebit_failed", AUTODEBIT_WINDOW) > 0,
            "hardship": paused_for("hardship") | (kind("hardship_flag", HARDSHIP_WINDOW) > 0),
            "disputed": paused_for("dispute") | (kind("dispute_opened") > kind("dispute_closed")),
            "identity_dispute": paused_for("identity_theft") | (kind("identity_dispute") > 0),
            "days_since_last_payment": np.where(last_pay != NONE_DAY, today - last_pay, NEVER),
            "last_contact_outcome": pa.array(last_outcome.tolist(), pa.string()),
            "product": ledger.product,
        }
    )
