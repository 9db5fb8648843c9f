"""The port through which the whole-portfolio case refresh reaches the store
(arrears.adapters.store.case_refresh_repository): what it reads for every borrower at once, and its writes in
bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from arrears.domain.casework_records import CaseStanding


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A borrower's facts the refresh reads besides the ledger, and their case as stored (if any)."""

    language: str | None
    pending_promises: int
    broken_promises: int  # in the window before the day
    case_id: int | None
    case_status: str | None
    standing: CaseStanding | None  # the case's stored bucket, dpd, balance, expected recovery


class CaseRefreshPort(Protocol):
    def facts(self, as_of: date) -> dict[str, CaseFacts]:
        """Every borrower with a loan, or a case: their facts as of the day."""
        ...

    def write(
        self,
        opened: Sequence[tuple[str, str | None, CaseStanding]],
        updated: Sequence[tuple[int, CaseStanding]],
        closed: Sequence[int],
    ) -> None:
        """Open cases (borrower, language, standing), update the standing of others (reopening them), close
        some, each group in one statement."""
        ...
