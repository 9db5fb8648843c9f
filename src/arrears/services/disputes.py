"""Disputes and complaints: open (pausing collection where the category says so), attach evidence,
acknowledge, resolve; SLA state; complaint rates by channel, agent and agency."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import holidays
from sqlalchemy import func, insert, select, update

from arrears.adapters.store.casework_models import AgencyActivityRow, CaseNoteRow, DisputeRow, EvidenceRow
from arrears.adapters.store.records import AccountEvent
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.disputes import RESOLUTIONS, SlaPolicy, category, sla_state
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Pause
from arrears.services import audit
from arrears.services.promises import cancel_unsent
from arrears.services.unit_of_work import UnitOfWork

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


def business_holidays(year: int) -> set[date]:
    """Mainland China public holidays of a year and the next (the SLA clock skips them)."""
    return set(holidays.country_holidays("CN", years=[year, year + 1]).keys())


def open_dispute(
    uow: UnitOfWork,
    loan_id: str,
    kind: str,
    category_name: str,
    description: str,
    opened_on: date,
    sla: SlaPolicy,
    actor: str,
    *,
    channel: str | None = None,
    agent: str | None = None,
    agency_id: str | None = None,
) -> dict[str, Any]:
    """Open a dispute or complaint; a pausing category pauses the loan and cancels its unsent actions."""
    cat = category(category_name, kind)
    if not description.strip():
        raise InputError("say what the dispute or complaint is about", field="description")
    record = uow.loans.record(loan_id)
    ack_by, resolve_by = sla.deadlines(opened_on, business_holidays(opened_on.year))
    pause_id = uow.loans.add_pause(loan_id, Pause(opened_on, None, cat.name)) if cat.pauses else None
    dispute_id = int(
        uow.connection.execute(
            insert(DisputeRow)
            .values(
                kind=cat.kind,
                category=cat.name,
                loan_id=loan_id,
                borrower_id=record.borrower_id,
                channel=channel,
                agent=agent,
                agency_id=agency_id,
                status="open",
                description=description,
                opened_on=opened_on,
                ack_by=ack_by,
                resolve_by=resolve_by,
                pause_id=pause_id,
                created_by=actor,
                created_at=_now(),
            )
            .returning(DisputeRow.id)
        ).scalar_one()
    )
    if cat.event is not None:
        uow.events.add(
            AccountEvent(
                f"dispute:{dispute_id}:opened",
                loan_id,
                cat.event,
                opened_on,
                detail={"dispute_id": dispute_id, "category": cat.name},
            )
        )
    if cat.pauses:
        cancel_unsent(uow, loan_id, f"{cat.kind} {dispute_id} open")
    audit.append(uow, actor, f"{cat.kind}.open", f"loan:{loan_id}", {"id": dispute_id, "category": cat.name})
    return dispute_view(uow, dispute_id, opened_on)


def dispute_view(uow: UnitOfWork, dispute_id: int, today: date | None = None) -> dict[str, Any]:
    row = uow.connection.execute(select(DisputeRow).where(DisputeRow.id == dispute_id)).mappings().first()
    if row is None:
        raise NotFound(f"unknown dispute or complaint {dispute_id}")
    out = dict(row)
    out["sla"] = sla_state(
        row["ack_by"],
        row["resolve_by"],
        row["acknowledged_at"],
        row["resolved_on"],
        today or datetime.now(UTC).date(),
    )
    out["evidence"] = [
        dict(e)
        for e in uow.connection.execute(
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
        ).mappings()
    ]
    return out


def acknowledge(uow: UnitOfWork, dispute_id: int, actor: str) -> dict[str, Any]:
    view = dispute_view(uow, dispute_id)
    if view["status"] != "open":
        raise InputError(f"it is {view['status']}, not open", field="status")
    uow.connection.execute(
        update(DisputeRow)
        .where(DisputeRow.id == dispute_id)
        .values(status="acknowledged", acknowledged_at=_now())
    )
    audit.append(uow, actor, f"{view['kind']}.acknowledge", f"loan:{view['loan_id']}", {"id": dispute_id})
    return dispute_view(uow, dispute_id)


def resolve(
    uow: UnitOfWork, dispute_id: int, resolution: str, resolved_on: date, actor: str
) -> dict[str, Any]:
    """Resolve; the pause (if any) ends and a dispute_closed event is written."""
    if resolution not in RESOLUTIONS:
        raise InputError(
            f"unknown resolution {resolution!r} (one of {', '.join(RESOLUTIONS)})", field="resolution"
        )
    view = dispute_view(uow, dispute_id)
    if view["status"] in ("resolved", "rejected"):
        raise InputError(f"it is already {view['status']}", field="status")
    now = _now()
    uow.connection.execute(
        update(DisputeRow)
        .where(DisputeRow.id == dispute_id)
        .values(
            status="resolved",
            resolution=resolution,
            resolved_at=now,
            resolved_on=resolved_on,
            acknowledged_at=view["acknowledged_at"] or now,
        )
    )
    if view["pause_id"] is not None:
        uow.loans.end_pause(view["pause_id"], resolved_on)
        uow.events.add(
            AccountEvent(
                f"dispute:{dispute_id}:closed",
                view["loan_id"],
                "dispute_closed",
                resolved_on,
                detail={"dispute_id": dispute_id, "resolution": resolution},
            )
        )
    audit.append(
        uow,
        actor,
        f"{view['kind']}.resolve",
        f"loan:{view['loan_id']}",
        {"id": dispute_id, "resolution": resolution},
    )
    return dispute_view(uow, dispute_id, resolved_on)


def attach_evidence(
    uow: UnitOfWork, dispute_id: int, filename: str, content: bytes, data_dir: Path, actor: str
) -> dict[str, Any]:
    """Store a file under data_dir/evidence/<sha256> (content-addressed) and record its hash."""
    dispute_view(uow, dispute_id)
    name = Path(filename).name
    if not name or name in (".", ".."):
        raise InputError("the evidence needs a file name", field="filename")
    if not content:
        raise InputError("the evidence file is empty", field="body")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise InputError(f"the evidence file is over {MAX_EVIDENCE_BYTES} bytes", field="body")
    digest = hashlib.sha256(content).hexdigest()
    folder = data_dir / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        target.write_bytes(content)
    evidence_id = int(
        uow.connection.execute(
            insert(EvidenceRow)
            .values(
                dispute_id=dispute_id,
                filename=name,
                sha256=digest,
                size=len(content),
                stored_path=str(target),
                uploaded_by=actor,
                uploaded_at=_now(),
            )
            .returning(EvidenceRow.id)
        ).scalar_one()
    )
    audit.append(
        uow, actor, "evidence.attach", f"dispute:{dispute_id}", {"evidence_id": evidence_id, "sha256": digest}
    )
    return {
        "id": evidence_id,
        "dispute_id": dispute_id,
        "filename": name,
        "sha256": digest,
        "size": len(content),
    }


def list_disputes(
    uow: UnitOfWork, *, loan_ids: list[str] | None = None, kind: str | None = None, today: date | None = None
) -> list[dict[str, Any]]:
    q = select(DisputeRow.id).order_by(DisputeRow.id)
    if loan_ids is not None:
        q = q.where(DisputeRow.loan_id.in_(loan_ids))
    if kind is not None:
        q = q.where(DisputeRow.kind == kind)
    return [dispute_view(uow, i, today) for i in uow.connection.scalars(q)]


def complaint_rates(uow: UnitOfWork) -> dict[str, list[dict[str, Any]]]:
    """Complaints per 10,000 contacts by channel (sent outbox actions), agent (case notes) and agency
    (reported activity). A group with complaints but no recorded contacts shows rate null."""
    c = uow.connection
    complaints = c.execute(
        select(DisputeRow.channel, DisputeRow.agent, DisputeRow.agency_id).where(
            DisputeRow.kind == "complaint"
        )
    ).all()
    contacts = {
        "channel": Counter(
            dict(
                c.execute(
                    select(OutboxRow.channel, func.count())
                    .where(OutboxRow.status == "sent")
                    .group_by(OutboxRow.channel)
                ).all()
            )
        ),
        "agent": Counter(
            dict(c.execute(select(CaseNoteRow.author, func.count()).group_by(CaseNoteRow.author)).all())
        ),
        "agency": Counter(
            dict(
                c.execute(
                    select(AgencyActivityRow.agency_id, func.count()).group_by(AgencyActivityRow.agency_id)
                ).all()
            )
        ),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for index, dimension in enumerate(("channel", "agent", "agency")):
        counted = Counter(row[index] for row in complaints if row[index] is not None)
        keys = sorted(set(counted) | set(contacts[dimension]))
        out[dimension] = [
            {
                dimension: key,
                "complaints": counted[key],
                "contacts": contacts[dimension][key],
                "per_10k": round(counted[key] * 10_000 / contacts[dimension][key], 1)
                if contacts[dimension][key]
                else None,
            }
            for key in keys
        ]
    return out
