"""Console users and their sessions (migration 0008_staff): users with argon2 hashes, failed sign-ins and
lock-outs; a session row per sign-in, keyed by the SHA-256 of its cookie (the cookie itself is not stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import JSONDoc, UtcDateTime
from arrears.domain.staff import StaffUser


class StaffUserRow(Base):
    __tablename__ = "staff_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)  # {"languages": [...], "buckets": [...]}
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffSessionRow(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)


def _user(row: Any) -> StaffUser:
    skills = row.skills or {}
    return StaffUser(
        name=row.name,
        role=row.role,
        password_hash=row.password_hash,
        agency_id=row.agency_id,
        languages=frozenset(skills.get("languages", ())),
        buckets=frozenset(skills.get("buckets", ())),
        disabled=bool(row.disabled),
        failed_logins=int(row.failed_logins),
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


class StaffRepository:
    """Users and sessions on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, name: str) -> StaffUser | None:
        row = self.connection.execute(select(StaffUserRow).where(StaffUserRow.name == name)).first()
        return _user(row) if row is not None else None

    def add(self, user: StaffUser, at: datetime) -> None:
        self.connection.execute(
            StaffUserRow.__table__.insert().values(
                name=user.name,
                role=user.role,
                agency_id=user.agency_id,
                skills={"languages": sorted(user.languages), "buckets": sorted(user.buckets)},
                password_hash=user.password_hash,
                disabled=False,
                failed_logins=0,
                created_at=at,
            )
        )

    def all(self) -> list[StaffUser]:
        return [_user(r) for r in self.connection.execute(select(StaffUserRow).order_by(StaffUserRow.name))]

    def set_disabled(self, name: str, disabled: bool) -> bool:
        done = self.connection.execute(
            update(StaffUserRow).where(StaffUserRow.name == name).values(disabled=disabled)
        )
        return bool(done.rowcount)

    def set_password(self, name: str, password_hash: str) -> None:
        self.connection.execute(
            update(StaffUserRow).where(StaffUserRow.name == name).values(password_hash=password_hash)
        )

    def record_failure(self, name: str, failures: int, locked_until: datetime | None) -> None:
        self.connection.execute(
            update(StaffUserRow)
            .where(StaffUserRow.name == name)
            .values(failed_logins=failures, locked_until=locked_until)
        )

    def record_success(self, name: str) -> None:
        self.connection.execute(
            update(StaffUserRow).where(StaffUserRow.name == name).values(failed_logins=0, locked_until=None)
        )

    # --- sessions

    def add_session(self, token_hash: str, user_name: str, csrf: str, at: datetime) -> None:
        self.connection.execute(
            StaffSessionRow.__table__.insert().values(
                token_hash=token_hash, user_name=user_name, csrf=csrf, created_at=at, last_seen=at
            )
        )

    def session(self, token_hash: str) -> tuple[str, str, datetime, datetime] | None:
        """(user name, CSRF token, created at, last seen) of a session, or None."""
        row = self.connection.execute(
            select(
                StaffSessionRow.user_name,
                StaffSessionRow.csrf,
                StaffSessionRow.created_at,
                StaffSessionRow.last_seen,
            ).where(StaffSessionRow.token_hash == token_hash)
        ).first()
        return (row[0], row[1], row[2], row[3]) if row is not None else None

    def touch_session(self, token_hash: str, at: datetime) -> None:
        self.connection.execute(
            update(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash).values(last_seen=at)
        )

    def end_session(self, token_hash: str) -> None:
        self.connection.execute(delete(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash))

    def end_sessions_of(self, user_name: str) -> int:
        done = self.connection.execute(delete(StaffSessionRow).where(StaffSessionRow.user_name == user_name))
        return int(done.rowcount or 0)
