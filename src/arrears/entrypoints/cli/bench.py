"""`arrears bench ...`: measured figures. `bench import` times a payments import into a fresh store.

Other modules add their own benchmarks to the same group:
    from arrears.entrypoints.cli.bench import bench_app
    @bench_app.command("run")
    def bench_run(...): ...
(the module must be in COMMAND_MODULES so that it is imported before the CLI runs).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer

from arrears.adapters.store import display_url, forget_engines
from arrears.entrypoints.cli.console import console, print_json
from arrears.entrypoints.cli.progress import RowProgress
from arrears.services.imports import import_file
from arrears.services.unit_of_work import UnitOfWork

bench_app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)

OPENED = date(2025, 12, 1)
DUES = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


def _ids(prefix: str, n: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(np.arange(n)), pa.string()), "")


def _dates(days: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.datetime64(OPENED.isoformat()) + days.astype("timedelta64[D]")), pa.date32())


def _amounts(minor: np.ndarray) -> pa.Array:
    """Minor units as decimal strings ("1234.56"), built column-wise."""
    whole = pc.cast(pa.array(minor // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(minor % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, cents, ".")


def bench_files(
    directory: Path, rows: int, loans: int, reversal_share: float, seed: int
) -> tuple[Path, Path, int]:
    """A loans file (3 instalments each) and a payments file of `rows` rows (some of them reversals)."""
    rng = np.random.default_rng(seed)
    tag = f"b{secrets.token_hex(3)}-"  # fresh ids, so a bench into an existing store writes new rows
    loan_ids = _ids(f"{tag}L", loans)
    per = len(DUES)
    principal = rng.integers(30_00, 3_000_00, loans)
    split = np.stack([principal // per] * (per - 1) + [principal - (per - 1) * (principal // per)], axis=1)
    loans_table = pa.table(
        {
            "loan_id": pc.take(loan_ids, pa.array(np.repeat(np.arange(loans), per))),
            "borrower_id": pc.take(_ids(f"{tag}B", loans), pa.array(np.repeat(np.arange(loans), per))),
            "product": pa.array(["baitiao-3"] * (loans * per)),
            "currency": pa.array(["CNY"] * (loans * per)),
            "seq": pa.array(np.tile(np.arange(1, per + 1), loans)),
            "due_date": pa.array(list(DUES) * loans, pa.date32()),
            "principal": _amounts(split.reshape(-1)),
            "interest": _amounts(np.repeat(principal * 6 // 1000, per)),
            "opened_on": pa.array([OPENED] * (loans * per), pa.date32()),
        }
    )
    reversals = int(rows * reversal_share)
    plain = rows - reversals
    which = rng.integers(0, loans, plain)
    paid_days = rng.integers(1, 120, plain)
    amount = rng.integers(1_00, 1_000_00, plain)
    payment_ids = _ids(f"{tag}P", plain)
    bounced = rng.choice(plain, size=reversals, replace=False) if reversals else np.array([], dtype=np.int64)
    take = pa.array(bounced)
    payments = pa.table(
        {
            "payment_id": pa.concat_arrays([payment_ids, _ids(f"{tag}R", reversals)]),
            "loan_id": pc.take(loan_ids, pa.array(np.concatenate([which, which[bounced]]))),
            "paid_on": _dates(
                np.concatenate([paid_days, paid_days[bounced] + rng.integers(1, 6, reversals)])
            ),
            "amount": _amounts(np.concatenate([amount, amount[bounced]])),
            "reverses": pa.concat_arrays([pa.nulls(plain, pa.string()), pc.take(payment_ids, take)]),
        }
    )
    loans_path, payments_path = directory / "loans.parquet", directory / "payments.parquet"
    pq.write_table(loans_table, loans_path)
    pq.write_table(payments, payments_path)
    return loans_path, payments_path, reversals


@bench_app.command("import")
def bench_import(
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="Payments to import."),
    loans: int = typer.Option(0, "--loans", min=0, help="Loans to pay into (default rows / 4)."),
    reversals: float = typer.Option(
        0.01, "--reversals", min=0.0, max=0.5, help="Share of rows that reverse."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed of the generated files."),
    url: str = typer.Option(None, "--url", help="Store to import into (default: a fresh SQLite file)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Generate a Parquet payments file for generated loans, import it, print rows, seconds and rows/s."""
    loans = loans or max(1, rows // 4)
    with tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        loans_path, payments_path, reversal_rows = bench_files(directory, rows, loans, reversals, seed)
        generated = time.perf_counter() - started
        target = url or f"sqlite:///{directory / 'bench.db'}"
        with UnitOfWork(target) as uow, RowProgress("bench: loans", enabled=not json_out) as bar:
            loans_result = import_file(uow, "loans", loans_path, actor="bench", progress=bar)
        cpu = time.process_time()
        with UnitOfWork(target) as uow, RowProgress("bench: payments", enabled=not json_out) as bar:
            result = import_file(uow, "payments", payments_path, actor="bench", progress=bar)
        cpu = time.process_time() - cpu
        forget_engines()  # the temporary store is about to go
    figures = {
        "rows": result.rows_read,
        "written": result.written,
        "reversals": reversal_rows,
        "seconds": round(result.seconds, 3),
        "rows_per_s": round(result.rows_per_s),
        # this process's CPU time: on a busy machine wall time says more about the neighbours
        "cpu_seconds": round(cpu, 3),
        "loans": loans,
        "loan_rows": loans_result.rows_read,
        "loans_seconds": round(loans_result.seconds, 3),
        "loan_rows_per_s": round(loans_result.rows_per_s),
        "generate_seconds": round(generated, 3),
        "store": display_url(target) if url else "sqlite (fresh, temporary)",
    }
    if json_out:
        print_json(figures)
        return
    console.print(
        f"imported {figures['rows']:,} payments ({reversal_rows:,} reversals) in {figures['seconds']} s: "
        f"{figures['rows_per_s']:,} rows/s into {figures['store']} (CPU {figures['cpu_seconds']} s)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"(setup: {figures['loan_rows']:,} instalment rows of {loans:,} loans in {figures['loans_seconds']} s, "
        f"{figures['loan_rows_per_s']:,} rows/s; files generated in {figures['generate_seconds']} s)",
        highlight=False,
        soft_wrap=True,
    )


__all__ = ["bench_app", "bench_files", "register"]
