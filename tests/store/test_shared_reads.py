"""Reads that several use cases share live once behind the port: a borrower's loans (the desk, inbound
replies, privacy export and erasure, case refresh) and the borrower behind a phone number."""

from __future__ import annotations

from arrears.services.cases import loans_of
from arrears.services.unit_of_work import UnitOfWork


def test_a_borrowers_loans_are_one_read(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        assert uow.loans.of_borrowers(["B2", "B1", "B9", "B1"]) == {"B1": ["L1"], "B2": ["L2"]}
        assert uow.loans.of_borrowers([]) == {}
        assert (loans_of(uow, "B1"), loans_of(uow, "B9")) == (["L1"], [])
        assert not hasattr(uow, "replies")  # the replies' own copy of these reads is gone


def test_a_number_finds_its_borrower_and_a_malformed_one_nobody(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        assert uow.personal_data.find("phone", "13812345678") == ["B1"]
        assert uow.personal_data.find("phone", "+8613812345678") == ["B1"]
        assert uow.personal_data.find("phone", "call me") == []
        # B2 has no ID number on file: a malformed one must not match the missing hash
        assert uow.personal_data.find("id_number", "12345") == []
