"""The port through which the books' services reach the store (arrears.adapters.store.books_repository):
credit lines, the delinquency history, charge-offs with their book postings, the outbound events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from arrears.domain.charge_off import ChargeOff, ChargeOffRules, Transaction
from arrears.domain.credit_lines import CreditLine
from arrears.domain.delinquency import DelinquencyChange, DelinquencyState
from arrears.domain.outbound_events import OutboundEvent


class CreditLinePort(Protocol):
    def get(self, line_id: str) -> CreditLine | None: ...

    def all(self, *, status: str | None = None) -> list[CreditLine]: ...

    def upsert(self, line: CreditLine) -> bool: ...

    def set_status(self, line_id: str, status: str, on: date | None, by: str | None) -> None: ...

    def attach(self, line_id: str, loan_ids: Iterable[str]) -> int: ...

    def loans(self, line_ids: Sequence[str] | None = None) -> dict[str, list[str]]: ...

    def open_for_every_borrower(self, limit: int, currency: str, opened_on: date) -> int: ...

    def cancel_notice(self, idempotency_key: str, reason: str) -> None: ...

    def line_of(self, loan_ids: Sequence[str]) -> dict[str, str]: ...


class BooksPort(Protocol):
    def charge_off_rules(self) -> ChargeOffRules: ...

    def set_charge_off_rule(self, product_code: str | None, after_dpd: int) -> None: ...

    def states_before(self, day: date) -> dict[str, DelinquencyState]: ...

    def add_changes(
        self, changes: Sequence[tuple[DelinquencyChange, DelinquencyState]], at: datetime
    ) -> list[DelinquencyChange]: ...

    def history(self, loan_id: str) -> list[DelinquencyChange]: ...

    def charge_offs(
        self, *, open_only: bool = False, loan_ids: Sequence[str] | None = None
    ) -> list[tuple[ChargeOff, str, date | None]]: ...

    def add_charge_off(self, co: ChargeOff) -> bool: ...

    def close_charge_off(self, loan_id: str, status: str, on: date) -> None: ...

    def add_transactions(self, transactions: Sequence[Transaction], at: datetime) -> int: ...

    def transactions(
        self, loan_ids: Sequence[str] | None = None, *, kind: str | None = None
    ) -> list[Transaction]: ...


class OutboundEventPort(Protocol):
    def add(self, events: Sequence[OutboundEvent], at: datetime) -> int: ...

    def due(self, now: datetime, limit: int) -> list[OutboundEvent]: ...

    def all(
        self, *, loan_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboundEvent]: ...

    def mark(
        self,
        event_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        delivered_at: datetime | None = None,
        last_error: str | None = None,
    ) -> None: ...
