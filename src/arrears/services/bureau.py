"""The monthly credit-bureau export (征信): one record per loan as of the month's last day.

Layout (CSV, UTF-8, header row): report_month (YYYY-MM), loan_id, borrower_id, id_number (full: the bureau
needs it; each export is audited), name, status (N = not past due, 1..7 = months past due, 7 = 180+ days),
dpd, overdue, outstanding (decimal strings), record (normal | negative | held), notice_sent_on.
A negative record (status 1..7) is exported only when a bureau notice was sent to the borrower at least
N days (bureau_notice_days) before the report date: an outbox row whose step or template names
"bureau_notice" with status sent, or a `contact` account event whose detail says template bureau_notice.
Otherwise the record is `held`: reported with status N, and listed so the notice can go out first.
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import date, timedelta
from typing import Any

from arrears.domain.errors import InputError
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

NOTICE_TEMPLATE = "bureau_notice"
COLUMNS = (
    "report_month",
    "loan_id",
    "borrower_id",
    "id_number",
    "name",
    "status",
    "dpd",
    "overdue",
    "outstanding",
    "record",
    "notice_sent_on",
)


def month_end(month: str) -> date:
    """The last day of a YYYY-MM month."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        return date(year, mon, calendar.monthrange(year, mon)[1])
    except ValueError:
        raise InputError(f"not a month YYYY-MM: {month!r}", field="month") from None


def status_code(dpd: int) -> str:
    return "N" if dpd <= 0 else str(min(7, (dpd - 1) // 30 + 1))


def notice_sent_on(uow: UnitOfWork, loan_id: str, by: date) -> date | None:
    """The latest bureau notice sent for the loan on or before `by`."""
    eligible = [d for d in uow.loan_actions.notices_sent(loan_id, NOTICE_TEMPLATE) if d <= by]
    return max(eligible) if eligible else None


def export(uow: UnitOfWork, month: str, notice_days: int, actor: str) -> tuple[str, list[dict[str, Any]]]:
    """The month's records as CSV text and as rows; the export is recorded in the audit log."""
    as_of = month_end(month)
    rows = []
    for record in uow.loans.stream_records():
        position = compute_position(record.loan, as_of)
        borrower = uow.borrowers.get(record.borrower_id)
        code = status_code(position.dpd)
        notice = notice_sent_on(uow, record.id, as_of - timedelta(days=notice_days)) if code != "N" else None
        kind = "normal" if code == "N" else ("negative" if notice is not None else "held")
        cur = record.loan.currency
        rows.append(
            {
                "report_month": month,
                "loan_id": record.id,
                "borrower_id": record.borrower_id,
                "id_number": borrower.id_number if borrower else None,
                "name": borrower.name if borrower else None,
                "status": code if kind != "held" else "N",
                "dpd": position.dpd,
                "overdue": format_minor(position.overdue.total, cur),
                "outstanding": format_minor(position.outstanding.total, cur),
                "record": kind,
                "notice_sent_on": notice.isoformat() if notice else None,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    audit.append(
        uow,
        actor,
        "bureau.export",
        f"bureau:{month}",
        {
            "records": len(rows),
            "negative": sum(r["record"] == "negative" for r in rows),
            "held": sum(r["record"] == "held" for r in rows),
        },
    )
    return out.getvalue(), rows
