"""uow.bureau: what the monthly bureau export reads besides the ledger, for every loan at once (a few
statements, not one per loan), and what it reported before (bureau_reports, for corrections)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa
from sqlalchemy import Date, String, and_, delete, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.crypto import cipher
from arrears.adapters.store.bulk import bulk_writer
from arrears.adapters.store.casework_models import DisputeRow
from arrears.adapters.store.models import AccountEventRow, Base, BorrowerRow, InstalmentRow
from arrears.adapters.store.personal_data_repository import PLAIN_COLUMNS
from arrears.adapters.store.run_models import OutboxRow
from arrears.adapters.store.types import UtcDateTime
from arrears.domain.records import Borrower

OPEN_DISPUTE = ("open", "acknowledged")
CLOSED_DISPUTE = ("resolved", "rejected")
BATCH = 5_000
WHOLE_TABLE_ABOVE = 50_000
PERSONAL = ("name", "phone", "id_number", "address")  # what the export reads (not the e-mail)


class BureauReportRow(Base):
    """What one export reported for a loan in a month (the record's digest), so a later export of the same
    month sends a changed record as a correction."""

    __tablename__ = "bureau_reports"

    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    reported_on: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)


FACTS_SCHEMA = pa.schema(
    [
        ("loan_id", pa.string()),
        ("notice_sent_on", pa.date32()),
        ("open_dispute", pa.bool_()),
        ("dispute_resolved", pa.bool_()),
        ("instalments", pa.int64()),
        ("original_principal", pa.int64()),
        ("scheduled_total", pa.int64()),
        ("first_due", pa.date32()),
        ("last_due", pa.date32()),
    ]
)


class BureauRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def loan_facts(self, as_of: date, notice_by: date, template: str) -> pa.Table:
        """One row per loan with instalments: its latest bureau notice sent on or before `notice_by`, whether a
        dispute is open at `as_of` or was closed during its month, and its schedule's totals."""
        facts: dict[str, dict[str, object]] = {}
        schedule = select(
            InstalmentRow.loan_id,
            func.count(),
            func.sum(InstalmentRow.principal),
            func.sum(InstalmentRow.principal + InstalmentRow.interest + InstalmentRow.fees),
            func.min(InstalmentRow.due_date),
            func.max(InstalmentRow.due_date),
        ).group_by(InstalmentRow.loan_id)
        for loan_id, n, principal, total, first, last in self.connection.execute(schedule):
            facts[loan_id] = {
                "loan_id": loan_id,
                "notice_sent_on": None,
                "open_dispute": False,
                "dispute_resolved": False,
                "instalments": int(n),
                "original_principal": int(principal or 0),
                "scheduled_total": int(total or 0),
                "first_due": _day(first),
                "last_due": _day(last),
            }
        for loan_id, on in self._notices(notice_by, template):
            row = facts.get(loan_id)
            if row is not None and (row["notice_sent_on"] is None or on > row["notice_sent_on"]):  # type: ignore[operator]
                row["notice_sent_on"] = on
        month_start = as_of.replace(day=1)
        disputes = select(DisputeRow.loan_id, DisputeRow.status, DisputeRow.resolved_at).where(
            DisputeRow.kind == "dispute", DisputeRow.opened_on <= as_of
        )
        for loan_id, status, resolved_at in self.connection.execute(disputes):
            row = facts.get(loan_id)
            if row is None:
                continue
            closed_on = resolved_at.astimezone(UTC).date() if resolved_at is not None else None
            if status in OPEN_DISPUTE or (closed_on is not None and closed_on > as_of):
                row["open_dispute"] = True
            elif status in CLOSED_DISPUTE and closed_on is not None and month_start <= closed_on <= as_of:
                row["dispute_resolved"] = True
        return pa.Table.from_pylist(list(facts.values()), schema=FACTS_SCHEMA)

    def _notices(self, by: date, template: str) -> Iterable[tuple[str, date]]:
        """(loan, day) of every bureau notice sent by the end of `by`: outbox actions sent whose step or
        template names it, and `contact` account events whose detail says that template."""
        end = datetime.combine(by + timedelta(days=1), time(), UTC)
        sent = select(OutboxRow.loan_id, func.max(OutboxRow.updated_at)).where(
            OutboxRow.status == "sent",
            OutboxRow.updated_at < end,
            or_(OutboxRow.step_id.contains(template), OutboxRow.template.contains(template)),
        )
        for loan_id, at in self.connection.execute(sent.group_by(OutboxRow.loan_id)):
            yield loan_id, at.astimezone(UTC).date()
        events = select(AccountEventRow.loan_id, func.max(AccountEventRow.on_date)).where(
            and_(
                AccountEventRow.kind == "contact",
                AccountEventRow.on_date <= by,
                AccountEventRow.detail["template"].as_string() == template,
            )
        )
        for loan_id, on in self.connection.execute(events.group_by(AccountEventRow.loan_id)):
            yield loan_id, _day(on)

    def borrowers(self, ids: Sequence[str]) -> dict[str, Borrower]:
        """The borrowers with these ids, personal data opened (the export needs names and identity numbers)."""
        out: dict[str, Borrower] = {}
        opener = cipher()  # once: each borrower_from_row would look the keys up again
        if len(ids) > WHOLE_TABLE_ABOVE:  # most of the store: one scan beats thousands of IN lists
            wanted = set(ids)
            batches = [self.connection.execute(select(BorrowerRow))]
        else:
            wanted = None
            batches = [
                self.connection.execute(select(BorrowerRow).where(BorrowerRow.id.in_(ids[i : i + BATCH])))
                for i in range(0, len(ids), BATCH)
            ]
        for rows in batches:
            for row in rows.mappings():
                if wanted is not None and row["id"] not in wanted:
                    continue
                fields = opener.open(str(row["id"]), row, PERSONAL)
                out[row["id"]] = Borrower(
                    id=row["id"], **fields, **{name: row[name] for name in PLAIN_COLUMNS}
                )
        return out

    def reported(self, format: str, month: str) -> dict[str, str]:
        """loan id → digest of what the last export of `month` in `format` reported."""
        rows = self.connection.execute(
            select(BureauReportRow.loan_id, BureauReportRow.digest).where(
                BureauReportRow.format == format, BureauReportRow.month == month
            )
        )
        return {loan_id: digest for loan_id, digest in rows}

    def record_reported(
        self, format: str, month: str, digests: Sequence[tuple[str, str]], reported_on: date, at: datetime
    ) -> None:
        """What this export reported replaces what an earlier export of the month did."""
        self.connection.execute(
            delete(BureauReportRow).where(BureauReportRow.format == format, BureauReportRow.month == month)
        )
        ids, values = zip(*digests, strict=True) if digests else ((), ())
        bulk_writer(self.connection).insert(
            "bureau_reports",
            pa.table({"loan_id": pa.array(ids, pa.string()), "digest": pa.array(values, pa.string())}),
            constants={"format": format, "month": month, "reported_on": reported_on, "reported_at": at},
        )


def _day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
