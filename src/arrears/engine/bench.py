"""Measured throughput of the daily run's engines on a generated portfolio (no timing asserts anywhere)."""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.domain.policy.model import Policy
from arrears.engine.plan import engine
from arrears.engine.portfolio import Portfolio

BENCH_AS_OF = date(2026, 3, 31)
LOANS_PER_BORROWER = 1.5  # what the synthetic generator produces on average


@dataclass
class Measurement:
    engine: str
    accounts: int
    seconds: float
    actions: int
    peak_rss_mb: float

    @property
    def accounts_per_s(self) -> float:
        return self.accounts / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "accounts": self.accounts,
            "seconds": round(self.seconds, 3),
            "accounts_per_s": round(self.accounts_per_s),
            "actions": self.actions,
            "peak_rss_mb": round(self.peak_rss_mb),
        }


def generated_portfolio(accounts: int, seed: int = 1) -> Portfolio:
    """A synthetic portfolio with exactly `accounts` loans, in the engine's layout."""
    from arrears.sim.portfolio import generate_portfolio

    borrowers = max(1, int(accounts / LOANS_PER_BORROWER) + 10)
    portfolio = generate_portfolio(borrowers, seed, BENCH_AS_OF).engine_portfolio()
    return take_accounts(portfolio, accounts)


def take_accounts(portfolio: Portfolio, accounts: int) -> Portfolio:
    """The first `accounts` loans of a portfolio and everything that belongs to them."""
    loans = portfolio["loans"].slice(0, accounts)
    keep = loans["loan_id"]
    tables = {"loans": loans, "borrowers": portfolio["borrowers"]}
    for name, table in portfolio.tables.items():
        if name not in tables:
            tables[name] = table.filter(pc.is_in(table["loan_id"], value_set=keep))
    return Portfolio(tables, dict(portfolio.products))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    portfolio: Portfolio, policy: Policy, engine_name: str, out_dir: Path | None = None
) -> Measurement:
    """Ledger + features + segments + steps for every account, and the outbox written (as Parquet)."""
    run = engine(engine_name)
    started = time.perf_counter()
    evaluation = run(portfolio, policy, BENCH_AS_OF, None)
    with tempfile.TemporaryDirectory() if out_dir is None else _keep(out_dir) as folder:
        pq.write_table(evaluation.actions, Path(folder) / f"outbox-{engine_name}.parquet")
    seconds = time.perf_counter() - started
    return Measurement(
        engine_name, portfolio.account_count, seconds, evaluation.actions.num_rows, peak_rss_mb()
    )


class _keep:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        return None


def warm_up(policy: Policy, engine_name: str) -> None:
    """Compile the kernel (numba caches it on disk) and start the engine before the clock runs."""
    measure(generated_portfolio(50), policy, engine_name)


def snapshot_seconds(portfolio_accounts: int, url: str) -> tuple[int, float]:
    """Load a generated portfolio into the store at `url` and time the columnar snapshot of it."""
    from arrears.adapters.store.snapshot import snapshot
    from arrears.services.unit_of_work import UnitOfWork
    from arrears.sim.portfolio import generate_portfolio, load_portfolio

    borrowers = max(1, int(portfolio_accounts / LOANS_PER_BORROWER))
    load_portfolio(generate_portfolio(borrowers, 1, BENCH_AS_OF), url)
    with UnitOfWork(url) as uow:
        started = time.perf_counter()
        tables = snapshot(uow.connection, BENCH_AS_OF)
        seconds = time.perf_counter() - started
    return tables["loans"].num_rows, seconds


def table_of(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows)
