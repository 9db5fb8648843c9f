"""Case-work services on the store (SQLite and PostgreSQL): the payment event, promises with tolerance,
plan approval limits and four eyes, a broken plan reverting, a dispute pausing collection, case queues."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import insert, select

from arrears.adapters.store.models import AccountEventRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.cases import Skills
from arrears.domain.errors import InputError
from arrears.domain.ledger import compute_position
from arrears.domain.plans import PlanTerms
from arrears.services import cases, disputes, plans, promises
from arrears.services.accounts import check_ledger
from arrears.services.cases import CaseworkConfig
from arrears.services.imports import import_loans
from arrears.services.payments import record_payment
from arrears.services.unit_of_work import UnitOfWork

CFG = CaseworkConfig()


def _store(url: str, loans: dict[str, tuple[str, str]]) -> None:
    """loans: id → (borrower, language); three instalments of 1000.00 due the 10th of Jan, Feb, Mar 2026."""
    rows: dict[str, list[str]] = {
        k: []
        for k in ("loan_id", "borrower_id", "product", "currency", "seq", "due_date", "principal", "language")
    }
    for loan_id, (borrower, language) in loans.items():
        for seq, due in enumerate(("2026-01-10", "2026-02-10", "2026-03-10"), start=1):
            for k, v in zip(
                rows, (loan_id, borrower, "baitiao-3", "CNY", str(seq), due, "1000.00", language), strict=True
            ):
                rows[k].append(v)
    with UnitOfWork(url) as uow:
        import_loans(uow, pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}), actor="test")


def _outbox(uow: UnitOfWork, loan_id: str, status: str, n: int) -> None:
    at = datetime(2026, 1, 20, tzinfo=UTC)
    uow.connection.execute(
        insert(OutboxRow).values(
            idempotency_key=f"{loan_id}:{n}",
            run_id="r",
            loan_id=loan_id,
            borrower_id="B1",
            as_of=date(2026, 1, 20),
            kind="contact",
            step_id=f"s{n}",
            channel="sms",
            template="t",
            tone="regular",
            segment="x",
            status=status,
            created_at=at,
            updated_at=at,
        )
    )


def test_payment_keeps_promise_within_tolerance_and_cancels_pending_actions(store_url: str) -> None:
    _store(store_url, {"L1": ("B1", "zh")})
    with UnitOfWork(store_url) as uow:
        _outbox(uow, "L1", "sent", 1)
        _outbox(uow, "L1", "pending", 2)
        p = promises.make_promise(uow, "L1", 100_000, date(2026, 1, 25), date(2026, 1, 20), "agent:wang")
        assert p["cancelled_actions"] == 1  # a pending promise suspends collection
        _outbox(uow, "L1", "deferred", 3)
        # 95 % of 1000.00 = 950.00 keeps it; paid two days late is within the 2 days' tolerance
        out = record_payment(uow, "L1", "P1", date(2026, 1, 27), 95_000, CFG, actor="test")
        assert [(x["status"], x["paid"], x["resolved_on"]) for x in out.promises] == [
            ("kept", 95_000, date(2026, 1, 27))
        ]
        assert out.cancelled_actions == 1
        assert out.case is not None and out.case["dpd"] == 17
        kinds = list(uow.connection.scalars(select(AccountEventRow.kind).order_by(AccountEventRow.on_date)))
        assert kinds == ["promise_made", "promise_kept"]
        statuses = sorted(uow.connection.scalars(select(OutboxRow.status)))
        assert statuses == ["cancelled", "cancelled", "sent"]
        assert record_payment(uow, "L1", "P1", date(2026, 1, 27), 95_000, CFG, actor="test").recorded is False
        uow.commit()


def test_plan_limits_four_eyes_waiver_and_settlement(store_url: str) -> None:
    _store(store_url, {"L1": ("B1", "zh")})
    with UnitOfWork(store_url) as uow:
        rules = CFG.plans
        # an agent may re-instalment into at most 6: 12 waits for a supervisor, who cannot be the requester
        terms = PlanTerms("reinstalment", date(2026, 1, 20), count=12)
        plan = plans.propose_plan(uow, "L1", terms, rules, "agent:wang", "agent")
        assert plan["status"] == "awaiting_approval"
        with pytest.raises(InputError, match="above the approval limit"):
            plans.approve_plan(uow, plan["id"], rules, "agent:zhao", "agent")
        active = plans.approve_plan(uow, plan["id"], rules, "supervisor:li", "supervisor")
        assert (active["status"], active["approved_by"], len(active["plan_seqs"])) == (
            "active",
            "supervisor:li",
            12,
        )
        with pytest.raises(InputError, match="already has an active plan"):
            plans.propose_plan(uow, "L1", terms, rules, "agent:wang", "agent")
        assert check_ledger(uow).problems == []
        uow.rollback()
    with UnitOfWork(store_url) as uow:
        # 10 days late: 5.00 late fee; a waiver always needs a second person
        w = plans.propose_plan(
            uow, "L1", PlanTerms("fee_waiver", date(2026, 1, 20)), CFG.plans, "agent:wang", "agent"
        )
        assert (w["status"], w["concession"]) == ("awaiting_approval", 500)
        with pytest.raises(InputError, match="cannot be approved by the user who asked"):
            plans.approve_plan(uow, w["id"], CFG.plans, "agent:wang", "supervisor")
        done = plans.approve_plan(uow, w["id"], CFG.plans, "supervisor:li", "supervisor")
        assert done["status"] == "completed"
        p = compute_position(uow.loans.get("L1"), date(2026, 1, 20))
        assert (p.late_fee_waived, p.outstanding.late_fee) == (500, 0)
        # a settlement needs 60 days past due
        with pytest.raises(InputError, match="at least 60 days past due"):
            plans.propose_plan(
                uow,
                "L1",
                PlanTerms("settlement", date(2026, 1, 20), discount_pct=Decimal(30)),
                CFG.plans,
                "admin:root",
                "admin",
            )
        uow.rollback()


def test_a_fee_waiver_on_the_last_grace_day_is_refused_not_dropped(store_url: str) -> None:
    _store(store_url, {"L1": ("B1", "zh")})
    with UnitOfWork(store_url) as uow:
        # 3 grace days: on 13 Jan the fee of 11–13 Jan (1.50) only counts at the end of the day, after
        # that day's waivers; a waiver then would be more than the unpaid late fee, so it is refused
        w = plans.propose_plan(
            uow, "L1", PlanTerms("fee_waiver", date(2026, 1, 13)), CFG.plans, "agent:wang", "agent"
        )
        assert w["concession"] == 150
        with pytest.raises(InputError, match="start the waiver a day later") as err:
            plans.approve_plan(uow, w["id"], CFG.plans, "supervisor:li", "supervisor")
        assert err.value.field == "start_on"
        assert uow.loans.get("L1").waivers == ()
        uow.rollback()
    with UnitOfWork(store_url) as uow:
        w = plans.propose_plan(
            uow, "L1", PlanTerms("fee_waiver", date(2026, 1, 14)), CFG.plans, "agent:wang", "agent"
        )
        plans.approve_plan(uow, w["id"], CFG.plans, "supervisor:li", "supervisor")
        p = compute_position(uow.loans.get("L1"), date(2026, 1, 20))
        assert (p.late_fee_waived, p.late_fee_accrued) == (200, 500)
        assert check_ledger(uow).problems == []
        uow.rollback()


def test_broken_plan_reverts_to_the_old_schedule(store_url: str) -> None:
    _store(store_url, {"L1": ("B1", "zh")})
    with UnitOfWork(store_url) as uow:
        terms = PlanTerms("extension", date(2026, 1, 20), days=20)
        plan = plans.propose_plan(uow, "L1", terms, CFG.plans, "agent:wang", "agent")
        assert plan["status"] == "active"
        dues = [(i.seq, i.due, i.principal) for i in uow.loans.get("L1").instalments]
        # paid by the 20th: nothing, so no settled instalment; each unpaid one moves 20 days (from the 20th)
        assert dues == [
            (1, date(2026, 2, 9), 100_000),
            (2, date(2026, 3, 2), 100_000),
            (3, date(2026, 3, 30), 100_000),
        ]
        assert compute_position(uow.loans.get("L1"), date(2026, 2, 9)).dpd == 0
        # nothing paid by 9 Feb + 3 days' tolerance: broken on the 13th, the original schedule comes back
        changed = plans.review_plans(uow, date(2026, 2, 13), CFG.plans, "system")
        assert [(c["status"], c["broken_on"]) for c in changed] == [("broken", date(2026, 2, 13))]
        assert [i.due for i in uow.loans.get("L1").instalments] == [
            date(2026, 1, 10),
            date(2026, 2, 10),
            date(2026, 3, 10),
        ]
        assert [v["version"] for v in plans.versions(uow, "L1")] == [1, 2, 3]
        p = compute_position(uow.loans.get("L1"), date(2026, 2, 13))
        # paused 20 Jan – 12 Feb (hardship while the plan ran): 10 + 1 delinquent days on the old schedule
        assert (p.dpd, p.paused_days) == (34, 24)
        assert check_ledger(uow).problems == []
        uow.rollback()


def test_dispute_pauses_collection_and_keeps_evidence(store_url: str, tmp_path: Path) -> None:
    _store(store_url, {"L1": ("B1", "zh")})
    with UnitOfWork(store_url) as uow:
        _outbox(uow, "L1", "pending", 1)
        d = disputes.open_dispute(
            uow,
            "L1",
            "dispute",
            "not_my_debt",
            "I never opened this account",
            date(2026, 1, 16),
            CFG.sla,
            "borrower:B1",
        )
        # opened on a Friday: acknowledge by Monday; 15 business days later is 6 Feb
        assert (d["ack_by"], d["resolve_by"], d["sla"]) == (date(2026, 1, 19), date(2026, 2, 6), "on_time")
        assert d["pause_id"] is not None
        assert list(uow.connection.scalars(select(OutboxRow.status))) == ["cancelled"]
        assert list(uow.connection.scalars(select(AccountEventRow.kind))) == ["identity_dispute"]
        e = disputes.attach_evidence(
            uow, d["id"], "../../police report.pdf", b"%PDF-1.4 report", tmp_path, "b"
        )
        assert e["sha256"] == hashlib.sha256(b"%PDF-1.4 report").hexdigest()
        assert e["filename"] == "police report.pdf"
        assert (tmp_path / "evidence" / e["sha256"]).read_bytes() == b"%PDF-1.4 report"
        assert disputes.dispute_view(uow, d["id"], date(2026, 1, 20))["sla"] == "ack_overdue"
        p = compute_position(uow.loans.get("L1"), date(2026, 1, 31))
        assert (p.dpd, p.delinquent_days, p.late_fee_accrued) == (
            21,
            2,
            250,
        )  # fees 11–15 Jan; delinquent after grace: 14–15 Jan
        r = disputes.resolve(uow, d["id"], "not_upheld", date(2026, 1, 31), "compliance:qian")
        assert (r["status"], r["sla"]) == ("resolved", "resolved")
        kinds = list(uow.connection.scalars(select(AccountEventRow.kind).order_by(AccountEventRow.id)))
        assert sorted(kinds) == ["dispute_closed", "identity_dispute"]
        uow.rollback()


def test_queue_orders_by_expected_recovery_and_skills(store_url: str) -> None:
    _store(store_url, {"L1": ("B1", "zh"), "L2": ("B2", "en"), "L3": ("B3", "zh")})
    with UnitOfWork(store_url) as uow:
        record_payment(uow, "L3", "P3", date(2026, 1, 12), 50_000, CFG, actor="t")
        assert cases.refresh_cases(uow, date(2026, 1, 20), CFG.recovery) == 3
        q = cases.queue(uow, "wang", Skills(frozenset({"zh"})), date(2026, 1, 20))
        # M1 at 60 %: B1 owes 3005.00 → 1803.00; B3 paid 500.00 on the 12th (1.00 late fee first, 499.00
        # principal), then 8 days at 0.25: 2503.00 → 1501.80
        assert [(c["borrower_id"], c["expected_recovery"]) for c in q] == [("B1", 180_300), ("B3", 150_180)]
        cases.assign(uow, q[1]["id"], "wang", "supervisor:li")
        q = cases.queue(uow, "wang", Skills(frozenset({"zh"})), date(2026, 1, 20))
        assert [c["borrower_id"] for c in q] == ["B3", "B1"]  # own cases first
        assert [c["borrower_id"] for c in cases.queue(uow, "zhao", Skills(), date(2026, 1, 20))] == [
            "B1",
            "B2",
        ]
        cases.add_note(
            uow,
            q[0]["id"],
            "wang",
            "will pay Friday",
            outcome="promise_to_pay",
            next_action_on=date(2026, 1, 23),
        )
        assert [c["borrower_id"] for c in cases.queue(uow, "wang", Skills(), date(2026, 1, 20))] == [
            "B1",
            "B2",
        ]
        with pytest.raises(InputError, match="unknown outcome"):
            cases.add_note(uow, q[0]["id"], "wang", "x", outcome="maybe")
        uow.rollback()
