"""Errors as RFC 9457 problem details (application/problem+json), with the offending field named."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrears.domain.errors import InputError, NotFound

PROBLEM = "application/problem+json"
TYPE_BASE = "https://arrears.invalid/problems/"


def problem(
    status: int, title: str, detail: str, *, kind: str, instance: str = "", **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's location as the field's name in the request."""
    # ("body", "instalments", 0, "due") → "instalments[0].due"; the request part (body/query/path) goes.
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or str(loc[0] if loc else "body")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": field_of(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return problem(
            422,
            "Invalid request",
            f"{first['field']}: {first['message']}",
            kind="validation",
            instance=request.url.path,
            field=first["field"],
            errors=errors,
        )

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        status = 403 if type(exc).__name__ == "ApprovalDenied" else 422
        return problem(
            status,
            "Invalid request" if status == 422 else "Not allowed",
            exc.message,
            kind="input" if status == 422 else "approval",
            instance=request.url.path,
            field=exc.field,
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem(404, "Not found", str(exc), kind="not-found", instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method", 409: "conflict"}
        response = problem(
            exc.status_code,
            kinds.get(exc.status_code, "error").replace("-", " ").capitalize(),
            str(exc.detail),
            kind=kinds.get(exc.status_code, "error"),
            instance=request.url.path,
        )
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
