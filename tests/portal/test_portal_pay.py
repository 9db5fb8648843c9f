"""Pay now through the payment provider, end to end over HTTP on loopback: the portal starts a hosted checkout
at the provider simulator, the borrower pays there, the simulator's RSA-SHA256-signed notification books the
payment once (a duplicate does not pay twice), the ledger shows it; forged or mismatched notifications are
refused and audited; `arrears payments reconcile` finds the day's breaks and `payments query` mends a lost
notification."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from arrears.adapters import payment_provider as pp
from arrears.services import portal
from arrears.services.accounts import show_account
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.portal.provider import PayWorld, pay_world
from tests.web.sample import TODAY, Clock


@pytest.fixture
def world(sample_store: str, clock: Clock, tmp_path: Path) -> Iterator[PayWorld]:
    with pay_world(sample_store, clock, tmp_path) as found:
        yield found


def outstanding(store_url: str, loan_id: str = "L1") -> str:
    with UnitOfWork(store_url) as uow:
        return str(show_account(uow, loan_id, TODAY).position.to_dict()["outstanding"]["total"])  # type: ignore[index]


def stepped_up(
    world: PayWorld, store_url: str, clock: Clock, loan_id: str = "L1"
) -> tuple[httpx.Client, str, str]:
    """A browser-like client past the step-up: (client, token, csrf)."""
    with UnitOfWork(store_url) as uow:
        token = portal.issue_link(uow, loan_id, clock.now, by="test").token
        uow.commit()
    client = httpx.Client(base_url=world.portal.base, headers={"accept-language": "en"})
    assert client.post(f"/p/{token}/step-up", data={"answer": "1233"}).status_code == 303
    page = client.get(f"/p/{token}")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found and "Pay now" in page.text
    return client, token, found.group(1)


def pay(world: PayWorld, client: httpx.Client, token: str, csrf: str, amount: str) -> httpx.Response:
    """Pay now for `amount`: the provider's checkout page, its Pay button; the page the borrower returns to."""
    started = client.post(f"/p/{token}/pay", data={"amount": amount, "csrf": csrf})
    assert started.status_code == 303, started.text
    checkout = started.headers["location"]
    assert checkout.startswith(world.provider.base + "/checkout/")
    page = httpx.get(checkout)
    assert page.status_code == 200 and f"CNY {amount}" in page.text
    paid = httpx.post(checkout + "/pay")
    assert paid.status_code == 303 and paid.headers["location"].startswith(
        f"{world.portal.base}/p/{token}?order="
    )
    return client.get(paid.headers["location"])


def test_pay_now_books_the_payment_once_however_often_the_provider_notifies(
    world: PayWorld, sample_store: str, clock: Clock
) -> None:
    before = outstanding(sample_store)
    assert before == "9021.00"
    world.sim.duplicates = 2  # three copies of the notification
    client, token, csrf = stepped_up(world, sample_store, clock)
    back = pay(world, client, token, csrf, "1000.00")
    assert "Your payment of 1000.00 CNY is received" in back.text
    assert [answer for _, answer in world.sim.deliveries] == ["success", "success", "success"]
    assert outstanding(sample_store) == "8021.00"
    with UnitOfWork(sample_store) as uow:
        view = show_account(uow, "L1", TODAY).position.to_dict()
        paid = [p for p in view["payments"] if p["id"].startswith("checkout:")]  # type: ignore[union-attr]
        assert [p["amount"] for p in paid] == ["1000.00"]
        actions = [e.action for e in portal.audit.entries(uow, subject="loan:L1")]
        assert actions.count("payment.record") == 1 and "checkout.start" in actions


FORGERIES = [
    ({"total_amount": "1.00"}, "bad signature"),  # edited after signing
    ({"sign": "AAAA"}, "bad signature"),
    ("other_key", "bad signature"),  # signed, but not by the provider
    ({"out_trade_no": "A000000000000000000000000"}, "unknown order"),  # signed by the provider, unknown order
    ({"total_amount": "999.00"}, "amount mismatch"),  # signed by the provider, another amount
    ({"currency": "USD"}, "currency mismatch"),
]


def test_forged_or_mismatched_notifications_are_refused_and_audited(
    world: PayWorld, sample_store: str, clock: Clock
) -> None:
    world.sim.notify = False
    client, token, csrf = stepped_up(world, sample_store, clock)
    pay(world, client, token, csrf, "1000.00")
    trade = next(iter(world.sim.trades.values()))
    genuine = world.sim.notification(trade, 0)
    body = {k: v for k, v in genuine.items() if k not in ("sign", "sign_type")}
    for change, _reason in FORGERIES:
        if change == "other_key":
            forged = pp.signed(pp.generate_key(), body)
        elif isinstance(change, dict) and _reason == "bad signature":
            forged = {**genuine, **change}
        else:  # correctly signed by the provider's key, but not matching the order
            forged = pp.signed(world.provider_key, {**body, **change})  # type: ignore[dict-item]
        answer = httpx.post(world.portal.base + "/payments/notify", data=forged)
        assert (answer.status_code, answer.text) == (400, "fail"), change
    assert outstanding(sample_store) == "9021.00"  # nothing paid
    with UnitOfWork(sample_store) as uow:
        rejected = [e for e in portal.audit.entries(uow) if e.action == "checkout.notify.rejected"]
    assert sorted(e.detail["reason"] for e in rejected) == sorted(reason for _, reason in FORGERIES)
    assert all("sign" not in e.detail for e in rejected)
    # the genuine notification still books it
    assert httpx.post(world.portal.base + "/payments/notify", data=genuine).text == "success"
    assert outstanding(sample_store) == "8021.00"


def test_an_amount_below_the_minimum_or_above_the_balance_is_refused_in_the_page(
    world: PayWorld, sample_store: str, clock: Clock
) -> None:
    client, token, csrf = stepped_up(world, sample_store, clock)
    for amount, says in (("99.99", "less than the minimum"), ("9021.01", "more than what is owed")):
        page = client.post(f"/p/{token}/pay", data={"amount": amount, "csrf": csrf})
        assert page.status_code == 400 and says in page.text
    assert client.post(f"/p/{token}/pay", data={"amount": "100.00", "csrf": "x"}).status_code == 403
    assert world.sim.trades == {}


def test_reconcile_lists_a_lost_notification_payments_query_books_it_and_refund_reverses_it(
    world: PayWorld,
    sample_store: str,
    clock: Clock,
    tmp_path: Path,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    client, token, csrf = stepped_up(world, sample_store, clock)
    pay(world, client, token, csrf, "1000.00")
    world.sim.notify = False  # the second payment's notification is lost
    back = pay(world, client, token, csrf, "200.00")
    assert "is being confirmed" in back.text
    settlement = tmp_path / "settlement.csv"
    settlement.write_text(httpx.get(f"{world.provider.base}/settlement/{TODAY.isoformat()}").text)
    found = cli("payments", "reconcile", str(settlement), "--json")
    assert found.code == 1, found.stderr
    out = json.loads(found.stdout)
    assert out["lines"] == 2
    lost = next(t for t in world.sim.trades.values() if t.total_amount == "200.00")
    assert [(b["kind"], b["order_id"], b["file_amount"], b["store_amount"]) for b in out["breaks"]] == [
        ("not_booked", lost.out_trade_no, "200.00", "200.00")
    ]
    queried = cli("payments", "query", lost.out_trade_no, "--json")
    assert queried.code == 0, queried.stderr
    assert json.loads(queried.stdout)["recorded"] is True
    assert outstanding(sample_store) == "7821.00"
    again = cli("payments", "reconcile", str(settlement), "--json")
    assert again.code == 0 and json.loads(again.stdout)["breaks"] == []

    # a refund: the provider pays the 200.00 back, the ledger reverses the payment
    refunded = cli("payments", "refund", lost.out_trade_no, "--on", TODAY.isoformat(), "--json")
    assert refunded.code == 0, refunded.stderr
    assert json.loads(refunded.stdout)["amount"] == "200.00" and lost.refunded == "200.00"
    assert outstanding(sample_store) == "8021.00"
    twice = cli("payments", "refund", lost.out_trade_no, "--on", TODAY.isoformat())
    assert twice.code == 2 and "refunded, not paid" in twice.stderr


def test_a_bad_settlement_file_names_its_line_and_field(
    cli: Callable[..., CliResult], sample_store: str, tmp_path: Path
) -> None:
    bad = tmp_path / "s.csv"
    bad.write_text(
        "trade_no,out_trade_no,total_amount,currency,gmt_payment\nT1,A1,12.3x,CNY,2026-01-24 10:00:00\n"
    )
    done = cli("payments", "reconcile", str(bad))
    assert done.code == 2 and "s.csv:2" in done.stderr and "total_amount" in done.stderr
    assert "Traceback" not in done.stderr
