"""KPIs against values worked out by hand on a seven-loan store (no late fee, no grace, to keep the sums
readable). Window: 2026-03-01 .. 2026-03-31; opening = end of 2026-02-28.

loan  borrower persona    due         amount   in the window                                  close
L1    B1      forgetful   02-20 (M1)  1000.00  sms 03-02, lawyer's letter 03-03, paid 03-05     M0 cured
L2    B2      forgetful   02-25 (M1)   500.00  paid 03-01, never contacted                     M0 self-cured
L3    B3      strategic   01-15 (M2)  2000.00  robocall 03-10 (conversation), promise 03-10     M3 rolled
                                               due 03-15 (broken), agent call 03-11 no answer,
                                               an sms blocked 03-12, an sms deferred 03-13
L4    B4      hardship    02-10 (M1)   800.00  sms 03-19, pays 300.00 on 03-20, complains 03-21 M2 rolled
L5    B5      good        03-15 (M0)   600.00  paid on the due day                              M0
L6    B6      forgetful   03-10 (M0)   400.00  sms 03-12, paid 03-14 (4 days late)              M0
L7    B7      forgetful   03-20 (M0)   700.00  promise 03-22 due 03-25, legal sms 03-23, paid   M0
                                               03-25 (promise kept)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from arrears.adapters.store.dispatch_models import ContactAttemptRow, DeliveryRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.domain.products import LateFeeRule, LedgerSettings
from arrears.services.cases import CaseworkConfig
from arrears.services.disputes import open_dispute
from arrears.services.imports import import_file
from arrears.services.kpi import compute_kpis
from arrears.services.payments import record_payment
from arrears.services.promises import make_promise, settle_promises
from arrears.services.unit_of_work import UnitOfWork

START, END = date(2026, 3, 1), date(2026, 3, 31)
PLAIN = LedgerSettings(currency="CNY", grace_days=0, late_fee=LateFeeRule(daily_rate=Decimal("0")))
PRODUCTS = {"baitiao-30d": PLAIN}
LOANS = [
    ("L1", "B1", "forgetful", date(2026, 2, 20), "1000.00"),
    ("L2", "B2", "forgetful", date(2026, 2, 25), "500.00"),
    ("L3", "B3", "strategic", date(2026, 1, 15), "2000.00"),
    ("L4", "B4", "hardship", date(2026, 2, 10), "800.00"),
    ("L5", "B5", None, date(2026, 3, 15), "600.00"),
    ("L6", "B6", "forgetful", date(2026, 3, 10), "400.00"),
    ("L7", "B7", "forgetful", date(2026, 3, 20), "700.00"),
]
PAYMENTS = [
    ("L2", date(2026, 3, 1), 50000),
    ("L1", date(2026, 3, 5), 100000),
    ("L6", date(2026, 3, 14), 40000),
    ("L5", date(2026, 3, 15), 60000),
    ("L4", date(2026, 3, 20), 30000),
]
# (loan, borrower, day, channel, tone, status, outcome of the attempt or None when nothing was sent)
ACTIONS = [
    ("L1", "B1", 2, "sms", "regular", "sent", "delivered"),
    ("L1", "B1", 3, "lawyer_letter", "legal", "sent", "sent"),
    ("L3", "B3", 10, "robocall", "regular", "sent", "conversation"),
    ("L3", "B3", 11, "agent_call", "firm", "sent", "no_answer"),
    ("L3", "B3", 12, "sms", "firm", "blocked", None),
    ("L3", "B3", 13, "sms", "firm", "deferred", None),
    ("L4", "B4", 19, "sms", "regular", "sent", "delivered"),
    ("L6", "B6", 12, "sms", "regular", "sent", "delivered"),
    ("L7", "B7", 23, "sms", "legal", "sent", "delivered"),
]


def _at(day: int) -> datetime:
    return datetime(2026, 3, day, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def build_store(url: str) -> None:
    config = CaseworkConfig()
    loans = pa.table(
        {
            "loan_id": [x[0] for x in LOANS],
            "borrower_id": [x[1] for x in LOANS],
            "persona": [x[2] for x in LOANS],
            "product": ["baitiao-30d"] * len(LOANS),
            "currency": ["CNY"] * len(LOANS),
            "seq": [1] * len(LOANS),
            "due_date": [x[3].isoformat() for x in LOANS],
            "principal": [x[4] for x in LOANS],
            "opened_on": ["2025-12-01"] * len(LOANS),
        }
    )
    with UnitOfWork(url) as uow:
        import_file(uow, "loans", loans, name="kpi test", actor="test")
        uow.commit()
    with UnitOfWork(url) as uow:
        make_promise(uow, "L3", 200000, date(2026, 3, 15), date(2026, 3, 10), "agent")
        for n, (loan, day, amount) in enumerate(PAYMENTS):
            record_payment(uow, loan, f"P{n}", day, amount, config, actor="test")
        make_promise(uow, "L7", 70000, date(2026, 3, 25), date(2026, 3, 22), "agent")
        record_payment(uow, "L7", "P-L7", date(2026, 3, 25), 70000, config, actor="test")
        settle_promises(uow, END, config.promise_tolerance)
        open_dispute(
            uow, "L4", "complaint", "harassment", "too many calls", date(2026, 3, 21), config.sla, "test",
            channel="sms",
        )  # fmt: skip
        c = uow.connection
        for n, (loan, borrower, day, channel, tone, status, outcome) in enumerate(ACTIONS):
            key = f"{loan}:{day}:{channel}"
            outbox_id = c.execute(
                OutboxRow.__table__.insert()
                .values(
                    idempotency_key=key, run_id="r", loan_id=loan, borrower_id=borrower,
                    as_of=date(2026, 3, day), anchor=None, kind="step", step_id=f"s{n}", channel=channel,
                    template=f"{channel}/x", tone=tone, requires="", segment="everyone", experiment="",
                    arm="", status=status, rules="", attempts=1, created_at=_at(day), updated_at=_at(day),
                )
                .returning(OutboxRow.id)
            ).scalar_one()  # fmt: skip
            if outcome is None:
                continue
            c.execute(
                DeliveryRow.__table__.insert().values(
                    outbox_id=outbox_id, idempotency_key=key, channel=channel, provider="test",
                    provider_id=key, status="delivered", sent_at=_at(day), updated_at=_at(day), detail={},
                )
            )  # fmt: skip
            c.execute(
                ContactAttemptRow.__table__.insert().values(
                    loan_id=loan, borrower_id=borrower, channel=channel, target="", at=_at(day),
                    outcome=outcome, message_type="reminder", outbox_id=outbox_id, provider_id=key,
                )
            )  # fmt: skip
        uow.commit()


@pytest.fixture
def kpis(store_url: str) -> dict:
    build_store(store_url)
    with UnitOfWork(store_url) as uow:
        return compute_kpis(uow, START, END, products=PRODUCTS)


def test_balances_cures_and_recoveries(kpis: dict) -> None:
    assert kpis["accounts"] == 7
    assert kpis["delinquent_at_start"] == 4  # L1 L2 L3 L4
    assert (kpis["cured"], kpis["cure_rate"]) == (2, 0.5)  # L1 L2
    assert (kpis["self_cured"], kpis["self_cure_rate"]) == (1, 0.25)  # L2, never contacted
    assert kpis["overdue_at_start"] == "4300.00"
    assert kpis["overdue_at_end"] == "2500.00"  # L3 2000 + L4 500
    # L1 1000 + L2 500 + L4 300 of the 4300 overdue at the start
    assert kpis["recovered_from_start_arrears"] == "1800.00"
    assert kpis["recovery_rate"] == 0.4186
    # every payment made while late: + L6 400 + L7 700; L5 paid on its due day, not a recovery
    assert kpis["recovered"] == "2900.00"
    assert kpis["payments"] == 6
    assert kpis["recovered_by_day"]["2026-03-25"] == "700.00"
    # CEI: (4300 due at start + 1700 falling due − 2500 still due) / 6000
    assert kpis["cei"] == 58.33


def test_roll_rates(kpis: dict) -> None:
    assert kpis["roll_matrix"] == {
        "M0": {"M0": 3},
        "M1": {"M0": 2, "M2": 1},
        "M2": {"M3": 1},
    }
    assert kpis["roll_rates"]["M1"] == {"accounts": 3, "rolled": 1, "rate": 0.3333}
    assert kpis["roll_rates"]["M2"]["rate"] == 1.0
    assert kpis["roll_rates"]["M0"]["rate"] == 0.0


def test_contacts_promises_costs_and_complaints(kpis: dict) -> None:
    assert kpis["contacts"] == 7
    assert (kpis["voice_attempts"], kpis["right_party_contacts"]) == (2, 1)
    assert kpis["right_party_contact_rate"] == 0.5
    assert (kpis["promises_kept"], kpis["promises_broken"], kpis["promise_kept_rate"]) == (1, 1, 0.5)
    assert kpis["contacts_per_yuan_recovered"] == 0.002414  # 7 / 2900
    # 4 sms × ¥0.05 + lawyer's letter ¥50 + robocall ¥0.30 + agent call ¥3
    assert kpis["cost"] == "53.50"
    assert kpis["cost_to_collect"] == 0.0184  # 53.50 / 2900
    assert kpis["complaints"] == 1
    assert kpis["complaints_per_10k_contacts"] == 1428.57
    assert kpis["compliance_blocked"] == 1 and kpis["compliance_deferred"] == 1
    assert kpis["outbox_statuses"]["sent"] == 7


def test_accidental_late_payers_and_legal_threats(kpis: dict) -> None:
    assert kpis["accidental_late_payers"] == 4  # B1 B2 (late at start), B6 B7 (paid late)
    assert kpis["accidental_with_lawyer_letter"] == 1  # B1
    assert kpis["accidental_with_legal_threat"] == 2  # B1, B7 (legal-tone sms)
    assert kpis["accidental_legal_threat_share"] == 0.5


def test_portfolio_sums_are_exact_past_the_int64_range() -> None:
    """A million loans at the bound owe more than an int64 holds: a numpy sum wraps to a negative amount,
    the KPIs' sums (exact_total) do not. Here 3 × 2^62 minor units of instalments due in the window."""
    from types import SimpleNamespace

    import numpy as np

    from arrears.services.kpi import _due_outstanding

    epoch_day = (date(2026, 3, 10) - date(1970, 1, 1)).days
    ledger = SimpleNamespace(
        inst_due=np.full(3, epoch_day, dtype=np.int32),
        inst_outstanding=np.full(3, 2**62, dtype=np.int64),
    )
    assert int(ledger.inst_outstanding.sum()) < 0  # what the plain sum did
    assert _due_outstanding(ledger, END, upto=END) == 3 * 2**62  # type: ignore[arg-type]
