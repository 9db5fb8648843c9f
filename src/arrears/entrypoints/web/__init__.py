"""The staff console: server-rendered pages (Jinja2, gettext zh-CN / en) with small fetch-and-swap partial
updates, in the API's process (`arrears serve`), its assets served by the app itself (no CDN). Also serves
`/docs` (Swagger UI) from the same static files, so the API's docs work offline. See docs/console.md."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from arrears.entrypoints.web import approvals, desk, login, operations, oversight, portal, strategy
from arrears.entrypoints.web.rendering import STATIC, render
from arrears.entrypoints.web.session import COOKIE, NeedLogin, PageError, login_url

# Paths both the API (JSON) and the console (HTML) answer: /accounts/{loan_id} and /outbox.
SHARED_PREFIXES = ("/accounts/", "/outbox")
CONSOLE_PREFIX = "/console"


class ConsolePaths:
    """Route a browser's request for /accounts/… or /outbox… to the console's page (mounted under /console),
    an API client's to the API: a request carrying an API key or token is the API's; one carrying the
    console's session cookie, or asking for HTML, is the console's. ASGI middleware, no body touched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SHARED_PREFIXES) and _is_console(scope):
            scope = {**scope, "path": CONSOLE_PREFIX + scope["path"]}
        await self.app(scope, receive, send)


def _is_console(scope: Any) -> bool:
    headers = {k.lower(): v for k, v in scope.get("headers", ())}
    if b"authorization" in headers or b"x-api-key" in headers:
        return False
    cookies = headers.get(b"cookie", b"")
    return COOKIE.encode() + b"=" in cookies or b"text/html" in headers.get(b"accept", b"")


def install(app: FastAPI) -> None:
    """Mount the console's pages, its static assets and the offline /docs on the app."""
    app.add_middleware(ConsolePaths)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (login, desk, approvals, operations, strategy, oversight, portal):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="arrears API",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin) -> Response:
        if request.headers.get("x-console-fetch"):
            return JSONResponse({"login": login_url(exc.next_path)}, status_code=401)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", status_code=exc.status, message=exc.message, code=exc.status)
