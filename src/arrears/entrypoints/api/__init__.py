"""The REST API (FastAPI): `create_app()`; served by `arrears serve`. See docs/api.md."""

from __future__ import annotations

from fastapi import FastAPI

from arrears.bootstrap import configure
from arrears.entrypoints.api import borrower_routes, casework_routes, ledger_routes, problems, provider_routes
from arrears.services.cases import CaseworkConfig, load_config


def create_app(store_url: str | None = None, config: CaseworkConfig | None = None) -> FastAPI:
    """The API on the store at `store_url` (default ARREARS_DB_URL) with the case-work config."""
    configure()
    app = FastAPI(
        title="arrears",
        version="1",
        description="Delinquency management: loans, payments, accounts, cases, promises, plans, disputes.",
    )
    app.state.store_url = store_url
    app.state.config = config or load_config()
    problems.install(app)
    app.include_router(ledger_routes.router)
    app.include_router(casework_routes.router)
    app.include_router(borrower_routes.router)
    app.include_router(provider_routes.router)
    return app


__all__ = ["create_app"]
