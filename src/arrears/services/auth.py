"""Who is calling: API keys for staff and systems (stored hashed), signed short-lived tokens for borrowers.

An API key reads `ak_<id>_<secret>`; only the SHA-256 of the whole key is stored. A borrower token reads
`bt.<payload>.<signature>` where payload is base64url JSON {"sub": borrower id, "exp": unix seconds} and the
signature is HMAC-SHA256 under the deployment's token secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from arrears.domain.cases import Skills
from arrears.domain.casework_records import ApiKey
from arrears.domain.errors import InputError
from arrears.services.unit_of_work import UnitOfWork

ROLES = ("admin", "strategist", "agent", "supervisor", "compliance", "agency", "borrower")
STAFF_ROLES = ("admin", "strategist", "agent", "supervisor", "compliance")
BORROWER_TOKEN_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a name for the audit log, a role, and the scope (agency, borrower) it is confined to."""

    name: str
    role: str
    agency_id: str | None = None
    borrower_id: str | None = None
    skills: Skills = field(default_factory=Skills)

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


@dataclass(frozen=True, slots=True)
class NewKey:
    id: str
    key: str  # shown once
    name: str
    role: str
    agency_id: str | None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_api_key(
    uow: UnitOfWork,
    *,
    name: str,
    role: str,
    agency_id: str | None = None,
    languages: tuple[str, ...] = (),
    buckets: tuple[str, ...] = (),
) -> NewKey:
    """Create a key (not committed); the plain key is returned once and never stored."""
    if role not in ROLES or role == "borrower":
        raise InputError(
            f"unknown role {role!r} (one of {', '.join(r for r in ROLES if r != 'borrower')})", field="role"
        )
    if role == "agency" and not agency_id:
        raise InputError("an agency key needs --agency", field="agency")
    if role != "agency" and agency_id:
        raise InputError("only agency keys belong to an agency", field="agency")
    if not name.strip():
        raise InputError("a key needs a name", field="name")
    key_id = secrets.token_hex(6)
    key = f"ak_{key_id}_{secrets.token_urlsafe(24)}"
    skills = Skills(frozenset(languages), frozenset(buckets))
    uow.api_keys.add(ApiKey(key_id, name.strip(), role, agency_id, _digest(key), skills))
    return NewKey(key_id, key, name.strip(), role, agency_id)


def revoke_api_key(uow: UnitOfWork, key_id: str) -> bool:
    """Revoke a key by its id; False if there is no such active key."""
    return uow.api_keys.revoke(key_id)


def principal_for_key(uow: UnitOfWork, key: str) -> Principal | None:
    """The principal of an active key, or None."""
    found = uow.api_keys.active(_digest(key))
    if found is None:
        return None
    return Principal(found.name, found.role, agency_id=found.agency_id, skills=found.skills)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_borrower_token(
    secret: str, borrower_id: str, *, ttl: timedelta = BORROWER_TOKEN_TTL, now: datetime | None = None
) -> str:
    """A signed token that lets one borrower see their own accounts until it expires."""
    exp = int(((now or datetime.now(UTC)) + ttl).timestamp())
    payload = _b64(json.dumps({"sub": borrower_id, "exp": exp}, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"bt.{payload}.{signature}"


def principal_for_token(secret: str, token: str, *, now: datetime | None = None) -> Principal | None:
    """The borrower a token names, if the signature holds and it has not expired; else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "bt":
        return None
    expected = _b64(hmac.new(secret.encode(), parts[1].encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
        borrower_id, exp = str(claims["sub"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if (now or datetime.now(UTC)).timestamp() >= exp:
        return None
    return Principal(borrower_id, "borrower", borrower_id=borrower_id)


def sign_body(secret: str, body: bytes) -> str:
    """The payment webhook's signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a webhook signature ("sha256=" prefix allowed)."""
    given = signature.removeprefix("sha256=").strip().lower()
    return hmac.compare_digest(sign_body(secret, body), given)
