"""A payment provider simulator speaking adapters/payment_provider.py's protocol, for tests and `--dev`
(`arrears payments simulator`): served on loopback, it creates hosted checkouts, shows a checkout page with a
Pay button, sends the signed notification to the merchant's notify_url (again and again as told: duplicates,
or never), answers order queries and writes the day's settlement file. It keeps its orders in memory.
"""

from __future__ import annotations

import html
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from arrears.adapters.payment_provider import (
    PROVIDER_ZONE,
    SETTLEMENT_COLUMNS,
    provider_time_text,
    signed,
    verify,
)
from arrears.domain.compliance.clock import zone


@dataclass
class SimulatedTrade:
    trade_no: str
    out_trade_no: str
    total_amount: str
    currency: str
    subject: str
    notify_url: str
    return_url: str
    status: str = "WAIT_BUYER_PAY"
    gmt_payment: str = ""
    refunded: str = ""  # the amount refunded ("" = none)


@dataclass
class Simulator:
    """The provider's state. `duplicates`: extra copies of each notification; `notify`: False to never send one
    (a lost notification); `deliveries`: (notify_url, answer body or error) of every attempt."""

    app_id: str
    key: rsa.RSAPrivateKey
    merchant_key: rsa.RSAPublicKey
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    duplicates: int = 0
    notify: bool = True
    trades: dict[str, SimulatedTrade] = field(default_factory=dict)
    # The answers of the next debits (True: paid, False: insufficient funds); paid once they run out.
    debit_results: list[bool] = field(default_factory=list)
    debits: list[dict[str, str]] = field(default_factory=list)
    deliveries: list[tuple[str, str]] = field(default_factory=list)
    _numbers: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, **values: str) -> JSONResponse:
        return JSONResponse(signed(self.key, {"app_id": self.app_id, **values}))

    def by_order(self, out_trade_no: str) -> SimulatedTrade | None:
        return next((t for t in self.trades.values() if t.out_trade_no == out_trade_no), None)

    def notification(self, trade: SimulatedTrade, number: int) -> dict[str, str]:
        return signed(
            self.key,
            {
                "notify_id": f"N{trade.trade_no}-{number}",
                "notify_time": provider_time_text(self.clock()),
                "app_id": self.app_id,
                "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no,
                "trade_status": trade.status,
                "total_amount": trade.total_amount,
                "currency": trade.currency,
                "gmt_payment": trade.gmt_payment,
            },
        )

    def send_notifications(self, trade: SimulatedTrade) -> None:
        if not self.notify:
            return
        for number in range(1 + self.duplicates):
            try:
                reply = httpx.post(trade.notify_url, data=self.notification(trade, number), timeout=10).text
            except httpx.HTTPError as exc:
                reply = f"error: {exc.__class__.__name__}"
            self.deliveries.append((trade.notify_url, reply))

    def settlement_csv(self, day: str) -> str:
        lines = [",".join(SETTLEMENT_COLUMNS)]
        for t in self.trades.values():
            if t.status == "TRADE_SUCCESS" and t.gmt_payment.startswith(day):
                lines.append(
                    ",".join((t.trade_no, t.out_trade_no, t.total_amount, t.currency, t.gmt_payment))
                )
        return "\n".join(lines) + "\n"


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


def simulator_app(sim: Simulator) -> FastAPI:
    """The simulator's HTTP app."""
    app = FastAPI(title="payment provider simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = sim

    @app.post("/api/checkout")
    async def checkout(request: Request) -> Response:
        params = await _form(request)
        if not verify(sim.merchant_key, params) or params.get("app_id") != sim.app_id:
            return sim.answer(code="INVALID_SIGNATURE", msg="the request is not signed by the merchant")
        needed = ("out_trade_no", "total_amount", "currency", "notify_url", "return_url")
        if any(not params.get(k) for k in needed):
            return sim.answer(code="MISSING_PARAMETER", msg=", ".join(k for k in needed if not params.get(k)))
        with sim._lock:
            trade = sim.by_order(params["out_trade_no"])
            if trade is None:
                trade = SimulatedTrade(
                    f"2026{next(sim._numbers):010d}",
                    params["out_trade_no"],
                    params["total_amount"],
                    params["currency"],
                    params.get("subject", ""),
                    params["notify_url"],
                    params["return_url"],
                )
                sim.trades[trade.trade_no] = trade
        url = str(request.base_url).rstrip("/") + f"/checkout/{trade.trade_no}"
        return sim.answer(code="SUCCESS", trade_no=trade.trade_no, checkout_url=url)

    @app.post("/api/query")
    async def query(request: Request) -> Response:
        params = await _form(request)
        if not verify(sim.merchant_key, params) or params.get("app_id") != sim.app_id:
            return sim.answer(code="INVALID_SIGNATURE", msg="the request is not signed by the merchant")
        trade = sim.by_order(params.get("out_trade_no", ""))
        if trade is None:
            return sim.answer(code="TRADE_NOT_EXIST", msg="no such order")
        return sim.answer(
            code="SUCCESS",
            out_trade_no=trade.out_trade_no,
            trade_no=trade.trade_no,
            trade_status=trade.status,
            total_amount=trade.total_amount,
            currency=trade.currency,
            gmt_payment=trade.gmt_payment,
        )

    @app.post("/api/debit")
    async def debit(request: Request) -> Response:
        """A debit under the borrower's agreement (代扣): paid at once, or refused."""
        params = await _form(request)
        if not verify(sim.merchant_key, params) or params.get("app_id") != sim.app_id:
            return sim.answer(code="INVALID_SIGNATURE", msg="the request is not signed by the merchant")
        with sim._lock:
            paid = sim.debit_results.pop(0) if sim.debit_results else True
            sim.debits.append(params)
            number = f"2026{next(sim._numbers):010d}"
        if not paid:
            return sim.answer(
                code="SUCCESS",
                out_trade_no=params.get("out_trade_no", ""),
                trade_no=number,
                trade_status="TRADE_CLOSED",
                reason="INSUFFICIENT_BALANCE",
            )
        return sim.answer(
            code="SUCCESS",
            out_trade_no=params.get("out_trade_no", ""),
            trade_no=number,
            trade_status="TRADE_SUCCESS",
            total_amount=params.get("total_amount", ""),
            currency=params.get("currency", ""),
            gmt_payment=provider_time_text(sim.clock()),
        )

    @app.post("/api/refund")
    async def refund(request: Request) -> Response:
        """Refund a paid trade in full (once per out_request_no)."""
        params = await _form(request)
        if not verify(sim.merchant_key, params) or params.get("app_id") != sim.app_id:
            return sim.answer(code="INVALID_SIGNATURE", msg="the request is not signed by the merchant")
        trade = sim.by_order(params.get("out_trade_no", ""))
        if trade is None or trade.status != "TRADE_SUCCESS":
            return sim.answer(code="TRADE_NOT_PAID", msg="no paid trade with this order")
        if params.get("refund_amount") != trade.total_amount or params.get("currency") != trade.currency:
            return sim.answer(code="REFUND_AMOUNT_INVALID", msg="only a full refund")
        with sim._lock:
            trade.refunded = trade.total_amount
        return sim.answer(
            code="SUCCESS",
            out_trade_no=trade.out_trade_no,
            trade_no=trade.trade_no,
            out_request_no=params.get("out_request_no", ""),
            refund_fee=trade.refunded,
            gmt_refund=provider_time_text(sim.clock()),
        )

    @app.get("/checkout/{trade_no}")
    def page(trade_no: str) -> Response:
        trade = sim.trades.get(trade_no)
        if trade is None:
            return PlainTextResponse("no such checkout", status_code=404)
        amount = html.escape(f"{trade.currency} {trade.total_amount}")
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Checkout (simulator)</title></head>
<body><main><h1>Payment provider (simulator)</h1><p>{html.escape(trade.subject)}</p>
<p>Amount: <strong data-testid="checkout-amount">{amount}</strong></p>
<form method="post" action="/checkout/{trade.trade_no}/pay"><button type="submit">Pay {amount}</button></form>
</main></body></html>"""
        )

    @app.post("/checkout/{trade_no}/pay")
    def pay(trade_no: str) -> Response:
        trade = sim.trades.get(trade_no)
        if trade is None:
            return PlainTextResponse("no such checkout", status_code=404)
        with sim._lock:
            if trade.status != "TRADE_SUCCESS":
                trade.status = "TRADE_SUCCESS"
                trade.gmt_payment = provider_time_text(sim.clock())
        sim.send_notifications(trade)
        return RedirectResponse(trade.return_url, status_code=303)

    @app.get("/settlement/{day}")
    def settlement(day: str) -> Response:
        """The day's settlement file (day: YYYY-MM-DD, Beijing time)."""
        return PlainTextResponse(sim.settlement_csv(day), media_type="text/csv")

    return app


def today_text(sim: Simulator) -> str:
    return sim.clock().astimezone(zone(PROVIDER_ZONE)).date().isoformat()
