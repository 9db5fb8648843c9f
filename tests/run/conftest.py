"""A literal portfolio in a fresh store (SQLite and PostgreSQL), driven day by day through the production
services: the daily run (`run_range`) and `dispatch` with every channel on 127.0.0.1 (tests/dispatch/servers.py).

    world = scenario(LOANS_CSV, policy)            # the loans as the import reads them; a Policy
    world.run(day); world.dispatch(at)             # plan one day; send what is due at instant `at`
    world.outbox(), world.attempts(), world.deliveries()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from arrears.adapters.channels import Channel
from arrears.adapters.channels.config import (
    ChannelsConfig,
    build_channels,
    close_channels,
    load_channels_config,
)
from arrears.adapters.policy_file import load_policy
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store.catalog import seed_products
from arrears.adapters.store.dispatch_models import ContactAttemptRow, DeliveryRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.bootstrap import make_dispatcher
from arrears.domain.loans import Payment
from arrears.domain.policy import Policy
from arrears.domain.products import Product
from arrears.services import borrower_facts
from arrears.services.daily_run import RunSummary, run_range
from arrears.services.dispatch import DispatchReport, dispatch
from arrears.services.imports import import_events, import_loans
from arrears.services.unit_of_work import UnitOfWork
from tests.dispatch.servers import HttpSink, SmtpSink, http_sink, smtp_server

ROOT = Path(__file__).parents[2]
LOAN_COLUMNS = "loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,email,timezone,language"


def literal_policy(text: str, tmp_path: Path) -> Policy:
    """A policy written out in the test, loaded as a file would be."""
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@dataclass
class World:
    url: str
    policy: Policy
    config: ChannelsConfig
    channels: dict[str, Channel]
    http: HttpSink
    smtp: SmtpSink
    letters: Path
    profile: Any = None
    reports: list[DispatchReport] = field(default_factory=list)

    def run(self, day: date) -> RunSummary:
        """The daily run of `day`, as `arrears run --as-of DAY` makes it (engine duckdb)."""
        (summary,) = run_range(self.url, day, day, self.policy, self.profile, "duckdb")
        return summary

    def dispatch(self, at: datetime) -> DispatchReport:
        """`arrears dispatch --once` with the clock at `at`."""
        report = dispatch(make_dispatcher(self.url, self.channels, self.config, self.profile, now=lambda: at))
        self.reports.append(report)
        return report

    def select(self, query: Any) -> list[Any]:
        with UnitOfWork(self.url) as uow:
            return list(uow.connection.execute(query).all())

    def outbox(self, **where: Any) -> list[Any]:
        query = select(OutboxRow).order_by(OutboxRow.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxRow, key) == value)
        return self.select(query)

    def attempts(self, **where: Any) -> list[Any]:
        query = select(ContactAttemptRow).order_by(ContactAttemptRow.at, ContactAttemptRow.id)
        for key, value in where.items():
            query = query.where(getattr(ContactAttemptRow, key) == value)
        return self.select(query)

    def deliveries(self) -> list[Any]:
        return self.select(select(DeliveryRow).order_by(DeliveryRow.sent_at, DeliveryRow.outbox_id))

    def flag(self, borrower_id: str, name: str, at: datetime, **kw: str) -> None:
        """Record a borrower fact through the service `arrears borrower flag` uses."""
        with UnitOfWork(self.url) as uow:
            borrower_facts.set_flag(
                uow, borrower_id, name, by="test", reason="scenario", source="cli", effective_at=at, **kw
            )
            uow.commit()

    def pay(self, loan_id: str, on: date, amount: int, payment_id: str) -> None:
        with UnitOfWork(self.url) as uow:
            uow.payments.add(loan_id, Payment(payment_id, on, amount))
            uow.commit()

    def events(self, csv: str, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_text(csv, encoding="utf-8")
        with UnitOfWork(self.url) as uow:
            import_events(uow, path, actor="test")

    def contacts(self, rows: list[dict[str, Any]]) -> None:
        """Contact attempts made outside the dispatcher (an agent's calls, an import)."""
        with UnitOfWork(self.url) as uow:
            uow.connection.execute(insert(ContactAttemptRow), rows)
            uow.commit()


@pytest.fixture
def scenario(store_url: str, tmp_path: Path) -> Iterator[Callable[..., World]]:
    """Build a World: the loans (CSV rows after LOAN_COLUMNS), the policy (a Policy, or a file's path) and
    channel settings as environment variables (ARREARS_LENDER_NAME=...)."""
    with ExitStack() as stack:
        built: list[World] = []

        def build(loans: str, policy: Policy | Path, **settings: str) -> World:
            chosen = policy if isinstance(policy, Policy) else load_policy(policy)
            # the policy's own products, as a lender's catalogue holds them
            with UnitOfWork(store_url) as uow:
                seed_products(
                    uow.connection,
                    {code: Product(code, code, s) for code, s in chosen.products.items()},
                )
                uow.commit()
            path = tmp_path / "loans.csv"
            path.write_text(LOAN_COLUMNS + "\n" + loans.strip() + "\n", encoding="utf-8")
            with UnitOfWork(store_url) as uow:
                import_loans(uow, path, actor="test")
            http = stack.enter_context(http_sink())
            smtp = stack.enter_context(smtp_server())
            letters = tmp_path / "letters"
            config = load_channels_config(
                environ={
                    "ARREARS_EMAIL_HOST": "127.0.0.1",
                    "ARREARS_EMAIL_PORT": str(smtp.port),
                    "ARREARS_SMS_URL": http.url + "/sms",
                    "ARREARS_PUSH_URL": http.url + "/push",
                    "ARREARS_ROBOCALL_URL": http.url + "/ivr",
                    "ARREARS_LETTERS_FOLDER": str(letters),
                    **settings,
                }
            )
            channels = build_channels(config)
            stack.callback(close_channels, channels)
            world = World(
                store_url,
                chosen,
                config,
                channels,
                http,
                smtp,
                letters,
                load_profile(chosen.compliance_profile),
            )
            built.append(world)
            return world

        yield build
