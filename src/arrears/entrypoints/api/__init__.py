"""The REST API (FastAPI): `create_app()`; served by `arrears serve` (`app_from_environment` in each of its
worker processes). See docs/api.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from arrears.adapters.casework_file import load_config
from arrears.bootstrap import configure
from arrears.entrypoints import web
from arrears.entrypoints.api import (
    borrower_routes,
    casework_routes,
    jobs,
    ledger_routes,
    limits,
    line_routes,
    litigation_routes,
    privacy_routes,
    problems,
    provider_routes,
)
from arrears.entrypoints.api.limits import ApiLimits
from arrears.services.cases import CaseworkConfig


def create_app(
    store_url: str | None = None, config: CaseworkConfig | None = None, api_limits: ApiLimits | None = None
) -> FastAPI:
    """The API on the store at `store_url` (default ARREARS_DB_URL) with the case-work config and the
    request limits (default: ARREARS_API_* or the built-in ones)."""
    configure()
    config = config or load_config()
    runner = jobs.JobRunner(store_url, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits.share_the_interpreter()
        yield
        runner.shutdown()

    app = FastAPI(
        title="arrears",
        version="1",
        description="Delinquency management: loans, payments, accounts, cases, promises, plans, disputes.",
        lifespan=lifespan,
        docs_url=None,  # served by the console from the app's own assets (works offline)
        redoc_url=None,
    )
    app.state.store_url = store_url
    app.state.config = config
    app.state.jobs = runner
    problems.install(app)
    jobs.install(app)
    limits.install(app, api_limits or ApiLimits.from_env())
    app.include_router(ledger_routes.router)
    app.include_router(casework_routes.router)
    app.include_router(borrower_routes.router)
    app.include_router(provider_routes.router)
    app.include_router(line_routes.router)  # credit lines, delinquency history (docs/books.md)
    app.include_router(litigation_routes.router)  # litigation cases (docs/agencies.md)
    app.include_router(privacy_routes.router)  # PIPL export / erasure, admin (docs/privacy.md)
    app.include_router(jobs.router)
    web.install(app)
    problems.document(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of one `arrears serve` worker: store, config and limits from the environment."""
    return create_app()


__all__ = ["app_from_environment", "create_app"]
