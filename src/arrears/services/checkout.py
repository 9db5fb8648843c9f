"""Pay now in the portal through the payment provider: start a hosted checkout for an amount the borrower may
pay (domain/checkout.py), book the provider's verified notification through the payment service (once, however
often it comes), refuse and audit one that cannot be booked, and reconcile the provider's settlement file.

The provider itself is a port (`CheckoutProvider`): adapters/payment_provider.py speaks its protocol.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from arrears.domain.checkout import (
    Break,
    CheckoutOrder,
    PaidNotice,
    SettlementLine,
    check_pay_amount,
    notice_problem,
    reconcile,
)
from arrears.domain.compliance.clock import zone
from arrears.domain.errors import InputError
from arrears.domain.portal import PortalLink
from arrears.services import audit, portal
from arrears.services.accounts import show_account
from arrears.services.cases import CaseworkConfig
from arrears.services.payments import record_payment
from arrears.services.unit_of_work import UnitOfWork

ACTOR = "system:payment-provider"
# The day a payment belongs to: the provider's (and the lender's) calendar.
SETTLEMENT_ZONE = "Asia/Shanghai"


class CheckoutProvider(Protocol):
    def create_checkout(
        self, order: CheckoutOrder, subject: str, notify_url: str, return_url: str
    ) -> tuple[str, str]: ...


class NoticeRejected(InputError):
    """A notification that cannot be booked (unknown order, amount or currency mismatch, bad signature)."""


def start_checkout(
    uow: UnitOfWork,
    link: PortalLink,
    amount: int,
    today: date,
    now: datetime,
    provider: CheckoutProvider,
    *,
    notify_url: str,
    return_url: str,
) -> str:
    """An order for `amount` (the minimum up to all that is owed) at the provider; the page to pay it on."""
    record = uow.loans.record(link.loan_id)
    outstanding = show_account(uow, link.loan_id, today).position.outstanding.total
    check_pay_amount(amount, outstanding)
    order = CheckoutOrder(
        "A" + secrets.token_hex(12),
        link.loan_id,
        link.borrower_id,
        amount,
        record.loan.currency,
        now,
        f"portal:{link.borrower_id}",
    )
    provider_ref, url = provider.create_checkout(
        order, f"loan {link.loan_id}", notify_url, return_url.replace("{order}", order.order_id)
    )
    uow.checkout_orders.add(CheckoutOrder(**{**asdict(order), "provider_ref": provider_ref}))
    audit.append(
        uow,
        order.created_by,
        "checkout.start",
        f"loan:{link.loan_id}",
        {"order_id": order.order_id, "amount": amount, "provider_ref": provider_ref},
    )
    return url


def paid_on(at: datetime) -> date:
    return at.astimezone(zone(SETTLEMENT_ZONE)).date()


def book_notice(uow: UnitOfWork, notice: PaidNotice, config: CaseworkConfig) -> dict[str, Any]:
    """Book a verified notification: the payment (id checkout:<order>) through the payment service, the order
    marked paid. A duplicate books nothing (recorded: false). NoticeRejected when it does not match the order."""
    order = uow.checkout_orders.get(notice.order_id)
    problem = notice_problem(order, notice)
    if problem is not None or order is None:
        raise NoticeRejected(problem or "unknown order", field="out_trade_no")
    outcome = record_payment(
        uow,
        order.loan_id,
        order.payment_ref,
        paid_on(notice.paid_at),
        order.amount,
        config,
        actor=ACTOR,
        source="provider",
    )
    if uow.checkout_orders.mark_paid(order.order_id, notice.provider_ref, notice.paid_at, order.payment_ref):
        portal.record_outcome(uow, order.loan_id, order.borrower_id, "paid", notice.paid_at)
    return {"order_id": order.order_id, "loan_id": order.loan_id, "recorded": outcome.recorded}


class RefundProvider(Protocol):
    def refund(self, order_id: str, amount: int, currency: str, request_no: str) -> str: ...


def refund_order(
    uow: UnitOfWork, order_id: str, on: date, provider: RefundProvider, actor: str
) -> dict[str, Any]:
    """Refund a paid order in full at the provider and reverse its payment in the ledger (the reversal
    `refund:<order id>`); InputError for an unknown, unpaid or already refunded order."""
    order = uow.checkout_orders.get(order_id) if order_id and len(order_id) <= 64 else None
    if order is None:
        raise InputError(f"unknown order {order_id!r}", field="order_id")
    if order.status != "paid" or order.payment_id is None:
        raise InputError(f"order {order_id} is {order.status}, not paid", field="order_id")
    reversal = f"refund:{order_id}"
    provider.refund(order_id, order.amount, order.currency, reversal)
    uow.payments.reverse(order.payment_id, on, reversal)
    uow.checkout_orders.mark_refunded(order_id)
    audit.append(
        uow, actor, "checkout.refund", f"loan:{order.loan_id}", {"order_id": order_id, "amount": order.amount}
    )
    return {"order_id": order_id, "loan_id": order.loan_id, "amount": order.amount, "reversal_id": reversal}


def reject_notice(uow: UnitOfWork, reason: str, params: dict[str, str]) -> None:
    """Audit a notification refused (its order, provider reference and amount; never its signature)."""
    kept = {k: params.get(k, "")[:64] for k in ("out_trade_no", "trade_no", "total_amount", "currency")}
    audit.append(
        uow, ACTOR, "checkout.notify.rejected", f"order:{kept['out_trade_no']}", {"reason": reason, **kept}
    )


def order_status(uow: UnitOfWork, link: PortalLink, order_id: str) -> CheckoutOrder | None:
    """The link's loan's order (None for another loan's or an unknown one)."""
    order = uow.checkout_orders.get(order_id) if order_id and len(order_id) <= 64 else None
    return order if order is not None and order.loan_id == link.loan_id else None


def reconcile_settlement(
    uow: UnitOfWork, lines: list[SettlementLine], days: tuple[date, ...] = ()
) -> list[Break]:
    """The breaks between the provider's settlement lines and the orders booked here."""
    covered = set(days) | {line.paid_on for line in lines}
    orders = {o.order_id: o for o in uow.checkout_orders.of_ids(sorted({line.order_id for line in lines}))}
    for day in covered:
        lo = datetime(day.year, day.month, day.day, tzinfo=zone(SETTLEMENT_ZONE))
        for order in uow.checkout_orders.paid_between(lo, lo + timedelta(days=1)):
            orders[order.order_id] = order
    settled_on = {o.order_id: paid_on(o.paid_at) for o in orders.values() if o.paid_at is not None}
    return reconcile(lines, orders.values(), settled_on, covered)


__all__ = [
    "ACTOR",
    "CheckoutProvider",
    "NoticeRejected",
    "book_notice",
    "order_status",
    "paid_on",
    "reconcile_settlement",
    "refund_order",
    "reject_notice",
    "start_checkout",
]
