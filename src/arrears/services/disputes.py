"""Disputes and complaints: open (pausing collection where the category says so), attach evidence,
acknowledge, resolve; SLA state; complaint rates by channel, agent and agency."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import holidays

from arrears.domain.casework_records import DisputeRecord
from arrears.domain.disputes import RESOLUTIONS, SlaPolicy, category, sla_state
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Pause
from arrears.domain.records import AccountEvent
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
    dispute_id = uow.disputes.add(
        kind=cat.kind,
        category=cat.name,
        loan_id=loan_id,
        borrower_id=record.borrower_id,
        description=description,
        opened_on=opened_on,
        ack_by=ack_by,
        resolve_by=resolve_by,
        pause_id=pause_id,
        created_by=actor,
        channel=channel,
        agent=agent,
        agency_id=agency_id,
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


def _dispute(uow: UnitOfWork, dispute_id: int) -> DisputeRecord:
    record = uow.disputes.get(dispute_id)
    if record is None:
        raise NotFound(f"unknown dispute or complaint {dispute_id}")
    return record


def dispute_view(uow: UnitOfWork, dispute_id: int, today: date | None = None) -> dict[str, Any]:
    """The dispute or complaint with its SLA state on `today` (default: today) and its evidence."""
    record = _dispute(uow, dispute_id)
    out = asdict(record)
    out["sla"] = sla_state(
        record.ack_by,
        record.resolve_by,
        record.acknowledged_at,
        record.resolved_on,
        today or datetime.now(UTC).date(),
    )
    out["evidence"] = [asdict(e) for e in uow.disputes.evidence(dispute_id)]
    return out


def acknowledge(uow: UnitOfWork, dispute_id: int, actor: str) -> dict[str, Any]:
    record = _dispute(uow, dispute_id)
    if record.status != "open":
        raise InputError(f"it is {record.status}, not open", field="status")
    uow.disputes.acknowledge(dispute_id, _now())
    audit.append(uow, actor, f"{record.kind}.acknowledge", f"loan:{record.loan_id}", {"id": dispute_id})
    return dispute_view(uow, dispute_id)


def resolve(
    uow: UnitOfWork, dispute_id: int, resolution: str, resolved_on: date, actor: str
) -> dict[str, Any]:
    """Resolve; the pause (if any) ends and a dispute_closed event is written."""
    if resolution not in RESOLUTIONS:
        raise InputError(
            f"unknown resolution {resolution!r} (one of {', '.join(RESOLUTIONS)})", field="resolution"
        )
    record = _dispute(uow, dispute_id)
    if record.status in ("resolved", "rejected"):
        raise InputError(f"it is already {record.status}", field="status")
    now = _now()
    uow.disputes.resolve(dispute_id, resolution, resolved_on, now, record.acknowledged_at or now)
    if record.pause_id is not None:
        uow.loans.end_pause(record.pause_id, resolved_on)
        uow.events.add(
            AccountEvent(
                f"dispute:{dispute_id}:closed",
                record.loan_id,
                "dispute_closed",
                resolved_on,
                detail={"dispute_id": dispute_id, "resolution": resolution},
            )
        )
    audit.append(
        uow,
        actor,
        f"{record.kind}.resolve",
        f"loan:{record.loan_id}",
        {"id": dispute_id, "resolution": resolution},
    )
    return dispute_view(uow, dispute_id, resolved_on)


def attach_evidence(
    uow: UnitOfWork, dispute_id: int, filename: str, content: bytes, data_dir: Path, actor: str
) -> dict[str, Any]:
    """Store a file under data_dir/evidence/<sha256> (content-addressed) and record its hash."""
    _dispute(uow, dispute_id)
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
    evidence_id = uow.disputes.add_evidence(dispute_id, name, digest, len(content), str(target), actor)
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
    uow: UnitOfWork,
    *,
    loan_ids: list[str] | None = None,
    kind: str | None = None,
    today: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The disputes and complaints in the order opened; `limit` of them (all when None) from `offset`."""
    ids = uow.disputes.ids(loan_ids=loan_ids, kind=kind)
    window = ids[offset:] if limit is None else ids[offset : offset + limit]
    return [dispute_view(uow, i, today) for i in window]


def complaint_rates(uow: UnitOfWork) -> dict[str, list[dict[str, Any]]]:
    """Complaints per 10,000 contacts by channel (sent outbox actions), agent (case notes) and agency
    (reported activity). A group with complaints but no recorded contacts shows rate null."""
    complaints = uow.disputes.complaint_sources()
    contacts = {
        "channel": Counter(uow.loan_actions.sent_per_channel()),
        "agent": Counter(uow.cases.notes_per_author()),
        "agency": Counter(uow.agencies.activity_per_agency()),
    }
    whom = {
        "channel": [c.channel for c in complaints],
        "agent": [c.agent for c in complaints],
        "agency": [c.agency_id for c in complaints],
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for dimension in ("channel", "agent", "agency"):
        counted = Counter(key for key in whom[dimension] if key is not None)
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
