"""End to end through the CLI (SQLite and PostgreSQL): an account rolls to M7+ and `arrears run` charges it
off with balancing postings, the delinquency history records each change, the events reach a signed webhook
on 127.0.0.1, a payment after the charge-off is a recovery, and the KPIs report both apart.

One 白条 30-day purchase of ¥800.00 due 2025-07-01 (grace 3 days, late fee 0.05 % a day = ¥0.40), a second
borrower's ¥500.00 due 2025-12-10 under a credit line that the policy's freeze step freezes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arrears.domain.outbound_events import SIGNATURE_HEADER, verify
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork
from tests.books.receiver import receiver
from tests.conftest import CliResult

SECRET = "a-test-secret-of-some-length"
LOANS = """\
loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,email,timezone,language
L1,B1,baitiao-30d,CNY,1,2025-07-01,800.00,,张一,13800000001,b1@example.cn,Asia/Shanghai,zh-CN
L3,B3,baitiao-30d,CNY,1,2025-12-10,500.00,,王三,13800000003,b3@example.cn,Asia/Shanghai,zh-CN
"""
LINES = """\
line_id,borrower_id,currency,limit,loan_ids
LN3,B3,CNY,2000.00,L3
"""
POLICY = """\
name: books-test
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: steps}
ladders:
  steps:
    - {id: remind, channel: sms, template: sms/reminder, tone: regular, offset: 5}
    - {id: freeze, channel: freeze_line, template: sms/line_frozen, tone: firm, offset: 10}
"""
PAYMENTS = """\
payment_id,loan_id,paid_on,amount,reverses,source
P1,L1,2026-01-05,100.00,,app
P3,L3,2026-01-05,600.00,,app
"""


def ok(result: CliResult) -> str:
    assert result.code == 0, result.stderr
    return result.stdout


@pytest.fixture
def store(store_url: str, tmp_path: Path, cli: Callable[..., CliResult]) -> Path:
    for name, text in (("loans.csv", LOANS), ("lines.csv", LINES), ("policy.yaml", POLICY)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    assert json.loads(ok(cli("import", "lines", str(tmp_path / "lines.csv"), "--json"))) == {
        "lines_added": 1,
        "lines_updated": 0,
        "loans_attached": 1,
    }
    return tmp_path


def test_an_account_at_m7_is_charged_off_by_the_run_and_a_later_payment_is_a_recovery(
    store: Path, store_url: str, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = str(store / "policy.yaml")
    day = json.loads(ok(cli("run", "--as-of", "2025-12-20", "--policy", policy, "--json")))
    assert day["books"]["lines_frozen"] == 1  # L3 is 10 days past due: its line is frozen
    line = json.loads(ok(cli("lines", "show", "LN3", "--as-of", "2025-12-20", "--json")))
    assert (line["status"], line["frozen_on"], line["used"], line["available"]) == (
        "frozen",
        "2025-12-20",
        "500.00",
        "0.00",
    )
    days = json.loads(
        ok(cli("run", "--as-of", "2025-12-28", "--through", "2025-12-29", "--policy", policy, "--json"))
    )
    assert [d["books"]["charged_off"] for d in days] == [0, 1]  # DPD 180, then 181: M7+

    books = json.loads(ok(cli("books", "show", "L1", "--json")))
    assert (books["charged_off_on"], books["dpd"], books["status"]) == ("2025-12-29", 181, "charged_off")
    # 181 days × ¥0.40 of late fee (grace passed unpaid: counted from the first overdue day)
    assert books["written_off"] == {
        "principal": "800.00",
        "interest": "0.00",
        "fees": "0.00",
        "late_fee": "72.40",
        "total": "872.40",
    }
    assert books["transactions"] == [
        {
            "on": "2025-12-29",
            "kind": "charge_off",
            "ref": "charge_off",
            "entries": [
                {"account": "written_off.principal", "amount": "800.00"},
                {"account": "receivable.principal", "amount": "-800.00"},
                {"account": "written_off.late_fee", "amount": "72.40"},
                {"account": "receivable.late_fee", "amount": "-72.40"},
            ],
        }
    ]
    with UnitOfWork(store_url) as uow:  # the charge-off is in the audit log, by the daily run
        logged = [(e.actor, e.action, e.detail) for e in audit.entries(uow, subject="loan:L1")]
    assert (
        "daily-run",
        "books.charge_off",
        {"on": "2025-12-29", "dpd": 181, "written_off": 87_240},
    ) in logged
    history = json.loads(ok(cli("account", "history", "L1", "--json")))
    assert [(h["on"], h["change"], h["from"], h["to"], h["dpd"]) for h in history] == [
        ("2025-12-20", "bucket", None, "M6", 172),
        ("2025-12-29", "bucket", "M6", "M7+", 181),
        ("2025-12-29", "charge_off", "M6", "M7+", 181),
    ]
    again = json.loads(ok(cli("run", "--as-of", "2025-12-29", "--policy", policy, "--json")))
    assert again["books"]["delinquency_changes"] == 0 and again["books"]["events"] == 0  # idempotent

    with receiver() as hook:
        monkeypatch.setenv("ARREARS_EVENTS_URL", hook.url)
        refused = cli("events", "deliver")
        assert refused.code == 2 and "events.secret" in refused.stderr  # no default secret
        monkeypatch.setenv("ARREARS_EVENTS_SECRET", SECRET)
        hook.fail_next = 1  # the first POST is answered 503: that event waits for its retry
        report = json.loads(ok(cli("events", "deliver", "--json")))
        assert report == {"delivered": 4, "retried": 1, "dead": 0}
        bodies = [json.loads(body) for _, body in hook.received]
        for headers, body in hook.received:
            assert verify(SECRET, body, headers[SIGNATURE_HEADER], datetime.now(UTC))
            assert not verify("another-secret-entirely", body, headers[SIGNATURE_HEADER], datetime.now(UTC))
    charged = [b for b in bodies if b["type"] == "account.charged_off"]
    assert charged == [
        {
            "id": "account.charged_off:L1:2025-12-29:charge_off",
            "type": "account.charged_off",
            "on": "2025-12-29",
            "data": {
                "loan_id": "L1",
                "borrower_id": "B1",
                "on": "2025-12-29",
                "change": "charge_off",
                "from_bucket": "M6",
                "to_bucket": "M7+",
                "dpd": 181,
                "cause": "charged off at 181 days past due",
            },
        }
    ]
    pending = json.loads(ok(cli("events", "list", "--status", "pending", "--json")))
    assert [(e["attempts"], e["last_error"].endswith("HTTP 503")) for e in pending] == [(1, True)]

    (store / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    ok(cli("import", "payments", str(store / "payments.csv")))
    day = json.loads(ok(cli("run", "--as-of", "2026-01-05", "--policy", policy, "--json")))
    assert (day["books"]["recoveries"], day["books"]["lines_unfrozen"]) == (1, 1)
    books = json.loads(ok(cli("books", "show", "L1", "--json")))
    # ¥100.00 after the charge-off, oldest first: the ¥72.40 written-off late fee, ¥2.80 of late fee charged
    # since (7 days), then ¥24.80 of principal
    assert books["transactions"][-1] == {
        "on": "2026-01-05",
        "kind": "recovery",
        "ref": "payment:P1",
        "entries": [
            {"account": "cash", "amount": "100.00"},
            {"account": "recovered.principal", "amount": "-24.80"},
            {"account": "recovered.late_fee", "amount": "-72.40"},
            {"account": "recovery_income.late_fee", "amount": "-2.80"},
        ],
    }
    assert sum(float(v) for v in books["balances"].values()) == pytest.approx(0)
    assert (
        json.loads(ok(cli("lines", "show", "LN3", "--as-of", "2026-01-05", "--json")))["status"] == "active"
    )
    assert [h["change"] for h in json.loads(ok(cli("account", "history", "L3", "--json")))] == [
        "bucket",
        "cure",
    ]

    kpis = json.loads(ok(cli("kpi", "--from", "2025-12-01", "--to", "2026-01-31", "--json")))
    assert kpis["charge_off"] == {
        "charged_off_accounts": 1,
        "gross_charge_off": "872.40",
        "recoveries": "100.00",
        "net_charge_off": "772.40",
        "charge_offs_reversed": 0,
        "charged_off_recovery_rate": pytest.approx(10000 / 87240),
    }
