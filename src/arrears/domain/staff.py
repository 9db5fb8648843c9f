"""Staff who sign in to the console: who they are, what their role lets them see, and the sign-in rules.

The roles are the API's (`services/auth.py`): admin, strategist, agent, supervisor, compliance, agency.
A user of an agency sees only the accounts placed with that agency, with personal data masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arrears.domain.errors import InputError

STAFF_ROLES = ("admin", "strategist", "agent", "supervisor", "compliance", "agency")
# Which console pages each role may open (the desk and the account pages are case work).
PAGES: dict[str, frozenset[str]] = {
    "desk": frozenset({"admin", "agent", "supervisor", "agency"}),
    "accounts": frozenset({"admin", "agent", "supervisor", "agency", "compliance"}),
    "approvals": frozenset({"admin", "supervisor"}),
    "outbox": frozenset({"admin", "supervisor"}),
    "strategy": frozenset({"admin", "strategist", "supervisor"}),
    "compliance": frozenset({"admin", "compliance", "supervisor"}),
}
# Roles that may see a borrower's name and phone unmasked (a click, recorded as pii.view).
MAY_REVEAL = frozenset({"admin", "agent", "supervisor", "compliance"})
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A console user as stored (the password only as its argon2 hash)."""

    name: str
    role: str
    password_hash: str
    agency_id: str | None = None
    languages: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime | None = None

    def may_open(self, page: str) -> bool:
        return self.role in PAGES.get(page, frozenset())


@dataclass(frozen=True, slots=True)
class Lockout:
    """After `max_failures` wrong passwords in a row, sign-in is refused for `lock_for` (even a right one)."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)

    def locked(self, user: StaffUser, now: datetime) -> bool:
        return user.locked_until is not None and now < user.locked_until

    def after_failure(self, failures: int, now: datetime) -> datetime | None:
        """When a lock that this failure (the `failures`-th in a row) starts ends, or None: no lock."""
        return now + self.lock_for if failures >= self.max_failures else None


@dataclass(frozen=True, slots=True)
class SessionRules:
    """A session ends after `idle` without a request, and after `absolute` in any case."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)

    def alive(self, created_at: datetime, last_seen: datetime, now: datetime) -> bool:
        return now - last_seen < self.idle and now - created_at < self.absolute


@dataclass(frozen=True, slots=True)
class NewStaffUser:
    name: str
    role: str
    agency_id: str | None = None
    languages: tuple[str, ...] = ()
    buckets: tuple[str, ...] = field(default_factory=tuple)


def check_new_user(user: NewStaffUser, password: str) -> None:
    """A new user's fields and password, or InputError naming the field."""
    if not user.name.strip() or len(user.name) > 64 or any(c.isspace() for c in user.name):
        raise InputError("a user name is 1 to 64 characters without spaces", field="NAME")
    if user.role not in STAFF_ROLES:
        raise InputError(f"unknown role {user.role!r} (one of {', '.join(STAFF_ROLES)})", field="--role")
    if user.role == "agency" and not user.agency_id:
        raise InputError("an agency user needs --agency", field="--agency")
    if user.role != "agency" and user.agency_id:
        raise InputError("only agency users belong to an agency", field="--agency")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must be at least {MIN_PASSWORD} characters", field="password")
