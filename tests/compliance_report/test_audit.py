"""Every decision and contact is audited: a daily run and a dispatch leave a chain that verifies, the report
replays the dispatcher's history without a violation, and a changed contact row is detected."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from sqlalchemy import create_engine, func, select

from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.services import audit
from arrears.services.compliance_report import compliance_report
from arrears.services.dispatch import dispatch
from arrears.services.unit_of_work import UnitOfWork
from tests.dispatch.conftest import AS_OF, World
from tests.store.test_audit import _tamper


def _scalar(url: str, query: object) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(query).scalar_one()  # type: ignore[call-overload]
    finally:
        engine.dispose()


def test_run_and_dispatch_are_audited_and_a_changed_contact_row_is_found(world: World) -> None:
    with UnitOfWork(world.url) as uow:
        rows = audit.entries(uow)
    actions = Counter(r.action for r in rows)
    blocked_at_run = len(world.rows(status="blocked"))
    (run,) = [r for r in rows if r.action == "compliance.run"]
    assert run.subject.startswith("run:") and run.detail["profile"] == "cn"
    assert run.detail["actions"] == len(world.rows())
    assert run.detail["statuses"] == dict(sorted(Counter(r.status for r in world.rows()).items()))
    assert actions["compliance.blocked"] == blocked_at_run

    report = dispatch(world.dispatcher())
    attempts = _scalar(world.url, select(func.count()).select_from(ContactAttemptRow))
    assert report.outcomes["sent"] > 0 and attempts > 0
    with UnitOfWork(world.url) as uow:
        verdict = audit.verify(uow)
        rows = audit.entries(uow)
        contacts = [r for r in rows if r.action == "contact"]
        # The dispatcher's own history replays clean: it never made a contact the rules forbid.
        replay = compliance_report(uow, world.profile, AS_OF, AS_OF + timedelta(days=1))
    assert verdict.ok and verdict.count == len(rows)
    assert len(contacts) == attempts
    assert replay.replayed == attempts and replay.violations == []
    assert replay.decisions["allowed"] == len(
        [r for r in world.rows() if r.status in ("pending", "sent", "failed", "dead")]
    )
    sms = next(r for r in contacts if r.detail["channel"] == "sms")
    assert set(sms.detail) == {"outbox_id", "channel", "outcome", "target", "message_type", "at", "rules"}
    assert "****" in sms.detail["target"]  # masked: 138****5678
    # No phone number in full anywhere in the log.
    assert not re.search(r"1\d{10}", json.dumps([r.detail for r in rows], ensure_ascii=False))
    assert (
        _scalar(world.url, select(OutboxRow.status).where(OutboxRow.id == sms.detail["outbox_id"])) == "sent"
    )

    # Someone with write access drops the append-only guard and rewrites the call's outcome.
    if world.url.startswith("postgresql"):
        edit = "detail = jsonb_set(detail, '{outcome}', '\"no_answer\"')"
    else:
        edit = "detail = json_set(detail, '$.outcome', 'no_answer')"
    _tamper(world.url, f"UPDATE audit_log SET {edit} WHERE seq = {sms.seq}")
    with UnitOfWork(world.url) as uow:
        broken = audit.verify(uow)
    assert (broken.ok, broken.bad_seq, broken.reason) == (
        False,
        sms.seq,
        f"row {sms.seq} was changed (hash mismatch)",
    )
    assert broken.count == sms.seq - 1
