"""Letters that can be posted: which spooled letters go in a print batch (each once), the recipients' postal
addresses handed to the print vendor (the one place an address leaves unmasked, audited as pii.print), the
batch recorded, and returned mail: a letter the post brings back marks its borrower's address as returned,
and the profiles' returned-mail hold then blocks letters to it until the address is updated."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from arrears.domain.errors import InputError
from arrears.services import audit, borrower_facts
from arrears.services.unit_of_work import UnitOfWork

LAWYER_TEMPLATE = "letter/lawyer_letter"


def unprinted(uow: UnitOfWork, letter_ids: Sequence[str]) -> set[str]:
    """The letters not yet handed to the print vendor."""
    return set(letter_ids) - uow.printed_letters.printed_ids(letter_ids)


def check_signed(letters: Sequence[tuple[str, str, bool]]) -> None:
    """(letter id, template, signed): a lawyer's letter without its signing lawyer and registration is refused."""
    unsigned = [lid for lid, template, signed in letters if template == LAWYER_TEMPLATE and not signed]
    if unsigned:
        raise InputError(
            f"{len(unsigned)} lawyer's letter(s) without the signing lawyer and the firm's registration "
            f"(first: {unsigned[0]}); set lender signing_lawyer and firm_registration in channels.yaml and send again",
            field="signing_lawyer",
        )


def recipients(
    uow: UnitOfWork, borrower_ids: Sequence[str], actor: str, batch_id: str
) -> dict[str, tuple[str, str]]:
    """Name and full postal address of each borrower, for the print vendor (audited as pii.print)."""
    out: dict[str, tuple[str, str]] = {}
    for borrower_id in sorted(set(borrower_ids)):
        borrower = uow.borrowers.get(borrower_id)
        if borrower is None or not borrower.address:
            raise InputError(
                f"borrower {borrower_id} has no postal address: the letter cannot be posted", field="address"
            )
        out[borrower_id] = (borrower.name or "", borrower.address)
    audit.append(
        uow, actor, "pii.print", f"batch:{batch_id}",
        {"borrowers": sorted(out), "fields": ["name", "address"], "to": "print vendor"},
    )  # fmt: skip
    return out


def record_batch(
    uow: UnitOfWork, batch_id: str, letters: Sequence[dict[str, Any]], delivered_to: str, actor: str
) -> dict[str, Any]:
    """Record the letters of a delivered batch (each letter once)."""
    uow.printed_letters.add([{**row, "batch_id": batch_id, "delivered_to": delivered_to} for row in letters])
    audit.append(
        uow, actor, "letters.batch", f"batch:{batch_id}",
        {"letters": [r["letter_id"] for r in letters], "delivered_to": delivered_to},
    )  # fmt: skip
    return {"batch": batch_id, "letters": len(letters), "delivered_to": delivered_to}


def mark_returned(uow: UnitOfWork, path: Path, actor: str) -> dict[str, Any]:
    """Read the vendor's returned-mail file (CSV: letter_id, returned_on, reason) and mark each letter
    returned and its borrower's address as returned; a bad row is refused with its line, nothing written."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read it: {err}", file=str(path)) from None
    marked: list[str] = []
    borrowers: set[str] = set()
    for line, row in enumerate(rows, start=2):
        letter_id = (row.get("letter_id") or "").strip()
        printed = uow.printed_letters.get(letter_id) if letter_id else None
        if printed is None:
            raise InputError(f"no printed letter {letter_id!r}", file=str(path), line=line, field="letter_id")
        try:
            on = date.fromisoformat((row.get("returned_on") or "").strip())
        except ValueError:
            raise InputError(
                "returned_on must be a date YYYY-MM-DD", file=str(path), line=line, field="returned_on"
            ) from None
        reason = (row.get("reason") or "returned").strip()
        uow.printed_letters.mark_returned(letter_id, on, reason)
        if printed["borrower_id"] not in borrowers:
            borrower_facts.set_flag(
                uow, printed["borrower_id"], "address_returned", by=actor,
                reason=f"letter {letter_id} returned: {reason}", source="print vendor",
                effective_at=datetime.combine(on, time(0, 0), UTC),  # from the day it came back
            )  # fmt: skip
            borrowers.add(printed["borrower_id"])
        marked.append(letter_id)
    return {"returned": len(marked), "borrowers": sorted(borrowers)}
