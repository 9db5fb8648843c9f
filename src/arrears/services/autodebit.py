"""Auto-debit retries (domain/autodebit.py), run once a day before the collections run: for each loan whose
debit failed in the last 30 days, retry on the product's schedule through the provider's debit (a port), book
a debit that succeeds through the payment service, record every try as a contact attempt (channel
`autodebit`, outcome `paid` or `failed`) and hold the ladder (a hardship hold on the loan, source
`autodebit`) until the next retry while one is pending.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from arrears.domain.autodebit import CYCLE_DAYS, DebitCycle, ProductRetryRules, next_retry, retry_due
from arrears.domain.compliance.clock import zone
from arrears.domain.outbox import ContactMade
from arrears.services import audit, borrower_facts
from arrears.services.accounts import show_account
from arrears.services.cases import CaseworkConfig
from arrears.services.payments import record_payment
from arrears.services.unit_of_work import UnitOfWork

CHANNEL = "autodebit"
MESSAGE_TYPE = "autodebit_retry"
ACTOR = "system:autodebit"
HOLD_SOURCE = "autodebit"
LOCAL_ZONE = "Asia/Shanghai"


class DebitPort(Protocol):
    def debit(self, order_id: str, amount: int, currency: str, agreement: str) -> tuple[bool, str]:
        """Take the amount under the borrower's debit agreement: (paid, the provider's reference or reason)."""
        ...


def _day(at: datetime) -> date:
    return at.astimezone(zone(LOCAL_ZONE)).date()


def cycles(uow: UnitOfWork, today: date) -> dict[str, tuple[str, DebitCycle]]:
    """Each loan's current cycle (the latest failed debit of the last 30 days not reported by the borrower),
    with its borrower: loan id → (borrower id, cycle)."""
    failures: dict[str, date] = {}
    manual: dict[str, date] = {}
    for event in uow.events.of_kind("autodebit_failed", today - timedelta(days=CYCLE_DAYS), today):
        if event.detail.get("source") == "portal":
            manual[event.loan_id] = event.on
        elif event.detail.get("source") != CHANNEL:
            failures[event.loan_id] = event.on
    out: dict[str, tuple[str, DebitCycle]] = {}
    borrowers = {loan_id: uow.loans.record(loan_id).borrower_id for loan_id in failures}
    lo = datetime.combine(today - timedelta(days=CYCLE_DAYS), time(), zone(LOCAL_ZONE))
    hi = datetime.combine(today + timedelta(days=1), time(), zone(LOCAL_ZONE))
    history = uow.activity.contact_history(sorted(set(borrowers.values())), lo, hi)
    for loan_id, failed_on in failures.items():
        tries = [
            (_day(c.at), c.outcome == "paid")
            for c in history.get(borrowers[loan_id], [])
            if c.loan_id == loan_id and c.channel == CHANNEL and _day(c.at) >= failed_on
        ]
        out[loan_id] = (borrowers[loan_id], DebitCycle(failed_on, tries, manual.get(loan_id)))
    return out


def run_retries(
    uow: UnitOfWork,
    today: date,
    now: datetime,
    rules: ProductRetryRules,
    debit: DebitPort,
    config: CaseworkConfig,
) -> list[dict[str, Any]]:
    """Make today's due retries and keep the holds; what was done per loan (not committed)."""
    done = []
    for loan_id, (borrower_id, cycle) in sorted(cycles(uow, today).items()):
        record = uow.loans.record(loan_id)
        product_rules = rules.of(record.product_code)
        if retry_due(cycle, product_rules, today):
            owed = show_account(uow, loan_id, today).position.overdue.total
            if owed <= 0:
                continue
            order_id = f"AD{loan_id}-{today:%Y%m%d}-{len(cycle.retries) + 1}"
            paid, ref = debit.debit(order_id, owed, record.loan.currency, loan_id)
            uow.outbox.add_contacts(
                [
                    ContactMade(
                        loan_id=loan_id,
                        borrower_id=borrower_id,
                        channel=CHANNEL,
                        target="",
                        at=now,
                        outcome="paid" if paid else "failed",
                        message_type=MESSAGE_TYPE,
                        outbox_id=None,  # type: ignore[arg-type]
                        provider_id=ref[:128],
                    )
                ]
            )
            if paid:
                record_payment(
                    uow, loan_id, f"autodebit:{order_id}", today, owed, config, actor=ACTOR, source=CHANNEL
                )
            cycle = DebitCycle(cycle.failed_on, [*cycle.retries, (today, paid)], cycle.manual_on)
            audit.append(
                uow,
                ACTOR,
                "autodebit.retry",
                f"loan:{loan_id}",
                {"order_id": order_id, "amount": owed, "paid": paid},
            )
            done.append({"loan_id": loan_id, "order_id": order_id, "amount": owed, "paid": paid})
        _hold(uow, borrower_id, loan_id, next_retry(cycle, product_rules), today, now)
    return done


def _hold(
    uow: UnitOfWork, borrower_id: str, loan_id: str, until: date | None, today: date, now: datetime
) -> None:
    """The ladder waits until the next retry: one open hold of ours on the loan, until that day (none after)."""
    ours = [
        row
        for row in uow.flags.history(borrower_id)
        if row["name"] == "hardship"
        and row["debt"] == loan_id
        and row["source"] == HOLD_SOURCE
        and row["cleared_at"] is None
    ]
    if ours and until is not None and all(row["until"] == until for row in ours):
        return
    if ours:
        uow.flags.clear([row["id"] for row in ours], now, ACTOR, "auto-debit retry made")
    if until is not None and until > today:
        borrower_facts.set_flag(
            uow,
            borrower_id,
            "hardship",
            by=ACTOR,
            reason="auto-debit retry pending",
            source=HOLD_SOURCE,
            debt=loan_id,
            until=until,
            effective_at=now,
        )


def retries_summary(done: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in done:
        counts["paid" if row["paid"] else "failed"] += 1
    return dict(counts)
