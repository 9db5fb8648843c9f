"""The `compliance check` document: profile name, debtor, history and the attempt to judge.

The file's shape (keys, types, words) is read by adapters/check_document.py, which builds the values
here; what they mean is decided here: a hardship end date is a hardship, a lawyer's letter is a
`lawyer_letter` message unless it says otherwise, and a stated kind must fit the channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from arrears.domain.compliance.model import Attempt, ContactEvent, Debtor
from arrears.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class CheckDocument:
    """A parsed check request."""

    profile: str
    debtor: Debtor
    history: tuple[ContactEvent, ...]
    attempt: Attempt
    expect: Mapping[str, Any] | None = None


def parse_instant(value: object, where: str) -> datetime:
    """An ISO 8601 instant with an offset ("2026-03-08T21:59:00-05:00" or "...Z"); naive times are refused."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        raise InputError(f"needs a time and an offset, not just a date: {value}", field=where)
    else:
        text = str(value).strip()
        try:
            at = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise InputError(f"not an ISO 8601 instant: {value!r}", field=where) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"needs a UTC offset (e.g. +08:00 or Z): {value!s}", field=where)
    return at


def debtor_from(zones: Iterable[str], *, hardship_until: date | None = None, **facts: Any) -> Debtor:
    """The debtor a document describes: each candidate zone once, in order; a hardship end date is a hardship."""
    if hardship_until is not None:
        facts["hardship"] = True
    return Debtor(timezones=tuple(dict.fromkeys(zones)), hardship_until=hardship_until, **facts)


def attempt_from(channel: str, at: datetime, *, kind: str | None = None, **details: Any) -> Attempt:
    """The attempt a document asks about; a stated `kind` (contact, credit_report) must fit the channel."""
    if details.get("message_type") is None and channel == "lawyer_letter":
        details["message_type"] = "lawyer_letter"
    attempt = Attempt(channel=channel, at=at, **details)
    if kind is not None and kind != attempt.kind:
        raise InputError(f"kind {kind!r} does not fit channel {channel!r} (a {attempt.kind})", field="kind")
    return attempt
