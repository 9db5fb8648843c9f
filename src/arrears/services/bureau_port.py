"""The port through which the bureau export reaches the store (arrears.adapters.store.bureau_repository)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from arrears.domain.records import Borrower


class BureauPort(Protocol):
    def loan_facts(self, as_of: date, notice_by: date, template: str) -> pa.Table:
        """Per loan: notice_sent_on (latest on or before `notice_by`), open_dispute, dispute_resolved (during
        the month of `as_of`), instalments, original_principal, scheduled_total, first_due, last_due."""
        ...

    def borrowers(self, ids: Sequence[str]) -> dict[str, Borrower]: ...

    def reported(self, format: str, month: str) -> dict[str, str]: ...

    def record_reported(
        self, format: str, month: str, digests: Sequence[tuple[str, str]], reported_on: date, at: datetime
    ) -> None: ...
