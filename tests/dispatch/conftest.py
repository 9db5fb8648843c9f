"""A small portfolio, one daily run, and every provider running on 127.0.0.1 for the dispatch tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, update

from arrears.adapters.channels.config import (
    ChannelsConfig,
    build_channels,
    close_channels,
    load_channels_config,
)
from arrears.adapters.store.models import BorrowerRow
from arrears.adapters.store.personal_data_repository import sealed_values
from arrears.adapters.store.run_models import OutboxRow
from arrears.bootstrap import make_dispatcher
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.entrypoints.cli.compliance import load_profile
from arrears.entrypoints.cli.run import load_run_policy
from arrears.services.daily_run import run_range
from arrears.services.dispatch import Dispatcher
from arrears.services.unit_of_work import UnitOfWork
from arrears.sim.portfolio import generate_portfolio, load_portfolio
from tests.dispatch.servers import HttpSink, SmppSink, SmtpSink, http_sink, smpp_server, smtp_server

AS_OF = date(2026, 3, 31)
SEND_AT = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai: inside contact hours
ACCOUNTS = 300
SEED = 21


@dataclass
class World:
    url: str
    http: HttpSink
    smtp: SmtpSink
    smpp: SmppSink
    env: dict[str, str]
    letters: Path
    profile: ComplianceProfile
    built: list[dict[str, Any]] = field(default_factory=list)

    def config(self, **overrides: str) -> ChannelsConfig:
        return load_channels_config(environ={**self.env, **overrides})

    def dispatcher(
        self, now: datetime = SEND_AT, config: ChannelsConfig | None = None, **kw: Any
    ) -> Dispatcher:
        cfg = config or self.config()
        channels = build_channels(cfg)
        self.built.append(channels)
        return make_dispatcher(self.url, channels, cfg, self.profile, now=lambda: now, **kw)

    def rows(self, **where: Any) -> list[Any]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as c:
                query = select(OutboxRow).order_by(OutboxRow.id)
                for key, value in where.items():
                    query = query.where(getattr(OutboxRow, key) == value)
                return list(c.execute(query).all())
        finally:
            engine.dispose()

    def execute(self, statement: Any) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as c:
                c.execute(statement)
        finally:
            engine.dispose()


@pytest.fixture
def world(store_url: str, tmp_path: Path) -> Iterator[World]:
    load_portfolio(generate_portfolio(ACCOUNTS, SEED, AS_OF), store_url)
    policy = load_run_policy(None)
    profile = load_profile(policy.compliance_profile)
    run_range(store_url, AS_OF, AS_OF, policy, profile, "reference")
    with http_sink() as http, smtp_server() as smtp, smpp_server() as smpp:
        env = {
            "ARREARS_EMAIL_HOST": "127.0.0.1",
            "ARREARS_EMAIL_PORT": str(smtp.port),
            "ARREARS_SMS_PROVIDER": "smpp",
            "ARREARS_SMPP_HOST": "127.0.0.1",
            "ARREARS_SMPP_PORT": str(smpp.port),
            "ARREARS_PUSH_URL": http.url + "/push",
            "ARREARS_ROBOCALL_URL": http.url + "/ivr",
            "ARREARS_LETTERS_FOLDER": str(tmp_path / "letters"),
            "ARREARS_LENDER_SIGNING_LAWYER": "王律师",  # a lawyer's letter is stopped without them
            "ARREARS_LENDER_FIRM_REGISTRATION": "31310000000000001X",
            "ARREARS_RETRY_BASE_SECONDS": "60",
            "ARREARS_RETRY_MAX_ATTEMPTS": "3",
        }
        world = World(store_url, http, smtp, smpp, env, tmp_path / "letters", profile)
        try:
            yield world
        finally:
            for channels in world.built:
                close_channels(channels)


def give_email(world: World, borrower_id: str, address: str) -> None:
    """Give a borrower an e-mail address, sealed as the store keeps personal data (docs/privacy.md)."""
    with UnitOfWork(world.url) as uow:
        borrower = uow.borrowers.get(borrower_id)
    assert borrower is not None
    values = sealed_values(dataclasses.replace(borrower, email=address))
    world.execute(update(BorrowerRow).where(BorrowerRow.id == borrower_id).values(**values))
