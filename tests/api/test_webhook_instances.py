"""Payment webhooks across two API instances with retries, small (issue 14 item 6; `make reliability` runs
10,000 posts): two real `arrears serve` processes on one store (SQLite and PostgreSQL), 300 posts from 10
clients, 10 % of them a second delivery of a payment with the same Idempotency-Key and body — half at the
same moment to both instances, half later to the other. Every payment is booked exactly once, every post
answered 200 (the first answer or its replay, alike), no 5xx."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import webhook_instances as bench


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_every_payment_is_booked_once_across_two_instances_with_retries(store_url: str) -> None:
    outcome = bench.run(
        store_url,
        (_free_port(), _free_port()),
        posts=300,
        clients=10,
        loans=40,
        retries=0.10,
        concurrent_share=0.5,
        workers=1,
    )
    assert outcome.posts == 300 and outcome.concurrent > 0 and outcome.later > 0, bench.describe(outcome)
    assert outcome.statuses == {200: 300}, bench.describe(outcome)  # no 5xx, no dropped connection
    assert outcome.booked == outcome.postings == outcome.unique, bench.describe(outcome)
    assert outcome.first_answers == {1: outcome.unique}, bench.describe(outcome)  # one first answer per key
    assert outcome.mismatched == 0, bench.describe(outcome)  # every replay reads like the first answer
    assert outcome.ok
