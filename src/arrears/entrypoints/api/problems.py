"""Errors as RFC 9457 problem details (application/problem+json), with the offending field named."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrears.domain.errors import InputError, NotFound

PROBLEM = "application/problem+json"
TYPE_BASE = "https://arrears.invalid/problems/"
# The body of every error answer, as the OpenAPI document declares it (`default` response of each operation).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "the request field at fault"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "job_id": {"type": "string", "description": "409 on a job: the one already queued or running"},
    },
}


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


# What a string held to a pattern must look like, in words (pydantic would quote the regular expression).
PATTERN_WORDS: dict[str, str] = {}
_CHOICES = re.compile(r"^\^\(([\w|]+)\)\$$")


def says(pattern: str, words: str) -> str:
    """Register how a failed match of `pattern` reads in an error (`must …`); the pattern, for Field()."""
    PATTERN_WORDS[pattern] = words
    return pattern


def readable(error: Mapping[str, Any]) -> str:
    """A validation error's message in words: a string that does not match its pattern says what it must
    be (one of a list of choices, or the registered description), never the regular expression."""
    if error.get("type") == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        if pattern in PATTERN_WORDS:
            return PATTERN_WORDS[pattern]
        if choices := _CHOICES.match(pattern):
            return "must be one of " + ", ".join(choices.group(1).split("|"))
        return "is not in the expected form (see the OpenAPI document)"
    return str(error.get("msg", "invalid"))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": field_of(e.get("loc", ())), "message": readable(e)} for e in exc.errors()]
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


def document(app: FastAPI) -> None:
    """Declare the error answers as they are: every operation's `default` response (and its 422) is a
    problem+json document (FastAPI would declare its own validation-error shape)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = PROBLEM_SCHEMA
        content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {
                        "description": "Invalid request (the field is named)",
                        "content": content,
                    }
                responses["default"] = {
                    "description": "An error (RFC 9457 problem details)",
                    "content": content,
                }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
