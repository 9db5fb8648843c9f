"""p99 latency of the payment event on SQLite: one unit of work records the payment, settles promises,
reviews plans, cancels unsent outbox actions and reprioritises the case (services.payments.record_payment).

    python benchmarks/payment_event.py [--loans 2000] [--payments 1000]

Each loan has three instalments, a pending promise and two pending outbox rows; each timed event is a
payment on a different loan, committed (WAL, synchronous=NORMAL), as the webhook does it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime

import pyarrow as pa
from sqlalchemy import insert

from arrears.adapters.store.run_models import OutboxRow
from arrears.bootstrap import configure
from arrears.services.cases import CaseworkConfig
from arrears.services.imports import import_loans
from arrears.services.payments import record_payment
from arrears.services.promises import make_promise
from arrears.services.unit_of_work import UnitOfWork

configure()


def build(url: str, loans: int) -> None:
    ids = [f"L{i:06d}" for i in range(loans)]
    dues = ("2026-01-10", "2026-02-10", "2026-03-10")
    n = loans * 3
    table = pa.table(
        {
            "loan_id": [i for i in ids for _ in dues],
            "borrower_id": [f"B{i[1:]}" for i in ids for _ in dues],
            "product": ["baitiao-3"] * n,
            "currency": ["CNY"] * n,
            "seq": [str(s) for _ in ids for s in (1, 2, 3)],
            "due_date": [d for _ in ids for d in dues],
            "principal": ["1000.00"] * n,
        }
    )
    with UnitOfWork(url) as uow:
        import_loans(uow, table, actor="bench")
    at = datetime(2026, 1, 20, tzinfo=UTC)
    with UnitOfWork(url) as uow:
        for loan_id in ids:
            make_promise(uow, loan_id, 50_000, date(2026, 1, 25), date(2026, 1, 20), "bench")
            uow.connection.execute(
                insert(OutboxRow),
                [
                    {
                        "idempotency_key": f"{loan_id}:{k}",
                        "run_id": "r",
                        "loan_id": loan_id,
                        "borrower_id": "b",
                        "as_of": date(2026, 1, 20),
                        "kind": "contact",
                        "step_id": f"s{k}",
                        "channel": "sms",
                        "template": "t",
                        "tone": "regular",
                        "segment": "s",
                        "status": "pending",
                        "created_at": at,
                        "updated_at": at,
                    }
                    for k in (1, 2)
                ],
            )
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=2000)
    parser.add_argument("--payments", type=int, default=1000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="arrears-bench-")
    url = f"sqlite:///{folder}/store.db"
    build(url, args.loans)
    config = CaseworkConfig()
    times, cpu = [], []
    for i in range(min(args.payments, args.loans)):
        started, cpu_started = time.perf_counter(), time.process_time()
        with UnitOfWork(url) as uow:
            out = record_payment(uow, f"L{i:06d}", f"P{i}", date(2026, 1, 22), 60_000, config, actor="bench")
            uow.commit()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        assert out.recorded and out.promises and out.cancelled_actions == 2
    times.sort()
    cpu.sort()
    p = lambda q, xs=times: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000  # noqa: E731
    print(
        f"payment event on SQLite, {len(times)} events over {args.loans} loans: "
        f"p50 {p(0.50):.1f} ms, p95 {p(0.95):.1f} ms, p99 {p(0.99):.1f} ms, "
        f"mean {statistics.mean(times) * 1000:.1f} ms (target p99 < 20 ms)"
    )
    # The process's own CPU per event: what the event costs, whatever else the machine is doing.
    print(
        f"  its CPU time: p50 {p(0.50, cpu):.1f} ms, p95 {p(0.95, cpu):.1f} ms, p99 {p(0.99, cpu):.1f} ms, "
        f"mean {statistics.mean(cpu) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
