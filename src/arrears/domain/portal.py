"""The borrower's portal links: a short unguessable token bound to one loan (and its borrower), valid until it
expires or is revoked, and the step-up check (the last 4 characters of the ID number) that must pass before
anything beyond the balance is shown or changed. After 5 wrong answers the link is locked.

The store keeps only the SHA-256 of a token (and of the step-up cookie), never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from arrears.domain.errors import InputError

MAX_STEP_UP_TRIES = 5
DEFAULT_TTL = timedelta(days=7)
MAX_TTL = timedelta(days=90)
# How long a passed step-up lasts (the cookie it sets).
STEP_UP_FOR = timedelta(minutes=30)
_TTL = re.compile(r"^\s*(\d{1,4})\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_ttl(text: str) -> timedelta:
    """'7d', '12h' or '30m' → a timedelta between 1 minute and 90 days (InputError otherwise)."""
    found = _TTL.match(text or "")
    if found is None:
        raise InputError("not a duration like 7d, 12h or 30m", field="ttl")
    ttl = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise InputError("must be between 1 minute and 90 days", field="ttl")
    return ttl


def token_hash(token: str) -> str:
    """What the store keeps of a token or cookie: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class PortalLink:
    """A stored link: whose it is, until when, whether revoked, the step-up's state."""

    token_hash: str
    loan_id: str
    borrower_id: str
    created_at: datetime
    expires_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    failed_tries: int = 0
    session_hash: str | None = None
    session_until: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Neither expired nor revoked nor locked by wrong step-up answers."""
        return self.revoked_at is None and now < self.expires_at and not self.locked

    @property
    def locked(self) -> bool:
        return self.failed_tries >= MAX_STEP_UP_TRIES

    def stepped_up(self, cookie: str, now: datetime) -> bool:
        """The browser holds the cookie of a step-up this link passed, still within its time."""
        if not cookie or self.session_hash is None or self.session_until is None:
            return False
        return hmac.compare_digest(token_hash(cookie), self.session_hash) and now < self.session_until


def id_suffix_matches(id_number: str | None, answer: str) -> bool:
    """The answer equals the last 4 characters of the ID number on file (case-insensitive, constant time)."""
    if not id_number or len(id_number) < 4:
        return False
    given = answer.strip().upper()
    return len(given) == 4 and hmac.compare_digest(given.encode(), id_number[-4:].upper().encode())
