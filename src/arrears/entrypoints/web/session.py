"""Who is signed in: the session cookie, the CSRF token of every form, the role's pages and the clock.

The cookie is HttpOnly, SameSite=Lax and Secure on https; the store keeps only its SHA-256 (services/staff).
Every POST carries the session's CSRF token in a `csrf` field; a POST without it is refused (403).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from arrears.domain.staff import StaffUser
from arrears.entrypoints.web.i18n import language_of, translations
from arrears.services.auth import Principal
from arrears.services.staff import principal_of, session_user
from arrears.services.unit_of_work import UnitOfWork

COOKIE = "arrears_session"
LOGIN_CSRF_COOKIE = "arrears_login_csrf"


class NeedLogin(Exception):
    """No live session: the page redirects to /login (a fetch gets 401)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """A console page that cannot be shown: 403 (role), 404 (not found or out of scope), 400 (bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now_of(request: Request) -> datetime:
    """The app's clock (tests set `app.state.clock`), else the wall clock; always aware."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto == "https"


def console_uow(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.store_url) as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(console_uow)]


@dataclass
class Viewer:
    """The signed-in user of a request, with their language and the request's clock."""

    user: StaffUser
    principal: Principal
    csrf: str
    lang: str
    now: datetime
    uow: UnitOfWork

    def gettext(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def may(self, page: str) -> bool:
        return self.user.may_open(page)

    def check_csrf(self, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, self.csrf):
            raise PageError(403, self.gettext("The form has expired: reload the page and try again."))


def viewer(request: Request, uow: Uow) -> Viewer:
    now = now_of(request)
    active = session_user(uow, request.cookies.get(COOKIE, ""), now)
    uow.commit()  # the session's last-seen time (or the expired session's removal)
    if active is None:
        path = request.url.path.removeprefix("/console") + (
            f"?{request.url.query}" if request.url.query else ""
        )
        raise NeedLogin(path)
    user = active.user
    return Viewer(user, principal_of(user), active.csrf, language_of(request), now, uow)


def page(name: str) -> Callable[..., Any]:
    """A dependency: the signed-in user, if their role may open the page `name` (403 otherwise)."""

    def check(who: Annotated[Viewer, Depends(viewer)]) -> Viewer:
        if not who.may(name):
            raise PageError(403, who.gettext("Your role may not open this page."))
        return who

    return check


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")
