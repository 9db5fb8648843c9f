"""Request plumbing: one unit of work per request, the caller (API key or borrower token), role and
data-scope walls. Out-of-scope loans answer 404, so a borrower or an agency cannot probe which ids exist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from arrears.services.agencies import placement_of
from arrears.services.auth import Principal, principal_for_key, principal_for_token
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork


def config(request: Request) -> CaseworkConfig:
    cfg: CaseworkConfig = request.app.state.config
    return cfg


def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.store_url) as uow:
        yield uow


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
Config = Annotated[CaseworkConfig, Depends(config)]


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
    return found


Caller = Annotated[Principal, Depends(caller)]


def roles(*allowed: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through (403 otherwise)."""

    def check(who: Caller) -> Principal:
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
