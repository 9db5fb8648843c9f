"""Case work's repositories: promises, plans, schedule versions, cases and notes, disputes and evidence,
agencies and placements, API keys, webhook receipts. Records of `arrears.domain.casework_records` out;
they work on the unit of work's connection (migration 0004_casework holds the tables)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.store.casework_models import (
    AgencyActivityRow,
    AgencyRow,
    ApiKeyRow,
    CaseNoteRow,
    CaseRow,
    DisputeRow,
    EvidenceRow,
    PlacementRow,
    PlanRow,
    PromiseRow,
    ScheduleVersionRow,
    WebhookReceiptRow,
)
from arrears.adapters.store.models import AccountEventRow, InstalmentRow, LoanRow, PaymentRow
from arrears.domain.cases import QueueEntry, Skills
from arrears.domain.casework_records import (
    Agency,
    ApiKey,
    CaseNote,
    CaseRecord,
    CaseStanding,
    ComplaintSource,
    DisputeRecord,
    Evidence,
    Placement,
    PlanRecord,
    PromiseRecord,
    ScheduleVersion,
    WebhookReceipt,
    instalments_document,
    terms_document,
)
from arrears.domain.loans import Instalment
from arrears.domain.plans import PlanTerms, Rewrite
from arrears.domain.promises import Promise, PromiseOutcome

OPEN_PLAN_STATUSES = ("active", "awaiting_approval")


def now() -> datetime:
    return datetime.now(UTC)


class PromiseRepository:
    """Promises to pay, and the broken ones as the account events record them (imported ones too)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, loan_id: str, promise: Promise, created_by: str) -> int:
        """Record a pending promise; its id."""
        return int(
            self.connection.execute(
                insert(PromiseRow)
                .values(
                    loan_id=loan_id,
                    made_on=promise.made_on,
                    due_on=promise.due_on,
                    amount=promise.amount,
                    status="pending",
                    paid=0,
                    created_by=created_by,
                    created_at=now(),
                )
                .returning(PromiseRow.id)
            ).scalar_one()
        )

    def get(self, promise_id: int) -> PromiseRecord | None:
        row = (
            self.connection.execute(select(PromiseRow).where(PromiseRow.id == promise_id)).mappings().first()
        )
        return PromiseRecord(**row) if row is not None else None

    def has_pending(self, loan_ids: Sequence[str]) -> bool:
        """Whether any of the loans has a pending promise."""
        return (
            self.connection.scalar(
                select(PromiseRow.id)
                .where(PromiseRow.loan_id.in_(loan_ids), PromiseRow.status == "pending")
                .limit(1)
            )
            is not None
        )

    def pending(self, loan_ids: Sequence[str] | None = None) -> list[PromiseRecord]:
        """The pending promises of the given loans (all when None), oldest first."""
        q = select(PromiseRow).where(PromiseRow.status == "pending").order_by(PromiseRow.id)
        if loan_ids is not None:
            q = q.where(PromiseRow.loan_id.in_(loan_ids))
        return [PromiseRecord(**r) for r in self.connection.execute(q).mappings()]

    def settle(self, promise_id: int, outcome: PromiseOutcome) -> None:
        """Store what became of a promise (kept or broken, what was paid towards it, on which day)."""
        self.connection.execute(
            update(PromiseRow)
            .where(PromiseRow.id == promise_id)
            .values(status=outcome.status, paid=outcome.paid, resolved_on=outcome.resolved_on)
        )

    def of_loans(self, loan_ids: Sequence[str]) -> list[PromiseRecord]:
        rows = self.connection.execute(
            select(PromiseRow).where(PromiseRow.loan_id.in_(loan_ids)).order_by(PromiseRow.id)
        ).mappings()
        return [PromiseRecord(**r) for r in rows]

    def broken_count(self, loan_ids: Sequence[str], after: date, through: date) -> int:
        """How many promise_broken events the loans have dated after `after` up to `through` inclusive."""
        return int(
            self.connection.scalar(
                select(func.count())
                .select_from(AccountEventRow)
                .where(
                    AccountEventRow.loan_id.in_(loan_ids),
                    AccountEventRow.kind == "promise_broken",
                    AccountEventRow.on_date > after,
                    AccountEventRow.on_date <= through,
                )
            )
            or 0
        )


class PlanRepository:
    """Repayment plans."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, loan_id: str, terms: PlanTerms, change: Rewrite, requested_by: str) -> int:
        """Record a plan awaiting approval (the schedule rewrite it would make); its id."""
        at = now()
        return int(
            self.connection.execute(
                insert(PlanRow)
                .values(
                    loan_id=loan_id,
                    kind=terms.kind,
                    status="awaiting_approval",
                    terms=terms_document(terms),
                    concession=change.concession,
                    start_on=terms.start_on,
                    ends_on=change.ends_on,
                    plan_seqs=list(change.plan_seqs),
                    requested_by=requested_by,
                    created_at=at,
                    updated_at=at,
                )
                .returning(PlanRow.id)
            ).scalar_one()
        )

    def get(self, plan_id: int) -> PlanRecord | None:
        row = self.connection.execute(select(PlanRow).where(PlanRow.id == plan_id)).mappings().first()
        return PlanRecord(**row) if row is not None else None

    def open_count(self, loan_id: str) -> int:
        """How many of the loan's plans are active or awaiting approval."""
        return int(
            self.connection.scalar(
                select(func.count())
                .select_from(PlanRow)
                .where(PlanRow.loan_id == loan_id, PlanRow.status.in_(OPEN_PLAN_STATUSES))
            )
            or 0
        )

    def active(self, loan_ids: Sequence[str] | None = None) -> list[PlanRecord]:
        """The active plans of the given loans (all when None), oldest first."""
        q = select(PlanRow).where(PlanRow.status == "active").order_by(PlanRow.id)
        if loan_ids is not None:
            q = q.where(PlanRow.loan_id.in_(loan_ids))
        return [PlanRecord(**r) for r in self.connection.execute(q).mappings()]

    def awaiting_approval(self, limit: int) -> list[PlanRecord]:
        """Plans (and waivers) over their proposer's limit, waiting for a supervisor, oldest first."""
        q = select(PlanRow).where(PlanRow.status == "awaiting_approval").order_by(PlanRow.id).limit(limit)
        return [PlanRecord(**r) for r in self.connection.execute(q).mappings()]

    def approve(
        self,
        plan_id: int,
        approved_by: str,
        status: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        pause_id: int | None = None,
    ) -> None:
        """The plan approved: active (or completed, for a waiver), with the schedule and pause it made."""
        self.connection.execute(
            update(PlanRow)
            .where(PlanRow.id == plan_id)
            .values(
                status=status,
                approved_by=approved_by,
                from_version=from_version,
                to_version=to_version,
                pause_id=pause_id,
                updated_at=now(),
            )
        )

    def close(self, plan_id: int, status: str, broken_on: date | None = None) -> None:
        """The plan completed or broken (on `broken_on`)."""
        self.connection.execute(
            update(PlanRow)
            .where(PlanRow.id == plan_id)
            .values(status=status, updated_at=now(), broken_on=broken_on)
        )

    def of_loans(self, loan_ids: Sequence[str]) -> list[PlanRecord]:
        rows = self.connection.execute(
            select(PlanRow).where(PlanRow.loan_id.in_(loan_ids)).order_by(PlanRow.id)
        ).mappings()
        return [PlanRecord(**r) for r in rows]


class ScheduleRepository:
    """A loan's schedules: every version kept, the newest one in the instalments table."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def versions(self, loan_id: str) -> list[ScheduleVersion]:
        """Every stored schedule version of a loan, oldest first."""
        rows = self.connection.execute(
            select(ScheduleVersionRow)
            .where(ScheduleVersionRow.loan_id == loan_id)
            .order_by(ScheduleVersionRow.version)
        ).mappings()
        return [ScheduleVersion(**r) for r in rows]

    def latest_version(self, loan_id: str) -> int:
        """The number of the loan's newest stored version; 0 when none is stored."""
        return int(
            self.connection.scalar(
                select(func.max(ScheduleVersionRow.version)).where(ScheduleVersionRow.loan_id == loan_id)
            )
            or 0
        )

    def add_version(
        self,
        loan_id: str,
        version: int,
        effective_from: date | None,
        instalments: Sequence[Instalment],
        reason: str,
        plan_id: int | None,
        at: datetime,
    ) -> None:
        self.connection.execute(
            insert(ScheduleVersionRow).values(
                loan_id=loan_id,
                version=version,
                effective_from=effective_from,
                instalments=instalments_document(instalments),
                reason=reason,
                plan_id=plan_id,
                created_at=at,
            )
        )

    def replace_instalments(self, loan_id: str, instalments: Sequence[Instalment]) -> None:
        """Make `instalments` the loan's schedule in force."""
        self.connection.execute(delete(InstalmentRow).where(InstalmentRow.loan_id == loan_id))
        self.connection.execute(
            insert(InstalmentRow),
            [
                {
                    "loan_id": loan_id,
                    "seq": i.seq,
                    "due_date": i.due,
                    "principal": i.principal,
                    "interest": i.interest,
                    "fees": i.fees,
                }
                for i in instalments
            ],
        )


class CaseRepository:
    """Cases (one per borrower, with the borrower's loans as its accounts) and the notes agents write."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def borrowers_with_loans(self) -> list[str]:
        """Every borrower who has a loan, sorted."""
        return list(
            self.connection.scalars(select(LoanRow.borrower_id).distinct().order_by(LoanRow.borrower_id))
        )

    def get(self, case_id: int) -> CaseRecord | None:
        row = self.connection.execute(select(CaseRow).where(CaseRow.id == case_id)).mappings().first()
        return CaseRecord(**row) if row is not None else None

    def of_borrower(self, borrower_id: str) -> CaseRecord | None:
        row = (
            self.connection.execute(select(CaseRow).where(CaseRow.borrower_id == borrower_id))
            .mappings()
            .first()
        )
        return CaseRecord(**row) if row is not None else None

    def open(self, borrower_id: str, language: str | None, standing: CaseStanding) -> CaseRecord:
        """Open the borrower's case; the case as stored."""
        at = now()
        return self._written(
            insert(CaseRow).values(
                borrower_id=borrower_id,
                language=language,
                opened_at=at,
                status="open",
                bucket=standing.bucket,
                dpd=standing.dpd,
                balance=standing.balance,
                expected_recovery=standing.expected_recovery,
                updated_at=at,
            )
        )

    def update_standing(self, case_id: int, standing: CaseStanding) -> CaseRecord:
        """The case (re)opened with where it now stands; the case as stored."""
        return self._written(
            update(CaseRow)
            .where(CaseRow.id == case_id)
            .values(
                status="open",
                bucket=standing.bucket,
                dpd=standing.dpd,
                balance=standing.balance,
                expected_recovery=standing.expected_recovery,
                updated_at=now(),
            )
        )

    def close(self, case_id: int) -> CaseRecord:
        """The case closed; the case as stored."""
        return self._written(
            update(CaseRow).where(CaseRow.id == case_id).values(status="closed", updated_at=now())
        )

    def _written(self, statement: Any) -> CaseRecord:
        """Run an INSERT / UPDATE of one case and hand back the row it left (RETURNING: no second read)."""
        row = self.connection.execute(statement.returning(*CaseRow.__table__.c)).mappings().one()
        return CaseRecord(**row)

    def open_count(self) -> int:
        return int(
            self.connection.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.status == "open"))
            or 0
        )

    def queue_entries(self) -> list[QueueEntry]:
        """Every open case as the work queue weighs it."""
        rows = self.connection.execute(
            select(
                CaseRow.id,
                CaseRow.assigned_to,
                CaseRow.language,
                CaseRow.bucket,
                CaseRow.expected_recovery,
                CaseRow.next_action_on,
            ).where(CaseRow.status == "open")
        ).all()
        return [QueueEntry(*r) for r in rows]

    def assign(self, case_id: int, agent: str | None) -> None:
        self.connection.execute(
            update(CaseRow).where(CaseRow.id == case_id).values(assigned_to=agent, updated_at=now())
        )

    def add_note(
        self,
        case_id: int,
        author: str,
        note: str,
        *,
        channel: str | None,
        outcome: str | None,
        next_action_on: date | None,
    ) -> None:
        self.connection.execute(
            insert(CaseNoteRow).values(
                case_id=case_id,
                at=now(),
                author=author,
                channel=channel,
                outcome=outcome,
                note=note,
                next_action_on=next_action_on,
            )
        )

    def follow_up(
        self, case_id: int, next_action_on: date | None, *, outcome: str | None = None, close: bool = False
    ) -> None:
        """After a contact: the next-action date, the outcome (when there is one), closed if it closes."""
        values: dict[str, Any] = {"updated_at": now(), "next_action_on": next_action_on}
        if outcome is not None:
            values["last_outcome"] = outcome
        if close:
            values["status"] = "closed"
        self.connection.execute(update(CaseRow).where(CaseRow.id == case_id).values(**values))

    def notes(self, case_id: int) -> list[CaseNote]:
        rows = self.connection.execute(
            select(CaseNoteRow).where(CaseNoteRow.case_id == case_id).order_by(CaseNoteRow.id)
        ).mappings()
        return [CaseNote(**r) for r in rows]

    def notes_per_author(self) -> dict[str, int]:
        """How many notes (contacts) each agent wrote."""
        rows = self.connection.execute(select(CaseNoteRow.author, func.count()).group_by(CaseNoteRow.author))
        return {str(author): int(n) for author, n in rows}


class DisputeRepository:
    """Disputes and complaints, and the evidence attached to them."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        *,
        kind: str,
        category: str,
        loan_id: str,
        borrower_id: str,
        description: str,
        opened_on: date,
        ack_by: date,
        resolve_by: date,
        pause_id: int | None,
        created_by: str,
        channel: str | None = None,
        agent: str | None = None,
        agency_id: str | None = None,
    ) -> int:
        """Record an open dispute or complaint; its id."""
        return int(
            self.connection.execute(
                insert(DisputeRow)
                .values(
                    kind=kind,
                    category=category,
                    loan_id=loan_id,
                    borrower_id=borrower_id,
                    channel=channel,
                    agent=agent,
                    agency_id=agency_id,
                    status="open",
                    description=description,
                    opened_on=opened_on,
                    ack_by=ack_by,
                    resolve_by=resolve_by,
                    pause_id=pause_id,
                    created_by=created_by,
                    created_at=now(),
                )
                .returning(DisputeRow.id)
            ).scalar_one()
        )

    def get(self, dispute_id: int) -> DisputeRecord | None:
        row = (
            self.connection.execute(select(DisputeRow).where(DisputeRow.id == dispute_id)).mappings().first()
        )
        return DisputeRecord(**row) if row is not None else None

    def ids(self, *, loan_ids: Sequence[str] | None = None, kind: str | None = None) -> list[int]:
        """The ids of the disputes and complaints of the given loans and kind (all when None), in order."""
        q = select(DisputeRow.id).order_by(DisputeRow.id)
        if loan_ids is not None:
            q = q.where(DisputeRow.loan_id.in_(loan_ids))
        if kind is not None:
            q = q.where(DisputeRow.kind == kind)
        return [int(i) for i in self.connection.scalars(q)]

    def acknowledge(self, dispute_id: int, at: datetime) -> None:
        self.connection.execute(
            update(DisputeRow)
            .where(DisputeRow.id == dispute_id)
            .values(status="acknowledged", acknowledged_at=at)
        )

    def resolve(
        self, dispute_id: int, resolution: str, resolved_on: date, at: datetime, acknowledged_at: datetime
    ) -> None:
        self.connection.execute(
            update(DisputeRow)
            .where(DisputeRow.id == dispute_id)
            .values(
                status="resolved",
                resolution=resolution,
                resolved_at=at,
                resolved_on=resolved_on,
                acknowledged_at=acknowledged_at,
            )
        )

    def complaint_sources(self) -> list[ComplaintSource]:
        """Every complaint's channel, agent and agency."""
        rows = self.connection.execute(
            select(DisputeRow.channel, DisputeRow.agent, DisputeRow.agency_id).where(
                DisputeRow.kind == "complaint"
            )
        )
        return [ComplaintSource(*r) for r in rows]

    def add_evidence(
        self, dispute_id: int, filename: str, sha256: str, size: int, stored_path: str, uploaded_by: str
    ) -> int:
        """Record a file attached to a dispute (stored at `stored_path`); its id."""
        return int(
            self.connection.execute(
                insert(EvidenceRow)
                .values(
                    dispute_id=dispute_id,
                    filename=filename,
                    sha256=sha256,
                    size=size,
                    stored_path=stored_path,
                    uploaded_by=uploaded_by,
                    uploaded_at=now(),
                )
                .returning(EvidenceRow.id)
            ).scalar_one()
        )

    def evidence(self, dispute_id: int) -> list[Evidence]:
        rows = self.connection.execute(
            select(
                EvidenceRow.id,
                EvidenceRow.filename,
                EvidenceRow.sha256,
                EvidenceRow.size,
                EvidenceRow.uploaded_by,
                EvidenceRow.uploaded_at,
            )
            .where(EvidenceRow.dispute_id == dispute_id)
            .order_by(EvidenceRow.id)
        )
        return [Evidence(*r) for r in rows]


_PLACEMENT_COLUMNS = (
    PlacementRow.id,
    PlacementRow.loan_id,
    PlacementRow.agency_id,
    PlacementRow.placed_on,
    PlacementRow.recall_on,
    PlacementRow.commission_rate,
    PlacementRow.status,
    PlacementRow.borrower_id,
    PlacementRow.placed_balance,
    PlacementRow.recalled_on,
    PlacementRow.cause,
)


class AgencyRepository:
    """Outside agencies, the loans placed with them, and the activity they report."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, agency_id: str) -> Agency | None:
        row = self.connection.execute(
            select(
                AgencyRow.id,
                AgencyRow.name,
                AgencyRow.commission_rate,
                AgencyRow.capacity,
                AgencyRow.buckets,
                AgencyRow.placement_days,
            ).where(AgencyRow.id == agency_id)
        ).first()
        return Agency(*row) if row is not None else None

    def all(self) -> list[Agency]:
        """Every agency, by id."""
        rows = self.connection.execute(
            select(
                AgencyRow.id,
                AgencyRow.name,
                AgencyRow.commission_rate,
                AgencyRow.capacity,
                AgencyRow.buckets,
                AgencyRow.placement_days,
            ).order_by(AgencyRow.id)
        )
        return [Agency(*row) for row in rows]

    def add(self, agency: Agency) -> None:
        self.connection.execute(
            insert(AgencyRow).values(
                id=agency.id,
                name=agency.name,
                commission_rate=agency.commission_rate,
                capacity=agency.capacity,
                buckets=agency.buckets,
                placement_days=agency.placement_days,
                created_at=now(),
            )
        )

    def place(
        self,
        loan_id: str,
        agency_id: str,
        placed_on: date,
        recall_on: date,
        commission_rate: str,
        *,
        borrower_id: str | None = None,
        placed_balance: int = 0,
        cause: str = "manual",
    ) -> None:
        """Place a loan with an agency until the recall date (an active placement)."""
        self.connection.execute(
            insert(PlacementRow).values(
                loan_id=loan_id,
                agency_id=agency_id,
                placed_on=placed_on,
                recall_on=recall_on,
                commission_rate=commission_rate,
                status="active",
                created_at=now(),
                borrower_id=borrower_id,
                placed_balance=placed_balance,
                cause=cause,
            )
        )

    def active_placement(self, loan_id: str) -> Placement | None:
        """The loan's first active placement (whatever its dates), or None."""
        row = self.connection.execute(
            select(*_PLACEMENT_COLUMNS)
            .where(PlacementRow.loan_id == loan_id, PlacementRow.status == "active")
            .order_by(PlacementRow.id)
        ).first()
        return Placement(*row) if row is not None else None

    def recall(self, placement_id: int, recalled_on: date | None = None) -> None:
        self.connection.execute(
            update(PlacementRow)
            .where(PlacementRow.id == placement_id)
            .values(status="recalled", recalled_on=recalled_on)
        )

    def holder(self, loan_id: str, today: date) -> str | None:
        """The agency holding the loan today (active and before its recall date), or None."""
        return self.connection.scalar(
            select(PlacementRow.agency_id).where(
                PlacementRow.loan_id == loan_id,
                PlacementRow.status == "active",
                PlacementRow.placed_on <= today,
                PlacementRow.recall_on > today,
            )
        )

    def placed_loans(self, agency_id: str, today: date) -> list[str]:
        """The loans the agency holds today, sorted."""
        return list(
            self.connection.scalars(
                select(PlacementRow.loan_id)
                .where(
                    PlacementRow.agency_id == agency_id,
                    PlacementRow.status == "active",
                    PlacementRow.placed_on <= today,
                    PlacementRow.recall_on > today,
                )
                .order_by(PlacementRow.loan_id)
            )
        )

    def active_placements(self) -> list[Placement]:
        """Every active placement, by id."""
        rows = self.connection.execute(
            select(*_PLACEMENT_COLUMNS).where(PlacementRow.status == "active").order_by(PlacementRow.id)
        )
        return [Placement(*row) for row in rows]

    def placements(self, agency_id: str | None = None, before: date | None = None) -> list[Placement]:
        """Placements (active and recalled) of one agency or all, made before a day when given, by id."""
        query = select(*_PLACEMENT_COLUMNS).order_by(PlacementRow.id)
        if agency_id is not None:
            query = query.where(PlacementRow.agency_id == agency_id)
        if before is not None:
            query = query.where(PlacementRow.placed_on < before)
        return [Placement(*row) for row in self.connection.execute(query)]

    def payments_of(
        self, loan_ids: Sequence[str], start: date, end: date
    ) -> list[tuple[str, str, date, int]]:
        """(loan, payment id, day, amount) of the payments not reversed, start <= day < end, in day order."""
        out: list[tuple[str, str, date, int]] = []
        ids = sorted(set(loan_ids))
        for i in range(0, len(ids), 500):
            rows = self.connection.execute(
                select(PaymentRow.loan_id, PaymentRow.id, PaymentRow.paid_on, PaymentRow.amount).where(
                    PaymentRow.loan_id.in_(ids[i : i + 500]),
                    PaymentRow.reversed_on.is_(None),
                    PaymentRow.paid_on >= start,
                    PaymentRow.paid_on < end,
                )
            )
            out.extend((str(r[0]), str(r[1]), r[2], int(r[3])) for r in rows)
        return sorted(out, key=lambda r: (r[2], r[0], r[1]))

    def add_activity(self, agency_id: str, loan_id: str, kind: str, outcome: str | None, note: str) -> int:
        """Record what an agency reports it did on a loan; its id."""
        return int(
            self.connection.execute(
                insert(AgencyActivityRow)
                .values(agency_id=agency_id, loan_id=loan_id, at=now(), kind=kind, outcome=outcome, note=note)
                .returning(AgencyActivityRow.id)
            ).scalar_one()
        )

    def activity_per_agency(self) -> dict[str, int]:
        """How many activities (contacts) each agency reported."""
        rows = self.connection.execute(
            select(AgencyActivityRow.agency_id, func.count()).group_by(AgencyActivityRow.agency_id)
        )
        return {str(agency_id): int(n) for agency_id, n in rows}


class ApiKeyRepository:
    """Staff and system keys, by the SHA-256 of the key."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, key: ApiKey) -> None:
        self.connection.execute(
            insert(ApiKeyRow).values(
                id=key.id,
                name=key.name,
                role=key.role,
                agency_id=key.agency_id,
                key_hash=key.key_hash,
                skills={"languages": sorted(key.skills.languages), "buckets": sorted(key.skills.buckets)},
                created_at=now(),
            )
        )

    def active(self, key_hash: str) -> ApiKey | None:
        """The key with this hash if it is not revoked, else None."""
        row = self.connection.execute(
            select(ApiKeyRow.id, ApiKeyRow.name, ApiKeyRow.role, ApiKeyRow.agency_id, ApiKeyRow.skills).where(
                ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            return None
        skills: dict[str, Any] = row.skills or {}
        return ApiKey(
            row.id,
            row.name,
            row.role,
            row.agency_id,
            key_hash,
            Skills(frozenset(skills.get("languages", ())), frozenset(skills.get("buckets", ()))),
        )

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id; False if there is no such active key."""
        result = self.connection.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        return bool(result.rowcount)


class WebhookReceiptRepository:
    """Webhooks seen once: the same Idempotency-Key gets the same answer."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, idempotency_key: str) -> WebhookReceipt | None:
        row = self.connection.execute(
            select(WebhookReceiptRow.body_sha256, WebhookReceiptRow.response).where(
                WebhookReceiptRow.idempotency_key == idempotency_key
            )
        ).first()
        return WebhookReceipt(idempotency_key, row[0], row[1]) if row is not None else None

    def add(self, receipt: WebhookReceipt) -> None:
        """Keep the answer (dates and amounts as the JSON text they were sent as)."""
        self.connection.execute(
            insert(WebhookReceiptRow).values(
                idempotency_key=receipt.idempotency_key,
                body_sha256=receipt.body_sha256,
                response=json.loads(json.dumps(receipt.response, default=str)),
                received_at=now(),
            )
        )
