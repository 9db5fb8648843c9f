"""The features of every account at once, column-wise: the same numbers as arrears.domain.account_features.

The compiled kernel computes them in the same pass as the ledger (arrears.engine.vector_ledger); this turns
its output into the feature table the policy's SQL reads. Text features (bucket, last contact outcome) are
dictionary-encoded: a code per account, no string per row.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from arrears.domain.account_features import NEVER, NO_ANCHOR
from arrears.engine import ledger_kernel as kernel
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_ledger import NONE_DAY, Assessment, assess_portfolio


def _names(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names, pa.string()))


def feature_table(portfolio: Portfolio, as_of: date) -> pa.Table:
    """One row per account (portfolio order): loan_id plus one column per engine-computed feature."""
    return features_of(assess_portfolio(portfolio, as_of))


def features_of(a: Assessment) -> pa.Table:
    today = a.today
    oldest, last_pay = a[kernel.OLDEST_DUE], a[kernel.LAST_PAYMENT]
    outcome = a[kernel.LAST_OUTCOME]
    outcome = np.where(outcome < 0, len(a.outcome_names), outcome)

    def flag(row: int) -> np.ndarray:
        out: np.ndarray = a[row] != 0
        return out

    return pa.table(
        {
            "loan_id": a.loans["loan_id"],
            "dpd": a[kernel.DPD],
            "delinquent_days": a[kernel.DELINQUENT],
            "bucket": _names(a[kernel.BUCKET], a.products.bucket_names),
            "day_offset": np.where(oldest != NONE_DAY, today - oldest, NO_ANCHOR),
            "overdue_total": a.amount(kernel.OVERDUE_TOTAL),
            "outstanding_total": a.amount(kernel.OUTSTANDING_TOTAL),
            "overdue_principal": a.amount(kernel.OVERDUE_PRINCIPAL),
            "late_fee": a.amount(kernel.LATE_FEE),
            "instalments_overdue": a[kernel.INSTALMENTS_OVERDUE],
            "on_time_ratio": a[kernel.ON_TIME_RATIO],
            "max_dpd_12m": a[kernel.MAX_DPD_12M],
            "prior_max_dpd_12m": a[kernel.PRIOR_MAX_DPD_12M],
            "prior_on_time_ratio": a[kernel.PRIOR_ON_TIME_RATIO],
            "contacts_30d": a[kernel.CONTACTS_30D],
            "autodebit_failures_90d": a[kernel.AUTODEBIT_FAILURES_90D],
            "broken_promises_90d": a[kernel.BROKEN_PROMISES],
            "promise_pending": flag(kernel.PROMISE_PENDING),
            "autodebit_failed": flag(kernel.AUTODEBIT_FAILED),
            "hardship": flag(kernel.HARDSHIP),
            "disputed": flag(kernel.DISPUTED),
            "identity_dispute": flag(kernel.IDENTITY_DISPUTE),
            "days_since_last_payment": np.where(last_pay != NONE_DAY, today - last_pay, NEVER),
            "last_contact_outcome": _names(outcome, [*a.outcome_names, "none"]),
            "product": a.loans["product"],
        }
    )
