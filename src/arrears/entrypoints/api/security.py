"""Request plumbing: one unit of work per request, the caller (API key or borrower token) and its rate
limit, role and data-scope walls. Out-of-scope loans answer 404, so a borrower or an agency cannot probe
which ids exist.

Dependencies that touch the store are plain functions (FastAPI runs them in its thread pool, like the
handlers); the ones that only look at what is already known are `async def` and cost no thread hop."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from arrears.entrypoints.api.limits import TokenBuckets
from arrears.services.agencies import placement_of
from arrears.services.auth import Principal, principal_for_key, principal_for_token
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork


async def config(request: Request) -> CaseworkConfig:
    cfg: CaseworkConfig = request.app.state.config
    return cfg


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.store_url) as uow:
        yield uow


async def raw_body(request: Request) -> bytes:
    """The request's raw body (read on the event loop; the handler that needs it runs in a thread)."""
    return await request.body()


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
Config = Annotated[CaseworkConfig, Depends(config)]
RawBody = Annotated[bytes, Depends(raw_body)]


def caller(request: Request, uow: Uow, cfg: Config) -> Principal:
    """The authenticated caller: `Authorization: Bearer <key or token>` or `X-API-Key: <key>`."""
    header = request.headers.get("authorization", "")
    credential = (
        header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    )
    found = None
    if credential.startswith("bt."):
        found = principal_for_token(cfg.token_secret, credential)
    elif credential:
        found = principal_for_key(uow, credential)
    if found is None:
        raise HTTPException(401, "a valid API key or borrower token is required")
    buckets: TokenBuckets = request.app.state.rate_limits
    buckets.take(_bucket_of(found, credential))
    return found


def _bucket_of(who: Principal, credential: str) -> str:
    """Whose rate limit a request counts against: the API key (ak_<id>_…), or the borrower of a token."""
    if who.role == "borrower":
        return f"borrower:{who.borrower_id}"
    return "key:" + credential.split("_")[1] if credential.count("_") >= 2 else "key:" + who.name


Caller = Annotated[Principal, Depends(caller)]


def roles(*allowed: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets only the given roles through (403 otherwise)."""

    async def check(who: Caller) -> Principal:
        if who.role not in allowed:
            raise HTTPException(403, f"role {who.role} may not do this (allowed: {', '.join(allowed)})")
        return who

    return check


def today() -> datetime:
    return datetime.now(UTC)


def check_loan_scope(uow: UnitOfWork, who: Principal, loan_id: str) -> None:
    """A borrower sees only their own loans, an agency only the loans placed with it (404 otherwise)."""
    if who.role == "borrower":
        if not uow.loans.exists(loan_id) or uow.loans.record(loan_id).borrower_id != who.borrower_id:
            raise HTTPException(404, f"unknown loan {loan_id!r}")
    elif who.role == "agency" and placement_of(uow, loan_id, today().date()) != who.agency_id:
        raise HTTPException(404, f"unknown loan {loan_id!r}")
