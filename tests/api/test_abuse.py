"""The abusive-request fault test, small (issue 14 item 6; `make reliability` runs the full size): a real
`arrears serve --workers 2` takes signed payment webhooks from a few clients while abusive clients loop over
the heaviest lists the API accepts and give up on them early. No answer is a 5xx, every payment answered is
booked once, and the webhook stays responsive."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from arrears.services.unit_of_work import UnitOfWork

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import payment_webhook as bench

LOANS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_abusive_requests_do_not_take_the_payment_webhook_down(store_url: str) -> None:
    bench.build(store_url, LOANS)
    keys = bench.abusers(store_url, 4)
    port = _free_port()
    with bench.served(store_url, port, workers=2):
        payments, heavy = asyncio.run(
            bench.phase(
                port, keys, clients=6, loans=LOANS, seconds=4, pace=0.1, abusive=4, abusive_timeout=0.5
            )
        )
    assert payments.statuses.keys() == {200}, payments.statuses  # no 5xx, no dropped connection
    assert set(heavy.statuses) <= {200, 429, 503}, heavy.statuses  # refused or answered, never a 500
    assert heavy.latencies or heavy.abandoned
    assert payments.quantile(0.99) < 5000, bench.line("payments", payments, 4)
    with UnitOfWork(store_url) as uow:
        booked = sum(len(loan.payments) for loan in uow.loans.stream())
    assert booked == len(payments.latencies)
