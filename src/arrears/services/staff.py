"""Console users: create, list, disable; sign in (argon2, lock-out after repeated failures); sessions.

A session is a random cookie value; the store keeps only its SHA-256 with the user, a CSRF token and the
times (idle and absolute expiry, domain/staff.SessionRules). No server secret is needed, so none has a
default. Every sign-in, failure, lock, user change and sign-out is in the audit log.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from arrears.domain.cases import Skills
from arrears.domain.errors import InputError, NotFound
from arrears.domain.staff import Lockout, NewStaffUser, SessionRules, StaffUser, check_new_user
from arrears.services import audit
from arrears.services.auth import Principal
from arrears.services.unit_of_work import UnitOfWork

TOUCH_EVERY = timedelta(seconds=30)
_hasher = PasswordHasher()
# Verified when the user does not exist, so a wrong name costs the same time as a wrong password.
_DUMMY = _hasher.hash("not-a-password-of-anyone")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: StaffUser) -> Principal:
    """The user as the services see a caller (the same roles and scopes as an API key)."""
    return Principal(
        user.name, user.role, agency_id=user.agency_id, skills=Skills(user.languages, user.buckets)
    )


def create_user(uow: UnitOfWork, new: NewStaffUser, password: str, actor: str, now: datetime) -> StaffUser:
    """Add a user (not committed); InputError for bad fields or a name taken."""
    check_new_user(new, password)
    if uow.staff.get(new.name) is not None:
        raise InputError(f"user {new.name!r} exists", field="NAME")
    user = StaffUser(
        name=new.name,
        role=new.role,
        password_hash=_hasher.hash(password),
        agency_id=new.agency_id,
        languages=frozenset(new.languages),
        buckets=frozenset(new.buckets),
    )
    uow.staff.add(user, now)
    detail = {"role": new.role, "agency": new.agency_id, "languages": list(new.languages)}
    audit.append(uow, actor, "user.create", f"user:{new.name}", {**detail, "buckets": list(new.buckets)})
    return user


def set_disabled(uow: UnitOfWork, name: str, disabled: bool, actor: str) -> None:
    """Disable (and sign out everywhere) or enable a user; NotFound for an unknown name."""
    if not uow.staff.set_disabled(name, disabled):
        raise NotFound(f"no user {name!r}")
    if disabled:
        uow.staff.end_sessions_of(name)
    audit.append(uow, actor, "user.disable" if disabled else "user.enable", f"user:{name}", {})


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: a session (cookie value and CSRF token) or a refusal."""

    user: StaffUser | None
    token: str | None = None
    csrf: str | None = None
    refused: str | None = None  # "bad_credentials" | "locked" | "disabled"


def sign_in(
    uow: UnitOfWork, name: str, password: str, now: datetime, lockout: Lockout | None = None
) -> SignIn:
    """Check a name and password; on success open a session. The caller commits either way (a failure
    is counted and audited)."""
    rules = lockout or Lockout()
    user = uow.staff.get(name) if name else None
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY, password or "x")
        audit.append(uow, "console", "login.failed", f"user:{name[:64]}", {"reason": "unknown user"})
        return SignIn(None, refused="bad_credentials")
    if user.disabled:
        audit.append(uow, "console", "login.failed", f"user:{name}", {"reason": "disabled"})
        return SignIn(None, refused="disabled")
    if rules.locked(user, now):
        audit.append(uow, "console", "login.failed", f"user:{name}", {"reason": "locked"})
        return SignIn(None, refused="locked")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        failures = user.failed_logins + 1
        until = rules.after_failure(failures, now)
        uow.staff.record_failure(name, 0 if until else failures, until)
        detail: dict[str, object] = {"reason": "wrong password", "failures": failures}
        if until:
            detail["locked_until"] = until.astimezone(UTC).isoformat()
        audit.append(uow, "console", "login.locked" if until else "login.failed", f"user:{name}", detail)
        return SignIn(None, refused="locked" if until else "bad_credentials")
    if _hasher.check_needs_rehash(user.password_hash):
        uow.staff.set_password(name, _hasher.hash(password))
    uow.staff.record_success(name)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    uow.staff.add_session(_digest(token), name, csrf, now)
    audit.append(uow, f"{user.role}:{name}", "login", f"user:{name}", {})
    return SignIn(user, token, csrf)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    user: StaffUser
    csrf: str


def session_user(
    uow: UnitOfWork, token: str, now: datetime, rules: SessionRules | None = None
) -> ActiveSession | None:
    """The signed-in user of a session cookie (its last-seen time moved to now), or None when the session
    is unknown, expired or its user disabled (an expired session is deleted). The caller commits."""
    if not token:
        return None
    key = _digest(token)
    found = uow.staff.session(key)
    if found is None:
        return None
    name, csrf, created, last_seen = found
    user = uow.staff.get(name)
    if user is None or user.disabled or not (rules or SessionRules()).alive(created, last_seen, now):
        uow.staff.end_session(key)
        return None
    if now - last_seen > TOUCH_EVERY:  # a write per minute at most, not per page
        uow.staff.touch_session(key, now)
    return ActiveSession(user, csrf)


def sign_out(uow: UnitOfWork, token: str, actor: str) -> None:
    uow.staff.end_session(_digest(token))
    audit.append(uow, actor, "logout", f"user:{actor.split(':', 1)[-1]}", {})
