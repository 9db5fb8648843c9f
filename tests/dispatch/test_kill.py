"""Crashes of the dispatcher (issue 14 items 1 and 6): kill -9 at random moments against a counting sink,
workers that die with their parent, and a message in flight at a crash counting toward the caps."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from arrears.adapters.channels import SendResult
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store.run_models import OutboxRow
from arrears.bootstrap import make_dispatcher
from arrears.domain.compliance.batch import ContactSummary, PlannedContact, lookback
from arrears.domain.compliance.facts import debtor_for
from arrears.domain.compliance.model import Attempt
from arrears.engine.contact_summary import summaries_for
from arrears.services.dispatch import dispatch, read_facts, send_time_decision
from arrears.services.unit_of_work import UnitOfWork
from tests.dispatch.conftest import SEND_AT, World
from tests.dispatch.servers import http_sink

ROOT = Path(__file__).resolve().parents[2]
SMS_LOAN = "L0000000022"


def _kill_bench() -> Any:
    spec = importlib.util.spec_from_file_location("dispatch_kill", ROOT / "benchmarks" / "dispatch_kill.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_five_kills_of_a_four_worker_dispatcher_lose_nothing_and_repeat_at_most_what_was_on_the_wire(
    store_url: str,
) -> None:
    bench = _kill_bench()
    result = bench.kill_loop(store_url, kills=5, messages=400, workers=4, rate=150, accounts=300)
    assert result["posts_while_killed"] > 0  # the kills landed while it was sending
    assert result["lost"] == 0 and result["stuck"] == 0
    assert result["delivered"] == result["statuses"]["sent"]
    # SMS one by one: at most one message on the wire per worker when it was killed.
    assert result["repeats"] <= result["bound"] == 5 * result["workers"]
    assert result["survivors"] == 0 and result["after_death"] == 0


WORKERS = """
import sys, time, urllib.request
sys.path.insert(0, {src!r})
from arrears.services.worker_pool import run_in_processes

def work(index, budget, progress):
    while True:  # a worker that never stops sending by itself
        urllib.request.urlopen(urllib.request.Request({url!r}, data=b"{{}}", method="POST")).read()
        time.sleep(0.01)

run_in_processes(work, 4, None, None)
"""


def test_killing_the_parent_of_four_workers_kills_them_and_the_sink_gets_nothing_more() -> None:
    bench = _kill_bench()
    with http_sink() as sink:
        script = WORKERS.format(src=str(ROOT / "src"), url=sink.url + "/push")
        parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], start_new_session=True)
        try:
            deadline = time.monotonic() + 60  # a loaded machine starts them slowly
            while (
                len(bench._children(parent.pid)) < 4 or len(sink.requests) < 20
            ) and time.monotonic() < deadline:
                time.sleep(0.05)
            workers = bench._children(parent.pid)
            assert len(workers) == 4 and len(sink.requests) >= 20  # all four are sending
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 2.0
            while any(bench._alive(w) for w in workers) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not [w for w in workers if bench._alive(w)]  # none outlives its parent
            time.sleep(0.2)  # a request the sink was still reading when they died
            seen = len(sink.requests)
            time.sleep(0.5)
            assert len(sink.requests) == seen  # and nothing more is sent
        finally:
            for pid in [parent.pid, *bench._children(parent.pid)]:
                if bench._alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_a_message_in_flight_at_a_crash_counts_toward_a_cap_for_the_daily_run_and_for_dispatch(
    world: World, tmp_path: Path
) -> None:
    profile_file = tmp_path / "cn-sms-once.yaml"
    profile_file.write_text(
        "name: cn-sms-once\nextends: cn\nrules:\n"
        "  - id: lender.sms.per_day\n    kind: cap\n    source: one SMS per debtor per day\n"
        "    applies_to: {channels: [sms]}\n    counts: {channels: [sms]}\n    per: debtor\n"
        "    window: {calendar_days: 1}\n    max: 1\n",
        encoding="utf-8",
    )
    profile = load_profile(str(profile_file))
    (sms,) = [r for r in world.rows(loan_id=SMS_LOAN) if r.channel == "sms"]
    copy = {k: v for k, v in sms._mapping.items() if k != "id"}
    world.execute(
        insert(OutboxRow).values(**{**copy, "idempotency_key": f"{sms.idempotency_key}:2", "step_id": "x2"})
    )
    config = world.config(
        ARREARS_SMS_PROVIDER="http", ARREARS_SMS_URL=world.http.url + "/sms", ARREARS_EMAIL_HOST=""
    )
    channels = world.dispatcher(config=config).channels

    def crash(outbox_id: int, result: SendResult) -> None:
        if outbox_id == sms.id:
            raise RuntimeError("killed with the message on the wire")

    with pytest.raises(RuntimeError, match="on the wire"):
        dispatch(make_dispatcher(world.url, channels, config, profile, now=lambda: SEND_AT, after_send=crash))
    # In flight (with the rest of its round, not sent yet): the provider may have it, nobody knows.
    assert sms.id in {r.id for r in world.rows(status="sending")}
    (second,) = world.rows(idempotency_key=f"{sms.idempotency_key}:2")
    assert second.status == "pending"  # not reached before the crash (a borrower's second row: round 2)

    with UnitOfWork(world.url) as uow:
        later = SEND_AT + timedelta(hours=1)
        # The dispatcher's send-time check of the borrower's other SMS counts the one in flight ...
        entry = uow.outbox.get(second.id)
        assert entry is not None
        facts = read_facts(uow, [entry], later, profile)
        d = make_dispatcher(world.url, channels, config, profile, now=lambda: later)
        decision = send_time_decision(d, entry, facts.borrowers.get(entry.borrower_id), facts, later)
        assert decision.decision == "defer" and "lender.sms.per_day" in decision.rules
        # ... and so does the daily run's history summary (engine/contact_summary.py).
        back = lookback(profile)
        history = uow.contacts.table([entry.borrower_id], None if back is None else later - back)
        debtor = debtor_for(entry.borrower_id, (), [], later, later.date(), entry.loan_id, recorded=True)
        attempt = Attempt("sms", later, "x", message_type="reminder", debt=entry.loan_id)
        (summary,) = summaries_for(
            profile, [PlannedContact(entry.loan_id, debtor, attempt, ContactSummary())], history
        )
        assert summary.counts.get("lender.sms.per_day") == 1

    # The next pass sends the message in flight again, with its key, and the cap holds the other back.
    dispatch(make_dispatcher(world.url, channels, config, profile, now=lambda: SEND_AT))
    assert [r.status for r in world.rows(borrower_id=sms.borrower_id) if r.channel == "sms"] == [
        "sent",
        "deferred",
    ]
    to_borrower = [
        r for r in world.http.requests if r["path"] == "/sms" and r["key"].startswith(sms.idempotency_key)
    ]
    assert [r["key"] for r in to_borrower] == [sms.idempotency_key, sms.idempotency_key]
