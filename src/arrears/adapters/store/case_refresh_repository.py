"""uow.case_refresh: the case refresh's reads for every borrower in a few grouped statements, and its writes
as one statement per kind (executemany), instead of a few statements per borrower."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.casework_models import CaseRow, PromiseRow
from arrears.adapters.store.models import AccountEventRow, BorrowerRow, LoanRow
from arrears.adapters.store.repositories import now
from arrears.domain.cases import BROKEN_PROMISE_WINDOW
from arrears.domain.casework_records import CaseStanding
from arrears.services.case_refresh_port import CaseFacts


class CaseRefreshRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def facts(self, as_of: date) -> dict[str, CaseFacts]:
        c = self.connection
        borrowers = c.execute(
            select(BorrowerRow.id, BorrowerRow.language).where(
                BorrowerRow.id.in_(select(LoanRow.borrower_id).distinct())
            )
        ).all()
        pending = dict(
            c.execute(
                select(LoanRow.borrower_id, func.count())
                .join(PromiseRow, PromiseRow.loan_id == LoanRow.id)
                .where(PromiseRow.status == "pending")
                .group_by(LoanRow.borrower_id)
            ).all()
        )
        broken = dict(
            c.execute(
                select(LoanRow.borrower_id, func.count())
                .join(AccountEventRow, AccountEventRow.loan_id == LoanRow.id)
                .where(
                    AccountEventRow.kind == "promise_broken",
                    AccountEventRow.on_date > as_of - BROKEN_PROMISE_WINDOW,
                    AccountEventRow.on_date <= as_of,
                )
                .group_by(LoanRow.borrower_id)
            ).all()
        )
        cases = {
            r.borrower_id: r
            for r in c.execute(
                select(
                    CaseRow.borrower_id,
                    CaseRow.id,
                    CaseRow.status,
                    CaseRow.bucket,
                    CaseRow.dpd,
                    CaseRow.balance,
                    CaseRow.expected_recovery,
                )
            )
        }
        out = {}
        for borrower_id, language in borrowers:
            case = cases.get(borrower_id)
            out[borrower_id] = CaseFacts(
                language=language,
                pending_promises=int(pending.get(borrower_id, 0)),
                broken_promises=int(broken.get(borrower_id, 0)),
                case_id=case.id if case is not None else None,
                case_status=case.status if case is not None else None,
                standing=CaseStanding(case.bucket, case.dpd, case.balance, case.expected_recovery)
                if case is not None
                else None,
            )
        return out

    def write(
        self,
        opened: Sequence[tuple[str, str | None, CaseStanding]],
        updated: Sequence[tuple[int, CaseStanding]],
        closed: Sequence[int],
    ) -> None:
        at = now()
        if opened:
            self.connection.execute(
                insert(CaseRow),
                [
                    {
                        "borrower_id": borrower_id,
                        "language": language,
                        "opened_at": at,
                        "status": "open",
                        "bucket": s.bucket,
                        "dpd": s.dpd,
                        "balance": s.balance,
                        "expected_recovery": s.expected_recovery,
                        "updated_at": at,
                    }
                    for borrower_id, language, s in opened
                ],
            )
        if updated:
            self.connection.execute(
                update(CaseRow)
                .where(CaseRow.id == bindparam("case_id"))
                .values(
                    status="open",
                    bucket=bindparam("s_bucket"),
                    dpd=bindparam("s_dpd"),
                    balance=bindparam("s_balance"),
                    expected_recovery=bindparam("s_expected"),
                    updated_at=at,
                )
                .execution_options(synchronize_session=False),
                [
                    {
                        "case_id": case_id,
                        "s_bucket": s.bucket,
                        "s_dpd": s.dpd,
                        "s_balance": s.balance,
                        "s_expected": s.expected_recovery,
                    }
                    for case_id, s in updated
                ],
            )
        if closed:
            self.connection.execute(
                update(CaseRow)
                .where(CaseRow.id == bindparam("case_id"))
                .values(status="closed", updated_at=at),
                [{"case_id": case_id} for case_id in closed],
            )
