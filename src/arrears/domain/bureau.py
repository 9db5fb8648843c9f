"""Credit-bureau reporting rules (征信 / FCRA furnishing): what an account's month-end state is reported as.

The rules, once, as data the export applies column-wise:
- the month-end status from days past due: PBOC's repayment-status letter (N, 1..7 months past due, 7 = 180+
  days) and Metro 2's Account Status code (11 current, 71 30-59 days, 78 60-89, 80 90-119, 82 120-149,
  83 150-179, 84 180+);
- the pre-notice rule (征信业管理条例 §15; docs/bureau.md): a negative status is reported only when the
  borrower was sent the bureau notice at least `notice_days` before the report date; until then the account
  is *held*: reported as current, and listed so the notice can go out first;
- disputes: an open dispute is reported with Metro 2 Compliance Condition Code XB (disputed by the consumer,
  under investigation); one resolved during the month with XH (previously in dispute, now resolved).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.errors import InputError

# Upper DPD bound (inclusive) of each status, in order; the last status has no bound.
CN_STATUS_BANDS: tuple[tuple[int, str], ...] = (
    (0, "N"),
    (30, "1"),
    (60, "2"),
    (90, "3"),
    (120, "4"),
    (150, "5"),
    (180, "6"),
)
CN_LAST_STATUS = "7"
METRO2_STATUS_BANDS: tuple[tuple[int, str], ...] = (
    (29, "11"),  # current: under 30 days is not reported late in Metro 2
    (59, "71"),
    (89, "78"),
    (119, "80"),
    (149, "82"),
    (179, "83"),
)
METRO2_LAST_STATUS = "84"
METRO2_CURRENT = "11"
METRO2_PAID = "13"  # paid or closed account / zero balance
CN_CURRENT = "N"
# Every Account Status code the export writes (Metro 2's list has more: transfers, charge-offs, repossessions).
METRO2_STATUSES = frozenset({*(s for _, s in METRO2_STATUS_BANDS), METRO2_LAST_STATUS, METRO2_PAID})
NEGATIVE_METRO2 = METRO2_STATUSES - {METRO2_CURRENT, METRO2_PAID}

DISPUTED = "XB"  # account information disputed by the consumer, investigation in progress
DISPUTE_RESOLVED = "XH"  # account previously in dispute, now resolved
COMPLIANCE_CONDITIONS = frozenset({DISPUTED, DISPUTE_RESOLVED})

# The kind of record a loan's line is: normal (reported as it is), negative (late, notice given), held (late,
# no notice long enough ago: reported as current).
NORMAL, NEGATIVE, HELD = "normal", "negative", "held"


def month_end(month: str) -> date:
    """The last day of a YYYY-MM month."""
    try:
        year_text, mon_text = month.split("-")
        if len(year_text) != 4 or len(mon_text) != 2:
            raise ValueError
        year, mon = int(year_text), int(mon_text)
        return date(year, mon, calendar.monthrange(year, mon)[1])
    except ValueError:
        raise InputError(f"not a month YYYY-MM: {month!r}", field="month") from None


def status_for(dpd: int, bands: tuple[tuple[int, str], ...], last: str) -> str:
    """The status whose band holds `dpd` (the table's rows, first match)."""
    for upper, status in bands:
        if dpd <= upper:
            return status
    return last


def cn_status(dpd: int) -> str:
    return status_for(dpd, CN_STATUS_BANDS, CN_LAST_STATUS)


def metro2_status(dpd: int, outstanding: int) -> str:
    """Metro 2 Account Status: 13 once nothing is owed, else the DPD band's code."""
    if outstanding <= 0:
        return METRO2_PAID
    return status_for(dpd, METRO2_STATUS_BANDS, METRO2_LAST_STATUS)


def notice_cutoff(as_of: date, notice_days: int) -> date:
    """The last day a bureau notice may have been sent for a negative record reported as of `as_of`."""
    return as_of - timedelta(days=notice_days)


def record_kind(dpd: int, notice_sent_on: date | None, as_of: date, notice_days: int) -> str:
    """normal / negative / held: negative only with a notice sent on or before the cut-off."""
    if dpd <= 0:
        return NORMAL
    if notice_sent_on is not None and notice_sent_on <= notice_cutoff(as_of, notice_days):
        return NEGATIVE
    return HELD


def compliance_condition(open_dispute: bool, resolved_in_month: bool) -> str:
    """Metro 2 Compliance Condition Code for an account's disputes ("" when there is nothing to say)."""
    if open_dispute:
        return DISPUTED
    if resolved_in_month:
        return DISPUTE_RESOLVED
    return ""


@dataclass(frozen=True, slots=True)
class PostalAddress:
    line: str
    city: str
    state: str
    zip_code: str


def us_postal_address(text: str | None) -> PostalAddress | None:
    """A one-line US address "LINE, CITY, ST 12345[-6789]" in its parts; None when it is not one."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 3:
        return None
    state_zip = parts[-1].split()
    if len(state_zip) != 2 or len(state_zip[0]) != 2 or not state_zip[0].isalpha():
        return None
    zip_code = state_zip[1].replace("-", "")
    if len(zip_code) not in (5, 9) or not zip_code.isdigit():
        return None
    return PostalAddress(", ".join(parts[:-2]), parts[-2], state_zip[0].upper(), zip_code)


def split_name(name: str | None) -> tuple[str, str]:
    """(surname, first names) of "First [Middle] Surname"; a one-word name is all surname."""
    words = (name or "").split()
    if not words:
        return "", ""
    return words[-1], " ".join(words[:-1])
