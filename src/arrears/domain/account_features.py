"""The engine-computed features of one account on one day (names and types: arrears.domain.features).

This is the reference definition; the vectorised engines compute the same numbers column-wise and the
differential tests hold them to it. Windows are the last N days ending on the as-of date, inclusive:
(as_of − N, as_of].
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.features import FeatureValue, ratio_bp
from arrears.domain.ledger import LedgerPosition
from arrears.domain.loans import Loan

NEVER = 9999  # days_since_last_payment when nothing was ever paid
NO_ANCHOR = -9999  # day_offset when nothing is unpaid
# The facts about an account that the features read (account_events.kind).
EVENT_KINDS = (
    "autodebit_failed",
    "promise_made",
    "promise_kept",
    "promise_broken",
    "contact",
    "hardship_flag",
    "dispute_opened",
    "dispute_closed",
    "identity_dispute",
)
PROMISE_WINDOW, AUTODEBIT_WINDOW, HARDSHIP_WINDOW, HISTORY_WINDOW = 90, 30, 90, 365
CONTACT_WINDOW, AUTODEBIT_COUNT_WINDOW = 30, 90


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """A fact recorded about an account: auto-debit failure, promise, dispute, contact outcome ..."""

    kind: str
    on: date
    outcome: str | None = None  # for kind "contact": the contact outcome


def _within(day: date, as_of: date, days: int) -> bool:
    return as_of - timedelta(days=days) < day <= as_of


def account_features(
    loan: Loan, position: LedgerPosition, events: Iterable[AccountEvent], product: str
) -> dict[str, FeatureValue]:
    """Every feature the engine computes for `loan` on `position.as_of` (the policy adds ews_score/level)."""
    as_of = position.as_of
    grace = loan.settings.grace_days
    past = [i for i in position.instalments if i.due < as_of]
    judged = [i for i in past if i.paid_on is not None or i.due + timedelta(days=grace) < as_of]
    on_time = [i for i in judged if i.paid_on is not None and i.paid_on <= i.due + timedelta(days=grace)]
    max_dpd = prior_max_dpd = 0
    window_start = as_of - timedelta(days=HISTORY_WINDOW - 1)
    for i in past:
        last_late_day = as_of if i.paid_on is None else i.paid_on - timedelta(days=1)
        if last_late_day >= window_start and last_late_day > i.due:
            max_dpd = max(max_dpd, (last_late_day - i.due).days)
            if i.paid_on is not None:  # the earlier delinquencies: the current one is the unpaid instalments
                prior_max_dpd = max(prior_max_dpd, (last_late_day - i.due).days)
    paid = [i for i in past if i.paid_on is not None]
    paid_on_time = [i for i in paid if i.paid_on is not None and i.paid_on <= i.due + timedelta(days=grace)]
    seen = [e for e in events if e.on <= as_of]
    count = {
        k: sum(1 for e in seen if e.kind == k)
        for k in ("promise_made", "promise_kept", "promise_broken", "dispute_opened", "dispute_closed")
    }
    covering = {p.reason for p in loan.pauses if p.covers(as_of)}
    contacts = [e for e in seen if e.kind == "contact"]
    last_contact = max(contacts, key=lambda e: e.on, default=None)  # max keeps the first of equal days
    for e in contacts:  # the last one recorded on the latest day wins
        if last_contact is not None and e.on == last_contact.on:
            last_contact = e
    return {
        "dpd": position.dpd,
        "delinquent_days": position.delinquent_days,
        "bucket": position.bucket,
        "day_offset": (as_of - position.oldest_unpaid_due).days if position.oldest_unpaid_due else NO_ANCHOR,
        "overdue_total": position.overdue.total,
        "outstanding_total": position.outstanding.total,
        "overdue_principal": position.overdue.principal,
        "late_fee": position.outstanding.late_fee,
        "instalments_overdue": sum(1 for i in past if i.outstanding.total > 0),
        "on_time_ratio": ratio_bp(len(on_time), len(judged)),
        "max_dpd_12m": max_dpd,
        "prior_max_dpd_12m": prior_max_dpd,
        "prior_on_time_ratio": ratio_bp(len(paid_on_time), len(paid)),
        "contacts_30d": sum(1 for e in seen if e.kind == "contact" and _within(e.on, as_of, CONTACT_WINDOW)),
        "autodebit_failures_90d": sum(
            1 for e in seen if e.kind == "autodebit_failed" and _within(e.on, as_of, AUTODEBIT_COUNT_WINDOW)
        ),
        "broken_promises_90d": sum(
            1 for e in seen if e.kind == "promise_broken" and _within(e.on, as_of, PROMISE_WINDOW)
        ),
        "promise_pending": count["promise_made"] > count["promise_kept"] + count["promise_broken"],
        "autodebit_failed": any(
            e.kind == "autodebit_failed" and _within(e.on, as_of, AUTODEBIT_WINDOW) for e in seen
        ),
        "hardship": "hardship" in covering
        or any(e.kind == "hardship_flag" and _within(e.on, as_of, HARDSHIP_WINDOW) for e in seen),
        "disputed": "dispute" in covering or count["dispute_opened"] > count["dispute_closed"],
        "identity_dispute": "identity_theft" in covering or any(e.kind == "identity_dispute" for e in seen),
        "days_since_last_payment": (as_of - position.last_payment_on).days
        if position.last_payment_on
        else NEVER,
        "last_contact_outcome": (last_contact.outcome or "none") if last_contact else "none",
        "product": product,
    }
