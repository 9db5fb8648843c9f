"""Checkout orders (migration 0013_checkout_orders): pay now through the payment provider."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.models import Base
from arrears.adapters.store.types import UtcDateTime
from arrears.domain.checkout import CheckoutOrder


class CheckoutOrderRow(Base):
    __tablename__ = "checkout_orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(64), index=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="created")
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    payment_id: Mapped[str | None] = mapped_column(String(100))


_COLUMNS = (
    "order_id",
    "loan_id",
    "borrower_id",
    "amount",
    "currency",
    "created_at",
    "created_by",
    "provider_ref",
    "status",
    "paid_at",
    "payment_id",
)


class CheckoutOrderRepository:
    """Checkout orders on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, order: CheckoutOrder) -> None:
        self.connection.execute(
            CheckoutOrderRow.__table__.insert().values(**{c: getattr(order, c) for c in _COLUMNS})
        )

    def get(self, order_id: str) -> CheckoutOrder | None:
        table = CheckoutOrderRow.__table__
        row = self.connection.execute(select(table).where(table.c.order_id == order_id)).first()
        return _order(row) if row is not None else None

    def mark_paid(self, order_id: str, provider_ref: str, paid_at: datetime, payment_id: str) -> bool:
        """The order is paid (once: False when it already was)."""
        done = self.connection.execute(
            update(CheckoutOrderRow)
            .where(CheckoutOrderRow.order_id == order_id, CheckoutOrderRow.status == "created")
            .values(status="paid", provider_ref=provider_ref, paid_at=paid_at, payment_id=payment_id)
        )
        return bool(done.rowcount)

    def mark_refunded(self, order_id: str) -> None:
        self.connection.execute(
            update(CheckoutOrderRow).where(CheckoutOrderRow.order_id == order_id).values(status="refunded")
        )

    def of_ids(self, order_ids: list[str]) -> list[CheckoutOrder]:
        table = CheckoutOrderRow.__table__
        rows = self.connection.execute(select(table).where(table.c.order_id.in_(order_ids))).all()
        return [_order(r) for r in rows]

    def paid_between(self, lo: datetime, hi: datetime) -> list[CheckoutOrder]:
        """Orders paid in [lo, hi)."""
        table = CheckoutOrderRow.__table__
        rows = self.connection.execute(
            select(table).where(table.c.paid_at >= lo, table.c.paid_at < hi).order_by(table.c.order_id)
        ).all()
        return [_order(r) for r in rows]

    def of_loan(self, loan_id: str) -> list[CheckoutOrder]:
        table = CheckoutOrderRow.__table__
        rows = self.connection.execute(
            select(table).where(table.c.loan_id == loan_id).order_by(table.c.created_at)
        ).all()
        return [_order(r) for r in rows]


def _order(row: object) -> CheckoutOrder:
    return CheckoutOrder(**{c: getattr(row, c) for c in _COLUMNS})
