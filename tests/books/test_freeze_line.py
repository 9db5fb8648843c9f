"""The policy's freeze_line step through the production run and dispatcher (SQLite and PostgreSQL): the run
freezes the line and the step goes out as the SMS that tells the borrower (judged by the SMS rules, sent
through the SMS gateway on 127.0.0.1); a loan under no line has nothing to freeze and nothing is said; when
every loan under the line is cured the next run unfreezes it and the borrower is told.

Two 白条 purchases of ¥800.00 due 2026-03-20, borrowers in Shanghai; only B1's is under a line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from arrears.domain.credit_lines import CreditLine
from arrears.services.unit_of_work import UnitOfWork
from tests.run.conftest import World, literal_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOANS = """\
L1,B1,baitiao-30d,CNY,1,2026-03-20,800.00,,张一,13800000001,b1@example.cn,Asia/Shanghai,zh-CN
L2,B2,baitiao-30d,CNY,1,2026-03-20,800.00,,李二,13800000002,b2@example.cn,Asia/Shanghai,zh-CN
"""
POLICY = """\
name: freeze
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: steps}
ladders:
  steps:
    - {id: freeze, offset: 10, channel: freeze_line, template: sms/line_frozen, tone: firm}
"""


def test_the_freeze_step_freezes_the_line_and_tells_the_borrower_by_sms(
    scenario: Callable[..., World], tmp_path: Path
) -> None:
    world = scenario(LOANS, literal_policy(POLICY, tmp_path))
    with UnitOfWork(world.url) as uow:
        uow.credit_lines.upsert(CreditLine("LN1", "B1", "CNY", 300_000))
        uow.credit_lines.attach("LN1", ["L1"])
        uow.commit()
    summary = world.run(date(2026, 3, 30))
    assert summary.counts["books"]["lines_frozen"] == 1
    assert [(r.loan_id, r.step_id, r.channel, r.status, r.last_error) for r in world.outbox()] == [
        ("L1", "freeze", "freeze_line", "pending", None),
        ("L2", "freeze", "freeze_line", "cancelled", "no credit line to freeze"),
    ]
    world.dispatch(datetime(2026, 3, 30, 11, tzinfo=SHANGHAI))
    sent = world.http.by_path("/sms")
    assert len(sent) == 1
    text = str(sent[0]["body"])
    assert "13800000001" in text and "信用额度已暂停使用" in text and "逾期10天" in text
    assert [(a.loan_id, a.channel) for a in world.attempts()] == [("L1", "sms")]
    with UnitOfWork(world.url) as uow:
        line = uow.credit_lines.get("LN1")
        assert line is not None and (line.status, line.frozen_on) == ("frozen", date(2026, 3, 30))

    world.pay("L1", date(2026, 3, 31), 80_000 + 4_400, "P1")  # ¥800.00 and 11 days × ¥0.40 of late fee
    summary = world.run(date(2026, 3, 31))
    assert summary.counts["books"]["lines_unfrozen"] == 1
    notice = world.outbox(step_id="line_unfrozen")
    assert [(r.loan_id, r.channel, r.template, r.status) for r in notice] == [
        ("L1", "sms", "sms/line_unfrozen", "pending")
    ]
    world.dispatch(datetime(2026, 3, 31, 11, tzinfo=SHANGHAI))
    assert any("信用额度已恢复使用" in str(d["body"]) for d in world.http.by_path("/sms"))
    with UnitOfWork(world.url) as uow:
        line = uow.credit_lines.get("LN1")
        assert line is not None and line.status == "active"
