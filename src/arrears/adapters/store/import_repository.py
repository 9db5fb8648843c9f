"""The imports' repository: the book of imports, the look-ups a file is checked with, the bulk writes.

It implements `arrears.services.unit_of_work.ImportPort` on one connection, inside the unit of work's
transaction. Writes go through the dialect's bulk writer (adapters/store/bulk.py: executemany on SQLite, COPY
on PostgreSQL, insert-or-ignore either way), and the ledger postings of the rows a write actually added are
derived from them in the same statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.crypto import cipher
from arrears.adapters.store.bulk import as_date, bulk_writer
from arrears.adapters.store.models import ImportRow, PaymentRow, PostingRow
from arrears.domain.imports import ImportedLoan, ImportRecord, OriginalPayment

Progress = Callable[[int], None]

POSTING_INSERT = (
    "INSERT INTO ledger_postings (loan_id, posted_at, effective_on, kind, component, amount, ref, import_id)"
)
SCHEDULE_POSTINGS = [
    f"{POSTING_INSERT} SELECT loan_id, :at, due_date, 'schedule', '{component}', {component}, "
    f"CAST(seq AS VARCHAR(64)), :imp FROM inserted WHERE {component} <> 0"
    for component in ("principal", "interest", "fees")
]
PAYMENT_POSTINGS = (
    f"{POSTING_INSERT} SELECT loan_id, :at, paid_on, 'payment', 'payment', -amount, id, :imp "
    "FROM inserted ORDER BY loan_id"
)


class ImportRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.bulk = bulk_writer(connection)

    # the book of imports -------------------------------------------------------------------------

    def start(self, kind: str, source: str, actor: str, rows: int) -> ImportRecord:
        """Book an import as started now (its counts are filled in by finish)."""
        at = datetime.now(UTC)
        result = self.connection.execute(
            insert(ImportRow)
            .values(
                kind=kind,
                source=source,
                actor=actor,
                started_at=at,
                rows_read=rows,
                written=0,
                duplicates=0,
                rejected=0,
            )
            .returning(ImportRow.id)
        )
        return ImportRecord(int(result.scalar_one()), at)

    def finish(self, import_id: int, *, written: int, duplicates: int, rejected: int) -> None:
        self.connection.execute(
            update(ImportRow)
            .where(ImportRow.id == import_id)
            .values(written=written, duplicates=duplicates, rejected=rejected)
        )

    # look-ups ------------------------------------------------------------------------------------

    def loan_terms(self, loan_ids: Sequence[str]) -> pa.Table:
        """The stored loans among `loan_ids`: id, currency, opened_on (date32)."""
        found = self.bulk.lookup("loans", "id", loan_ids, ["id", "currency", "opened_on"])
        opened = pa.array([r[2] for r in found])
        return pa.table(
            {
                "id": pa.array([r[0] for r in found], pa.string()),
                "currency": pa.array([r[1] for r in found], pa.string()),
                # SQLite hands DATE columns back as text; the cast reads both
                "opened_on": pc.cast(opened, pa.date32()) if len(found) else pa.array([], pa.date32()),
            }
        )

    def payment_totals(self, loan_ids: Sequence[str]) -> dict[str, int]:
        """The stored loans among `loan_ids` that have payments: the sum of their payments (reversed ones
        included: a bound on what a loan's ledger adds up, not its balance)."""
        totals: dict[str, int] = {}
        for loan_id, amount in self.bulk.lookup("payments", "loan_id", loan_ids, ["loan_id", "amount"]):
            totals[loan_id] = totals.get(loan_id, 0) + int(amount)
        return totals

    def loans(self, loan_ids: Sequence[str]) -> dict[str, ImportedLoan]:
        """The stored loans among `loan_ids` with their schedules, as an import file would state them."""
        heads = {
            r[0]: r[1:]
            for r in self.bulk.lookup(
                "loans", "id", loan_ids, ["id", "borrower_id", "product_code", "currency", "opened_on"]
            )
        }
        if not heads:
            return {}
        schedules: dict[str, dict[int, tuple[date | None, int, int, int]]] = {k: {} for k in heads}
        for r in self.bulk.lookup(
            "instalments",
            "loan_id",
            list(heads),
            ["loan_id", "seq", "due_date", "principal", "interest", "fees"],
        ):
            schedules[r[0]][int(r[1])] = (as_date(r[2]), int(r[3]), int(r[4]), int(r[5]))
        return {
            loan_id: ImportedLoan(borrower, product, currency, as_date(opened), schedules[loan_id])
            for loan_id, (borrower, product, currency, opened) in heads.items()
        }

    def borrower_ids(self, borrower_ids: Sequence[str]) -> set[str]:
        """The stored borrowers among `borrower_ids`."""
        return {r[0] for r in self.bulk.lookup("borrowers", "id", borrower_ids, ["id"])}

    def loan_owners(self, loan_ids: Sequence[str]) -> dict[str, str]:
        """loan id → borrower id, for the stored loans among `loan_ids`."""
        return dict(self.bulk.lookup("loans", "id", loan_ids, ["id", "borrower_id"]))

    def payments(self, payment_ids: Sequence[str]) -> dict[str, OriginalPayment]:
        """The stored payments among `payment_ids` (reversals are recorded on them, not as payments)."""
        return {
            r[0]: OriginalPayment(r[1], as_date(r[2]) or date.min, int(r[3]), r[4])
            for r in self.bulk.lookup(
                "payments", "id", payment_ids, ["id", "loan_id", "paid_on", "amount", "reversal_id"]
            )
        }

    def any_reversals(self) -> bool:
        """Whether any stored payment has been reversed."""
        found = self.connection.scalar(
            select(PaymentRow.id).where(PaymentRow.reversal_id.is_not(None)).limit(1)
        )
        return bool(found)

    def reversed_payments(self, reversal_ids: Sequence[str]) -> dict[str, str]:
        """reversal id → the payment it reversed, for the stored reversals among `reversal_ids`."""
        return dict(self.bulk.lookup("payments", "reversal_id", reversal_ids, ["reversal_id", "id"]))

    # writes --------------------------------------------------------------------------------------

    def add_loans(
        self,
        record: ImportRecord,
        borrowers: pa.Table,
        loans: pa.Table,
        instalments: pa.Table,
        progress: Progress | None = None,
    ) -> tuple[int, int, int]:
        """Borrowers, loans and instalments (with their schedule postings); how many of each were added.

        borrowers: id, name, phone, id_number, email, timezone, region, language, persona;
        loans: id, borrower_id, product_code, currency, opened_on;
        instalments: loan_id, seq, due_date, principal, interest, fees (minor units); progress counts these.
        """
        if not instalments.num_rows:
            return 0, 0, 0
        stamp = {"created_at": record.started_at, "import_id": record.id}
        tables = ["borrowers", "loans", "instalments", "ledger_postings"]
        with self.bulk.deferred_indexes(tables, instalments.num_rows):
            sealed = cipher().seal_table(borrowers)  # personal data encrypted at rest (adapters/crypto.py)
            borrowers_added = self.bulk.insert("borrowers", sealed, constants=stamp)
            loans_added = self.bulk.insert("loans", loans, constants=stamp)
            instalments_added = self.bulk.insert(
                "instalments",
                instalments,
                then=SCHEDULE_POSTINGS,
                params={"at": record.started_at, "imp": record.id},
                progress=progress,
            )
        return borrowers_added, loans_added, instalments_added

    def add_payments(self, record: ImportRecord, payments: pa.Table, progress: Progress | None = None) -> int:
        """Payments (id, loan_id, paid_on, amount, source), a payment posting each; how many were added."""
        if not payments.num_rows:
            return 0
        with self.bulk.deferred_indexes(["payments", "ledger_postings"], payments.num_rows):
            return self.bulk.insert(
                "payments",
                payments,
                constants={"recorded_at": record.started_at, "import_id": record.id},
                then=[PAYMENT_POSTINGS],
                params={"at": record.started_at, "imp": record.id},
                progress=progress,
            )

    def add_reversals(self, record: ImportRecord, reversals: pa.Table) -> int:
        """Reversals (id, payment_id, reversed_on, loan_id, amount) recorded on the payments they undo, with
        a reversal posting each; the caller has checked that none of those payments is reversed yet."""
        if not reversals.num_rows:
            return 0
        rows = reversals.to_pylist()
        self.connection.execute(
            update(PaymentRow)
            .where(PaymentRow.id == bindparam("original"), PaymentRow.reversal_id.is_(None))
            .values(reversed_on=bindparam("on"), reversal_id=bindparam("rid")),
            [{"original": r["payment_id"], "on": r["reversed_on"], "rid": r["id"]} for r in rows],
        )
        self.connection.execute(
            insert(PostingRow),
            [
                {
                    "loan_id": r["loan_id"],
                    "posted_at": record.started_at,
                    "effective_on": r["reversed_on"],
                    "kind": "reversal",
                    "component": "payment",
                    "amount": r["amount"],
                    "ref": r["id"],
                    "import_id": record.id,
                }
                for r in rows
            ],
        )
        return len(rows)

    def add_events(self, record: ImportRecord, events: pa.Table, progress: Progress | None = None) -> int:
        """Account events (id, loan_id, kind, on_date, at, detail as JSON text); how many were added."""
        if not events.num_rows:
            return 0
        with self.bulk.deferred_indexes(["account_events"], events.num_rows):
            return self.bulk.insert(
                "account_events",
                events,
                constants={"recorded_at": record.started_at, "import_id": record.id},
                progress=progress,
            )
