"""Borrower compliance facts: set and clear a flag (audited), list them, and the facts every decision reads.

`arrears borrower flag`, the API, `arrears import flags` and inbound replies (STOP / 退订) all come here,
so every change carries who / when / why / source and leaves one audit row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from arrears.domain.compliance.facts import FLAG_KINDS, BorrowerFlag, check_flag
from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_phone
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

SOURCES = ("cli", "api", "import", "reply", "casework", "migration")


@dataclass(frozen=True, slots=True)
class FlagChange:
    """What one set or clear did: the flag ids it touched, and whether anything changed."""

    action: str  # set | clear
    borrower_id: str
    name: str
    ids: tuple[int, ...]
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "borrower_id": self.borrower_id,
            "flag": self.name,
            "ids": list(self.ids),
            "changed": self.changed,
        }


def _need_text(value: str, field: str) -> str:
    if not value or not value.strip():
        raise InputError("is required (who and why are recorded with every fact)", field=field)
    return value.strip()


def _need_borrower(uow: UnitOfWork, borrower_id: str, debt: str) -> None:
    if uow.borrowers.get(borrower_id) is None:
        raise NotFound(f"no borrower {borrower_id!r}")
    if debt:
        try:
            owner = uow.loans.record(debt).borrower_id
        except NotFound:
            raise NotFound(f"no loan {debt!r}") from None
        if owner != borrower_id:
            raise InputError(f"loan {debt!r} is not a debt of borrower {borrower_id!r}", field="debt")


def set_flag(
    uow: UnitOfWork,
    borrower_id: str,
    name: str,
    *,
    by: str,
    reason: str,
    source: str,
    channel: str = "",
    debt: str = "",
    value: str = "",
    until: date | None = None,
    effective_at: datetime | None = None,
) -> FlagChange:
    """Record a fact in force from `effective_at` (now by default); the same fact already in force is kept."""
    by, reason = _need_text(by, "by"), _need_text(reason, "reason")
    value = value.strip()  # stored and compared stripped: " 139… " is the number already on file
    channel = check_flag(name, channel, debt, value, until)
    _need_borrower(uow, borrower_id, debt)
    now = datetime.now(UTC)
    at = effective_at or now
    if at.tzinfo is None:
        raise InputError("needs a UTC offset", field="effective_at")
    existing = uow.flags.open_ids(borrower_id, name, channel, debt, value)
    if existing:
        return FlagChange("set", borrower_id, name, tuple(existing), False)
    flag = BorrowerFlag(borrower_id, name, at, channel, debt, value, until, by, reason, source or "cli")
    flag_id = uow.flags.add(flag, now)
    audit.append(
        uow,
        by,
        "borrower.flag.set",
        f"borrower:{borrower_id}",
        {
            "flag_id": flag_id,
            "flag": name,
            "channel": channel,
            "debt": debt,
            "value": _shown_value(name, value),
            "until": until.isoformat() if until else None,
            "effective_at": at.isoformat(),
            "reason": reason,
            "source": flag.source,
        },
    )
    return FlagChange("set", borrower_id, name, (flag_id,), True)


def clear_flag(
    uow: UnitOfWork,
    borrower_id: str,
    name: str,
    *,
    by: str,
    reason: str,
    source: str,
    channel: str = "",
    debt: str = "",
    value: str | None = None,
    at: datetime | None = None,
) -> FlagChange:
    """End the matching facts in force; clearing one that is not in force is bad input."""
    by, reason = _need_text(by, "by"), _need_text(reason, "reason")
    if name not in FLAG_KINDS:
        check_flag(name, channel, debt, "", None)  # raises the error naming the known flags
    _need_borrower(uow, borrower_id, debt)
    ids = uow.flags.open_ids(borrower_id, name, channel, debt, value or None)
    if not ids:
        what = name + (f" on {channel}" if channel else "") + (f" for {debt}" if debt else "")
        raise InputError(f"borrower {borrower_id!r} has no {what} in force", field="clear")
    when = at or datetime.now(UTC)
    uow.flags.clear(ids, when, by, reason)
    audit.append(
        uow,
        by,
        "borrower.flag.clear",
        f"borrower:{borrower_id}",
        {"flag_ids": ids, "flag": name, "channel": channel, "debt": debt, "reason": reason, "source": source},
    )
    return FlagChange("clear", borrower_id, name, tuple(ids), True)


def _shown_value(name: str, value: str) -> str:
    """A flag's value as views show it: phone numbers (work numbers) masked."""
    return (mask_phone(value) or "") if name == "work_number" else value


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def show(uow: UnitOfWork, borrower_id: str, *, at: datetime | None = None) -> dict[str, Any]:
    """The borrower's facts: those in force at `at` (now) and the full history, masked."""
    borrower = uow.borrowers.get(borrower_id)
    if borrower is None:
        raise NotFound(f"no borrower {borrower_id!r}")
    at = at or datetime.now(UTC)
    today = at.date()
    rows = []
    for r in uow.flags.history(borrower_id):
        flag = BorrowerFlag(
            r["borrower_id"], r["name"], r["effective_at"], r["channel"], r["debt"], r["value"], r["until"],
            cleared_at=r["cleared_at"],
        )  # fmt: skip
        rows.append(
            {
                "id": r["id"],
                "flag": r["name"],
                "channel": r["channel"] or None,
                "debt": r["debt"] or None,
                "value": _shown_value(r["name"], r["value"]) or None,
                "until": _iso(r["until"]),
                "in_force": flag.in_force(at) and flag.in_force_on(today),
                "effective_at": _iso(r["effective_at"]),
                "set_at": _iso(r["set_at"]),
                "set_by": r["set_by"],
                "reason": r["reason"],
                "source": r["source"],
                "cleared_at": _iso(r["cleared_at"]),
                "cleared_by": r["cleared_by"],
                "clear_reason": r["clear_reason"],
            }
        )
    return {
        "borrower": borrower.view(),
        "at": at.isoformat(),
        "in_force": [r for r in rows if r["in_force"]],
        "history": rows,
    }


def flags_of(uow: UnitOfWork, borrower_ids: Sequence[str]) -> dict[str, list[BorrowerFlag]]:
    """Every flag of these borrowers (cleared ones too: `BorrowerFlag.in_force` tells them apart)."""
    return uow.flags.for_borrowers(borrower_ids)
