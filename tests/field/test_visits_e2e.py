"""Field visits end to end through the CLI (SQLite and PostgreSQL): the policy's visit step opens a task for
the field team of the borrower's region, inside cn's in-person hours, two agents and a recording required;
the queue masks the address, the visit sheet shows it (audited); the agents' report is a contact attempt the
profile judges: refused without a second agent or at a workplace the borrower asked to avoid, refused at
23:00 (cn.hours), recorded at 15:00; the KPIs count its cost and what the loan paid after it.

    L1 B1 林小华 上海市浦东新区示例路1号 (region 上海): 1000.00 due 2026-01-10, a visit on day 60;
    paid 400.00 on 2026-03-20.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from arrears.adapters.store.dispatch_models import AgentTaskRow
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
LOANS = """loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,address,region,timezone,language
L1,B1,baitiao-30d,CNY,1,2026-01-10,1000.00,0.00,林小华,13800000001,上海市浦东新区示例路1号,上海,Asia/Shanghai,zh-CN
"""
PAYMENTS = "payment_id,loan_id,paid_on,amount\nP1,L1,2026-03-20,400.00\n"
POLICY = """name: visits-e2e
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: field}
ladders:
  field:
    - {id: home_visit, offset: 60, channel: visit, template: agent/visit_sheet, tone: firm}
"""


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    return result


def as_json(result: CliResult) -> Any:
    return json.loads(ok(result).stdout)


def test_a_visit_step_opens_a_task_and_the_report_goes_through_compliance(
    cli: Cli, store_url: str, tmp_path: Path
) -> None:
    for name, text in (("loans.csv", LOANS), ("payments.csv", PAYMENTS), ("policy.yaml", POLICY)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    ok(cli("import", "payments", str(tmp_path / "payments.csv")))
    day = as_json(cli("run", "--as-of", "2026-03-11", "--policy", str(tmp_path / "policy.yaml"), "--json"))
    assert day["field"] == {"visits": 1}

    (visit,) = as_json(cli("visit", "queue", "--json"))
    assert (visit["team"], visit["loan_id"], visit["day"], visit["two_person"], visit["recording"]) == (
        "field-上海", "L1", "2026-03-11", True, True,
    )  # fmt: skip
    # 09:00-18:00 Shanghai time, inside cn's 08:00-22:00 for in-person contact
    assert visit["window"] == ["2026-03-11T01:00:00+00:00", "2026-03-11T10:00:00+00:00"]
    assert visit["address"] != "上海市浦东新区示例路1号" and visit["address"].startswith("上海市")
    # the visit step's row goes to the field team as its task, with the visit sheet (agent/visit_sheet)
    ok(cli("dispatch", "--once", "--dev", "--as-of-time", "2026-03-11T10:00:00+08:00"))
    (row,) = as_json(cli("outbox", "list", "--channel", "visit", "--json"))
    shown = as_json(cli("outbox", "show", str(row["id"]), "--json"))
    assert [(t["reason"], t["status"]) for t in shown["agent_tasks"]] == [("visit", "open")]
    with UnitOfWork(store_url) as uow:
        (script,) = uow.connection.execute(select(AgentTaskRow.script)).scalars().all()
    assert "一、出发之前" in script and "已逾期60天" in script and "两人同行" in script
    assert "外呼话术" not in script  # not the call centre's script
    sheet = as_json(cli("visit", "sheet", str(visit["id"]), "--json"))
    assert (sheet["address"], sheet["name"]) == ("上海市浦东新区示例路1号", "林小华")

    vid = str(visit["id"])
    one = cli("visit", "record", vid, "--outcome", "met", "--agents", "张工", "--recording", "REC-1",
              "--at", "2026-03-11T15:00:00+08:00")  # fmt: skip
    assert one.code == 2 and "two field agents" in one.stderr + one.stdout
    ok(cli("borrower", "flag", "B1", "--set", "employer_prohibits_contact", "--by", "agent", "--reason", "asked",
           "--effective-at", "2026-03-01T09:00:00+08:00"))  # fmt: skip
    work = cli("visit", "record", vid, "--outcome", "met", "--agents", "张工,李工", "--recording", "REC-1",
               "--place", "workplace", "--at", "2026-03-11T15:00:00+08:00")  # fmt: skip
    assert work.code == 2 and "at work" in work.stderr + work.stdout
    late = cli("visit", "record", vid, "--outcome", "met", "--agents", "张工,李工", "--recording", "REC-1",
               "--at", "2026-03-11T23:00:00+08:00")  # fmt: skip
    assert late.code == 1 and "cn.hours" in late.stdout
    done = as_json(
        cli("visit", "record", vid, "--outcome", "promise_to_pay", "--agents", "张工,李工", "--recording", "REC-1",
            "--cost", "120.00", "--at", "2026-03-11T15:00:00+08:00", "--json")
    )  # fmt: skip
    assert done == {"visit": visit["id"], "status": "done", "contact_outcome": "met", "cost": "120.00"}
    assert as_json(cli("visit", "queue", "--json")) == []

    kpis = as_json(cli("kpi", "--from", "2026-03-01", "--to", "2026-03-31", "--json"))
    assert kpis["visits"] == {
        "visits": 1, "met": 1, "cost": "120.00", "recovered_30d": "400.00",
        "cost_per_visit": "120.00", "recovery_per_visit": "400.00",
    }  # fmt: skip
    table = ok(cli("kpi", "--from", "2026-03-01", "--to", "2026-03-31")).stdout
    assert "Litigation and field visits" in table and "visits: cost per visit" in table
