"""The payment event reads the borrower's accounts once, in a few statements, and goes on from what it read
(SQLite and PostgreSQL): a statement count pinned by an upper bound, through the service and through the
signed webhook, and a property test that what the event keeps in memory is what the store then holds."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st
from sqlalchemy import event, insert

from arrears.adapters.store import open_store
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.plans import PlanTerms
from arrears.entrypoints.api import create_app
from arrears.services import audit, plans
from arrears.services.cases import CaseworkConfig, refresh_case
from arrears.services.imports import import_loans
from arrears.services.payments import record_payment
from arrears.services.promises import make_promise
from arrears.services.unit_of_work import UnitOfWork

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from payment_event import build

CFG = CaseworkConfig(webhook_secret="test-webhook-secret")
# Before the accounts were read once: 37 statements per event (the loan loaded four times, 5 statements
# each); now 12 on SQLite (BEGIN included) and 13 on PostgreSQL (the audit lock).
SERVICE_BOUND = 14
# The webhook adds the Idempotency-Key look-up and its receipt (PostgreSQL: the request's time budget).
WEBHOOK_BOUND = 17


@contextmanager
def statements(url: str) -> Iterator[list[str]]:
    """The SQL statements run on the store at `url` inside the block."""
    seen: list[str] = []
    engine = open_store(url)

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _reads_of(table: str, seen: list[str]) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT") and re.search(rf"\b{table}\b", s))


def test_a_payment_event_reads_the_loan_once_in_a_few_statements(store_url: str) -> None:
    build(store_url, 3)  # three instalments, a pending promise and two pending outbox rows per loan
    for n in range(3):
        with statements(store_url) as seen, UnitOfWork(store_url) as uow:
            out = record_payment(uow, f"L{n:06d}", f"P{n}", date(2026, 1, 22), 60_000, CFG, actor="test")
            uow.commit()
        assert out.recorded and out.promises and out.cancelled_actions == 2 and out.case is not None
        assert len(seen) <= SERVICE_BOUND, "\n".join(seen)
        assert _reads_of("instalments", seen) == 1, "\n".join(seen)  # the ledger read once
        assert _reads_of("cases", seen) == 1


def _signed(body: dict[str, str], key: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    signature = hmac.new(CFG.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Signature": f"sha256={signature}", "Idempotency-Key": key}


def test_a_payment_webhook_runs_a_few_statements_and_a_replay_fewer(store_url: str) -> None:
    build(store_url, 2)
    with TestClient(create_app(store_url, CFG)) as api:
        body = {"payment_id": "P1", "loan_id": "L000001", "paid_on": "2026-01-22", "amount": "600.00"}
        raw, headers = _signed(body, "k1")
        with statements(store_url) as seen:
            first = api.post("/webhooks/payments", content=raw, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["recorded"] is True and first.json()["replayed"] is False
        assert len(seen) <= WEBHOOK_BOUND, "\n".join(seen)
        assert _reads_of("instalments", seen) == 1, "\n".join(seen)
        # The audit entry is the last write, after the receipt: the audit lock waits only on the commit.
        writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
        assert "INTO audit_log" in writes[-1], "\n".join(writes)
        assert any("INTO webhook_receipts" in s for s in writes[:-1]), "\n".join(writes)
        with statements(store_url) as seen:
            again = api.post("/webhooks/payments", content=raw, headers=headers)
        assert again.json() == {**first.json(), "replayed": True}
        assert _reads_of("instalments", seen) == 0  # a replay answers from its receipt
    with UnitOfWork(store_url) as uow:
        logged = audit.entries(uow, subject="loan:L000001")
    assert [(e.action, e.actor, e.detail) for e in logged if e.action == "payment.record"] == [
        ("payment.record", "system:payment-webhook", {"payment_id": "P1", "amount": 60000})
    ]


# --- what the event keeps in memory is what the store holds afterwards --------------------------------

_DUES = ("2026-01-10", "2026-02-10", "2026-03-10")
_ids = itertools.count()


def _borrower(url: str, loans: int) -> tuple[str, list[str]]:
    """A new borrower with `loans` loans of three 1000.00 instalments; (borrower id, loan ids)."""
    n = next(_ids)
    borrower, ids = f"B{n}", [f"L{n}-{k}" for k in range(loans)]
    rows = [(i, seq, due) for i in ids for seq, due in enumerate(_DUES, start=1)]
    table = {
        "loan_id": [r[0] for r in rows],
        "borrower_id": [borrower] * len(rows),
        "product": ["baitiao-3"] * len(rows),
        "currency": ["CNY"] * len(rows),
        "seq": [str(r[1]) for r in rows],
        "due_date": [r[2] for r in rows],
        "principal": ["1000.00"] * len(rows),
    }
    with UnitOfWork(url) as uow:
        import_loans(uow, pa.table({k: pa.array(v, pa.string()) for k, v in table.items()}), actor="test")
    return borrower, ids


def _outbox(uow: UnitOfWork, loan_id: str, borrower_id: str) -> None:
    at = datetime(2026, 1, 12, tzinfo=UTC)
    uow.connection.execute(
        insert(OutboxRow).values(
            idempotency_key=f"{loan_id}:x",
            run_id="r",
            loan_id=loan_id,
            borrower_id=borrower_id,
            as_of=date(2026, 1, 12),
            kind="contact",
            step_id="s",
            channel="sms",
            template="t",
            tone="regular",
            segment="x",
            status="pending",
            created_at=at,
            updated_at=at,
        )
    )


def _without_times(case: dict[str, object] | None) -> dict[str, object] | None:
    return None if case is None else {k: v for k, v in case.items() if k != "updated_at"}


scenario = st.fixed_dictionaries(
    {
        "loans": st.integers(1, 3),
        "promise_on": st.sampled_from([None, "paid", "paid", "other"]),  # which loan has a pending promise
        "promise_amount": st.integers(1, 300_000),
        "promise_due": st.integers(0, 40),  # days after 2026-01-12
        "plan": st.booleans(),  # an extension plan on the paid loan
        "earlier": st.lists(st.integers(1, 150_000), max_size=2),  # payments already booked
        "amount": st.integers(1, 400_000) | st.just(350_000),
        "paid": st.integers(5, 120),  # days after 2026-01-01 (the first instalment is due on the 10th)
        "case_first": st.booleans(),  # the borrower's case exists before the payment
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=scenario)
def test_what_the_payment_event_keeps_in_memory_is_what_the_store_holds(store_url: str, s: dict) -> None:
    borrower, ids = _borrower(store_url, s["loans"])
    paid_loan = ids[-1]
    made = date(2026, 1, 12)
    paid_on = date(2026, 1, 1) + timedelta(days=s["paid"])
    with UnitOfWork(store_url) as uow:
        for n, amount in enumerate(s["earlier"]):
            record_payment(uow, paid_loan, f"{paid_loan}-E{n}", date(2026, 1, 5 + n), amount, CFG, actor="t")
        for loan_id in ids:
            _outbox(uow, loan_id, borrower)
        if s["promise_on"] is not None:
            target = paid_loan if s["promise_on"] == "paid" else ids[0]
            due = made + timedelta(days=s["promise_due"])
            make_promise(uow, target, s["promise_amount"], due, made, "agent:t")
        if s["plan"]:
            terms = PlanTerms("extension", made, days=30)
            plans.propose_plan(uow, paid_loan, terms, CFG.plans, "supervisor:t", "supervisor")
        if s["case_first"]:
            refresh_case(uow, borrower, made, CFG.recovery)
        uow.commit()
        out = record_payment(uow, paid_loan, f"{paid_loan}-P", paid_on, s["amount"], CFG, actor="t")
        assert out.recorded
        note(f"promises settled: {len(out.promises)}; plans closed or broken: {len(out.plans)}")
        note(f"case: {'none' if out.case is None else out.case['status']}")
        # What the store holds now, read afresh, is what the event answered.
        for promise in out.promises:
            assert promise == asdict(uow.promises.get(promise["id"]))
        for plan in out.plans:
            assert plan == plans.plan_view(uow, plan["id"])
        again = refresh_case(uow, borrower, paid_on, CFG.recovery)
        assert _without_times(out.case) == _without_times(again)
        uow.rollback()
