"""Repositories hand back domain objects: a stored loan is the Loan the ledger computes on."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.adapters.store.records import AccountEvent
from arrears.domain.catalog import PRODUCTS
from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.services.unit_of_work import UnitOfWork
from tests.store.conftest import counts


def test_a_stored_loan_round_trips_to_the_domain_loan(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        l1, l2 = uow.loans.get("L1"), uow.loans.get("L2")
        record = uow.loans.record("L1")
    assert l1 == Loan(
        id="L1",
        instalments=(
            Instalment(1, date(2026, 2, 10), 33333, 2000, 0),
            Instalment(2, date(2026, 3, 10), 33333, 2000, 0),
            Instalment(3, date(2026, 4, 10), 33334, 2000, 0),
        ),
        payments=(Payment("P1", date(2026, 2, 10), 35333),),
        settings=PRODUCTS["baitiao-3"].settings,
    )
    assert l2.payments == (Payment("P2", date(2026, 2, 20), 50000, reversed_on=date(2026, 2, 22)),)
    assert l2.settings == PRODUCTS["baitiao-30d"].settings
    assert (record.borrower_id, record.product_code, record.opened_on) == (
        "B1",
        "baitiao-3",
        date(2026, 1, 10),
    )


def test_pauses_and_waivers_round_trip_and_waivers_are_posted(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        pause_id = uow.loans.add_pause("L1", Pause(date(2026, 3, 12), None, "dispute"))
        uow.loans.end_pause(pause_id, date(2026, 3, 15))
        uow.loans.add_waiver("L1", Waiver(date(2026, 3, 20), 100, "agent7", "lead2", "goodwill", 2))
        uow.commit()
    with UnitOfWork(loaded) as uow:
        loan = uow.loans.get("L1")
        postings = [p for p in uow.postings.for_loan("L1") if p.kind == "waiver"]
    assert loan.pauses == (Pause(date(2026, 3, 12), date(2026, 3, 15), "dispute"),)
    assert loan.waivers == (Waiver(date(2026, 3, 20), 100, "agent7", "lead2", "goodwill", 2),)
    assert [(p.component, p.amount, p.effective_on) for p in postings] == [
        ("late_fee", -100, date(2026, 3, 20))
    ]


def test_stream_loads_many_loans_in_batches_in_the_order_asked(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        streamed = list(uow.loans.stream(["L2", "nope", "L1"], batch_size=1))
        every = [loan.id for loan in uow.loans.stream()]
        assert uow.loans.count() == 2
    assert [loan.id for loan in streamed] == ["L2", "L1"]
    assert every == ["L1", "L2"]


def test_an_unknown_loan_is_not_found(store_url: str) -> None:
    with UnitOfWork(store_url) as uow, pytest.raises(NotFound, match="unknown loan 'L404'"):
        uow.loans.get("L404")


def test_payments_and_reversals_one_at_a_time(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        assert uow.payments.add("L1", Payment("P7", date(2026, 3, 11), 1000), source="counter") is True
        assert uow.payments.add("L1", Payment("P7", date(2026, 3, 11), 1000)) is False
        assert uow.payments.reverse("P7", date(2026, 3, 12), "R7") is True
        assert uow.payments.reverse("P7", date(2026, 3, 12), "R7") is False
        with pytest.raises(InputError, match="already reversed by R7"):
            uow.payments.reverse("P7", date(2026, 3, 13), "R8")
        uow.commit()
    with UnitOfWork(loaded) as uow:
        p7 = [p for p in uow.loans.get("L1").payments if p.id == "P7"]
        postings = [(p.kind, p.amount, p.ref) for p in uow.postings.for_loan("L1") if p.kind != "schedule"]
    assert p7 == [Payment("P7", date(2026, 3, 11), 1000, reversed_on=date(2026, 3, 12))]
    assert postings == [("payment", -35333, "P1"), ("payment", -1000, "P7"), ("reversal", 1000, "R7")]


def test_events_one_at_a_time(loaded: str) -> None:
    event = AccountEvent("E7", "L1", "promise_made", date(2026, 3, 11), detail={"amount": "100.00"})
    with UnitOfWork(loaded) as uow:
        assert uow.events.add(event) is True
        assert uow.events.add(event) is False
        uow.commit()
    with UnitOfWork(loaded) as uow:
        assert uow.events.for_loan("L1") == [event]


def test_work_not_committed_is_rolled_back(loaded: str) -> None:
    before = counts(loaded)
    with UnitOfWork(loaded) as uow:
        uow.payments.add("L1", Payment("P8", date(2026, 3, 11), 1000))
    assert counts(loaded) == before
