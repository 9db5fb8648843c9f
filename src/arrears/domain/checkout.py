"""Paying through a payment provider's hosted checkout: the order a borrower starts in the portal (pay now: the
full amount owed or any amount from a minimum up), the provider's notification that it was paid, and the
daily reconciliation of the provider's settlement file against the orders booked.

An order's id is ours (the provider's `out_trade_no`); the provider's own id for it is `provider_ref`
(`trade_no`). The payment an order books into the ledger has the id `checkout:<order id>`, so a notification
delivered twice books once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from arrears.domain.errors import InputError

ORDER_STATUSES = ("created", "paid", "refunded")
# Pay now takes at least this much (minor units) unless less is owed: 100.00 in the loan's currency.
PAY_NOW_MINIMUM = 10_000
BREAK_KINDS = (
    "unknown_order",  # in the file, no such order here
    "not_booked",  # in the file, the order here is not paid (a notification never arrived)
    "amount_mismatch",  # in the file with another amount or currency than the order here
    "not_settled",  # paid here on a day the file covers, not in the file
)


@dataclass(frozen=True, slots=True)
class CheckoutOrder:
    order_id: str
    loan_id: str
    borrower_id: str
    amount: int
    currency: str
    created_at: datetime
    created_by: str
    provider_ref: str | None = None
    status: str = "created"
    paid_at: datetime | None = None
    payment_id: str | None = None

    @property
    def payment_ref(self) -> str:
        """The ledger's id of the payment this order books."""
        return f"checkout:{self.order_id}"


def pay_now_minimum(outstanding: int, floor: int = PAY_NOW_MINIMUM) -> int:
    """The least a borrower may pay now: the floor, or everything owed when that is less."""
    return min(outstanding, floor)


def check_pay_amount(amount: int, outstanding: int, floor: int = PAY_NOW_MINIMUM) -> None:
    """InputError (field amount) unless minimum ≤ amount ≤ what is owed."""
    if outstanding <= 0:
        raise InputError("nothing is owed on this loan", field="amount")
    if amount > outstanding:
        raise InputError("the amount is more than what is owed", field="amount")
    if amount < pay_now_minimum(outstanding, floor):
        raise InputError("the amount is less than the minimum", field="amount")


@dataclass(frozen=True, slots=True)
class PaidNotice:
    """What a provider's verified notification says: this order was paid, this much, at this time."""

    order_id: str
    provider_ref: str
    amount: int
    currency: str
    paid_at: datetime
    notify_id: str


def notice_problem(order: CheckoutOrder | None, notice: PaidNotice) -> str | None:
    """Why a (correctly signed) notification cannot be booked, or None."""
    if order is None:
        return "unknown order"
    if notice.currency != order.currency:
        return "currency mismatch"
    if notice.amount != order.amount:
        return "amount mismatch"
    if order.provider_ref is not None and notice.provider_ref != order.provider_ref:
        return "provider reference mismatch"
    return None


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One line of the provider's daily settlement file."""

    line: int
    provider_ref: str
    order_id: str
    amount: int
    currency: str
    paid_on: date


@dataclass(frozen=True, slots=True)
class Break:
    """A difference between the settlement file and the store."""

    kind: str
    order_id: str
    provider_ref: str | None
    file_amount: int | None
    store_amount: int | None
    line: int | None = None


def reconcile(
    lines: Sequence[SettlementLine],
    orders: Iterable[CheckoutOrder],
    paid_on: dict[str, date],
    days: Iterable[date] = (),
) -> list[Break]:
    """The breaks between a settlement file and the orders (`paid_on`: the settlement day of each paid order),
    in file order, then the paid orders the file's days (`days`, and those of its lines) should have held and
    do not."""
    by_id = {o.order_id: o for o in orders}
    breaks = []
    seen = set()
    for line in lines:
        seen.add(line.order_id)
        order = by_id.get(line.order_id)
        if order is None:
            breaks.append(
                Break("unknown_order", line.order_id, line.provider_ref, line.amount, None, line.line)
            )
        elif (order.amount, order.currency) != (line.amount, line.currency):
            breaks.append(
                Break(
                    "amount_mismatch", line.order_id, line.provider_ref, line.amount, order.amount, line.line
                )
            )
        elif order.status != "paid":
            breaks.append(
                Break("not_booked", line.order_id, line.provider_ref, line.amount, order.amount, line.line)
            )
    covered = set(days) | {line.paid_on for line in lines}
    for order in sorted(by_id.values(), key=lambda o: o.order_id):
        if order.status == "paid" and order.order_id not in seen and paid_on.get(order.order_id) in covered:
            breaks.append(Break("not_settled", order.order_id, order.provider_ref, None, order.amount))
    return breaks
