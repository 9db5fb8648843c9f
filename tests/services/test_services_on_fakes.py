"""Services driven through their ports alone: borrower facts and the audit chain on in-memory repositories.

No database here: if a service reached past the unit-of-work port (a connection, a session, SQL), these
tests could not run it. They also pin the unit-of-work contract the services rely on: nothing is kept
without commit(), and a failing savepoint undoes only its own block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from arrears.domain.errors import InputError, NotFound
from arrears.domain.loans import Instalment, Loan
from arrears.domain.records import Borrower, LoanRecord
from arrears.services import audit, borrower_facts
from tests.services.fakes import MemoryCheckpoints, MemoryStore, MemoryUnitOfWork

AT = datetime(2026, 3, 31, 2, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    store.state.borrowers["B1"] = Borrower("B1", name="林小明", phone="13912345678", timezone="Asia/Shanghai")
    store.state.borrowers["B2"] = Borrower("B2", name="王芳", phone="13800001111")
    loan = Loan("L1", (Instalment(1, date(2026, 3, 1), 100_00),))
    store.state.loans["L1"] = LoanRecord(loan, "B1", "BT", date(2026, 2, 1))
    store.state.loans["L2"] = LoanRecord(replace(loan, id="L2"), "B2", "BT", date(2026, 2, 1))
    return store


@pytest.fixture
def checkpoints() -> Iterator[MemoryCheckpoints]:
    memory = MemoryCheckpoints()
    before = audit._checkpoints
    audit.use_checkpoints(memory)
    yield memory
    audit._checkpoints = before


def test_a_fact_set_and_cleared_leaves_one_audit_row_each(store: MemoryStore) -> None:
    with MemoryUnitOfWork(store) as uow:
        change = borrower_facts.set_flag(
            uow, "B1", "cease", by="compliance.li", reason="written request", source="cli", effective_at=AT
        )
        again = borrower_facts.set_flag(
            uow, "B1", "cease", by="compliance.li", reason="written request", source="cli", effective_at=AT
        )
        uow.commit()
    assert (change.changed, again.changed, again.ids) == (True, False, change.ids)
    assert [e.action for e in store.state.audit] == ["borrower.flag.set"]
    assert store.state.audit[0].subject == "borrower:B1"
    assert store.state.audit[0].detail["reason"] == "written request"

    with MemoryUnitOfWork(store) as uow:
        borrower_facts.clear_flag(uow, "B1", "cease", by="compliance.li", reason="withdrawn", source="cli")
        shown = borrower_facts.show(uow, "B1")
        uow.commit()
    assert [e.action for e in store.state.audit] == ["borrower.flag.set", "borrower.flag.clear"]
    assert shown["in_force"] == []
    assert [(r["flag"], r["set_by"], r["clear_reason"]) for r in shown["history"]] == [
        ("cease", "compliance.li", "withdrawn")
    ]
    assert shown["borrower"]["phone"] == "139****5678"  # the view is masked


def test_nothing_is_kept_without_commit(store: MemoryStore) -> None:
    with MemoryUnitOfWork(store) as uow:
        borrower_facts.set_flag(
            uow, "B1", "attorney", value="张律师", by="agent.wu", reason="letter", source="cli"
        )
    assert store.state.flags == [] and store.state.audit == [] and store.state.head is None


def test_a_failing_savepoint_undoes_only_its_block(store: MemoryStore) -> None:
    with MemoryUnitOfWork(store) as uow:
        borrower_facts.set_flag(
            uow, "B1", "attorney", value="张律师", by="agent.wu", reason="letter", source="cli"
        )
        with pytest.raises(InputError), uow.savepoint():
            borrower_facts.set_flag(uow, "B2", "bankruptcy", by="agent.wu", reason="court", source="cli")
            raise InputError("a later row of the same file is bad")
        uow.commit()
    assert [r.flag.borrower_id for r in store.state.flags] == ["B1"]
    assert len(store.state.audit) == 1


def test_bad_requests_are_refused_before_anything_is_written(store: MemoryStore) -> None:
    with MemoryUnitOfWork(store) as uow:
        with pytest.raises(NotFound, match="no borrower 'B9'"):
            borrower_facts.set_flag(uow, "B9", "cease", by="x", reason="y", source="cli")
        with pytest.raises(InputError, match="not a debt of borrower 'B1'"):
            borrower_facts.set_flag(uow, "B1", "time_barred", debt="L2", by="x", reason="y", source="cli")
        with pytest.raises(InputError, match="is required"):
            borrower_facts.set_flag(uow, "B1", "cease", by=" ", reason="y", source="cli")
        with pytest.raises(InputError, match="has no attorney in force"):
            borrower_facts.clear_flag(uow, "B1", "attorney", by="x", reason="y", source="cli")
        assert uow.state.flags == [] and uow.state.audit == []


def test_the_chain_written_through_the_port_verifies_and_a_change_is_found(
    store: MemoryStore, checkpoints: MemoryCheckpoints
) -> None:
    with MemoryUnitOfWork(store) as uow:
        for borrower, flag in (("B1", "cease"), ("B2", "bankruptcy"), ("B1", "deceased")):
            borrower_facts.set_flag(uow, borrower, flag, by="compliance.li", reason="file", source="cli")
        audit.write_checkpoint(uow)
        uow.commit()
    with MemoryUnitOfWork(store) as uow:
        verdict = audit.verify(uow, require_checkpoint=True)
    assert (verdict.ok, verdict.count) == (True, 3)
    assert checkpoints.written[-1].head_seq == 3

    second = store.state.audit[1]
    store.state.audit[1] = replace(second, detail={**second.detail, "reason": "edited"})
    with MemoryUnitOfWork(store) as uow:
        verdict = audit.verify(uow, require_checkpoint=True)
    assert (verdict.ok, verdict.bad_seq) == (False, 2)

    store.state.audit[1] = second
    del store.state.audit[2]  # the tail deleted and the head moved back with it
    store.state.head = (2, second.hash)
    with MemoryUnitOfWork(store) as uow:
        verdict = audit.verify(uow, require_checkpoint=True)
    assert verdict.ok is False and "truncated" in (verdict.reason or "")
