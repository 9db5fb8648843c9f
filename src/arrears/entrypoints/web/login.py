"""Sign in (`/login`: form fields username, password, csrf), sign out, the language switch, the home page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from arrears.domain.staff import PAGES
from arrears.entrypoints.web import i18n
from arrears.entrypoints.web.rendering import render
from arrears.entrypoints.web.session import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Uow,
    Viewer,
    now_of,
    secure,
    viewer,
)
from arrears.services.staff import sign_in, sign_out

router = APIRouter()
MESSAGES = {
    "bad_credentials": "Wrong user name or password.",
    "locked": "Too many failed sign-ins: this user is locked for a while.",
    "disabled": "Wrong user name or password.",  # a disabled account is not told apart from a wrong one
}
HOME_ORDER = ("desk", "approvals", "strategy", "compliance", "outbox")


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no //host): an open redirect is no use to a phisher."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status,
        csrf=token,
        error=error,
        next=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/login"
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    uow: Uow,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    translate = i18n.translations(i18n.language_of(request)).gettext
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(request, error=translate("The form has expired: try again."), status=403)
    result = sign_in(uow, username.strip(), password, now_of(request))
    uow.commit()
    if result.token is None:
        message = translate(MESSAGES.get(result.refused or "", MESSAGES["bad_credentials"]))
        return _login_page(request, error=message, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="lax", secure=secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, who: Annotated[Viewer, Depends(viewer)], csrf: Annotated[str, Form()] = ""
) -> Response:
    who.check_csrf(csrf)
    sign_out(who.uow, request.cookies.get(COOKIE, ""), who.principal.actor)
    who.uow.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def choose_language(request: Request, code: str) -> Response:
    """Remember a language (zh-CN or en) for a year and go back."""
    chosen = code if code in i18n.LANGUAGES else i18n.DEFAULT
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        i18n.COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=secure(request), path="/"
    )
    return response


@router.get("/")
def home(who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """The first page the role may open."""
    for name in HOME_ORDER:
        if who.user.role in PAGES[name]:
            return RedirectResponse(f"/{name}", status_code=303)
    return RedirectResponse("/login", status_code=303)
