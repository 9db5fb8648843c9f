"""The outbox's rules (domain/outbox.py) as literal cases: when a planned message is moot, what a provider's
status means for the contact history, the message type of a template.

The loan of every moot case: ¥10.00 due 2026-03-01 and ¥10.00 due 2026-04-01 (amounts in fen), the default
late fee (0.05 % a day); each case adds payments, dispute events and pauses, and asks on one day.
"""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.compliance.channels import OUTCOMES
from arrears.domain.ledger import compute_position
from arrears.domain.loans import Instalment, Loan, Pause, Payment
from arrears.domain.outbox import (
    CLAIMABLE_AGAIN,
    DISPATCH_OUTCOMES,
    OUTBOX_STATUSES,
    OUTCOME_FOR_STATUS,
    RESULT_STATUSES,
    message_type,
    outcome_at_send,
    why_moot,
)

D = date.fromisoformat
SCHEDULE = (Instalment(1, D("2026-03-01"), 1000), Instalment(2, D("2026-04-01"), 1000))

# (case, template, anchor, payments (day, fen), events (kind, day), pauses (start, end, reason), day,
#  stands_when_paid, why it is moot or None)
MOOT_CASES = [
    ("overdue and unpaid: goes out",
     "sms/reminder", "2026-03-01", [], [], [], "2026-03-10", False, None),
    ("paid with the late fee: nothing overdue",
     "sms/reminder", "2026-03-01", [("2026-03-05", 1010)], [], [], "2026-03-10", False,
     "nothing overdue any more (paid)"),
    ("a validation notice is about overdue money too",
     "letter/validation_notice", "2026-03-01", [("2026-03-05", 1010)], [], [], "2026-03-10", False,
     "nothing overdue any more (paid)"),
    ("a hand-over decided by a bucket jump stands when paid",
     "agency/placement", "2026-03-01", [("2026-03-05", 1010)], [], [], "2026-03-10", True, None),
    ("pre-due reminder, instalment still open",
     "sms/pre_due", "2026-04-01", [("2026-03-05", 1010)], [], [], "2026-03-25", False, None),
    ("pre-due reminder, that instalment paid early",
     "sms/pre_due", "2026-04-01", [("2026-03-05", 2010)], [], [], "2026-03-25", False,
     "the instalment is paid"),
    ("due-today reminder, instalment paid before its day",
     "sms/due_today", "2026-03-01", [("2026-02-25", 1000)], [], [], "2026-03-01", False,
     "the instalment is paid"),
    ("a dispute opened since the anchor holds collection",
     "sms/reminder", "2026-03-01", [], [("dispute_opened", "2026-03-05")], [], "2026-03-10", False,
     "dispute_opened recorded on 2026-03-05"),
    ("a dispute closed again no longer holds",
     "sms/reminder", "2026-03-01", [], [("dispute_opened", "2026-03-05"), ("dispute_closed", "2026-03-07")], [],
     "2026-03-10", False, None),
    ("dispute_closed does not lift an identity dispute",
     "sms/reminder", "2026-03-01", [], [("identity_dispute", "2026-03-05"), ("dispute_closed", "2026-03-07")],
     [], "2026-03-10", False, "identity_dispute recorded on 2026-03-05"),
    ("a dispute before the anchor is not about this message",
     "sms/reminder", "2026-03-01", [], [("dispute_opened", "2026-02-20")], [], "2026-03-10", False, None),
    ("a dispute recorded after the day does not count yet",
     "sms/reminder", "2026-03-01", [], [("dispute_opened", "2026-03-12")], [], "2026-03-10", False, None),
    ("a dispute acknowledgement goes out during the dispute",
     "letter/dispute_ack", "2026-03-01", [], [("dispute_opened", "2026-03-05")], [], "2026-03-10", False, None),
    ("a pause covering the day holds collection",
     "sms/reminder", "2026-03-01", [], [], [("2026-03-08", None, "hardship")], "2026-03-10", False,
     "hardship pause since 2026-03-08"),
    ("a pause that ended does not",
     "sms/reminder", "2026-03-01", [], [], [("2026-03-02", "2026-03-04", "hardship")], "2026-03-10", False, None),
    ("a plan offer goes out during a pause",
     "sms/plan_offer", "2026-03-01", [], [], [("2026-03-08", None, "hardship")], "2026-03-10", False, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("template", "anchor", "payments", "events", "pauses", "day", "stands_when_paid", "expected"),
    [case[1:] for case in MOOT_CASES],
    ids=[case[0] for case in MOOT_CASES],
)
def test_a_planned_message_is_moot_when_paid_disputed_or_paused(
    template: str,
    anchor: str,
    payments: list[tuple[str, int]],
    events: list[tuple[str, str]],
    pauses: list[tuple[str, str | None, str]],
    day: str,
    stands_when_paid: bool,
    expected: str | None,
) -> None:
    loan = Loan(
        "L1",
        SCHEDULE,
        payments=tuple(Payment(f"P{i}", D(on), amount) for i, (on, amount) in enumerate(payments)),
        pauses=tuple(Pause(D(start), D(end) if end else None, reason) for start, end, reason in pauses),
    )
    assert (
        why_moot(
            template,
            D(anchor),
            day=D(day),
            events=[(kind, D(on)) for kind, on in events],
            pauses=loan.pauses,
            position=lambda: compute_position(loan, D(day)),
            stands_when_paid=stands_when_paid,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("status", "channel", "outcome"),
    [
        ("accepted", "sms", "sent"),  # taken by the gateway: sent, not yet delivered
        ("queued", "email", "sent"),
        ("delivered", "sms", "delivered"),
        ("read", "push", "read"),
        ("accepted", "robocall", "unknown"),  # a call placed, not answered yet: counted as unknown
        ("queued", "agent_call", "unknown"),
        ("answered", "robocall", "connected"),
        ("pressed_1", "robocall", "conversation"),
        ("voicemail", "call", "voicemail"),
        ("no_answer", "call", "no_answer"),
        ("busy", "call", "busy"),
    ],
)
def test_the_answer_to_a_send_gives_the_contact_outcome(status: str, channel: str, outcome: str) -> None:
    assert outcome_at_send(status, channel) == outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("accepted", "sent"),
        ("delivered", "delivered"),
        ("failed", "failed"),
        ("undelivered", "bounced"),
        ("rejected", "bounced"),
        ("answered", "connected"),
        ("pressed_1", "conversation"),  # "press 1 for an agent": a right-party conversation
    ],
)
def test_a_receipt_gives_the_contact_outcome(status: str, outcome: str) -> None:
    assert OUTCOME_FOR_STATUS[status] == outcome


def test_every_status_means_an_outcome_the_caps_know() -> None:
    assert set(OUTCOME_FOR_STATUS.values()) <= OUTCOMES
    assert RESULT_STATUSES.issubset(OUTCOME_FOR_STATUS)


def test_what_dispatch_makes_of_a_row_is_an_outbox_status() -> None:
    assert set(DISPATCH_OUTCOMES) <= set(OUTBOX_STATUSES)
    assert set(CLAIMABLE_AGAIN) <= set(DISPATCH_OUTCOMES)
    assert "pending" in OUTBOX_STATUSES and "awaiting_approval" in OUTBOX_STATUSES


@pytest.mark.parametrize(
    ("template", "mtype"),
    [("sms/reminder", "reminder"), ("letter/lawyer_letter", "lawyer_letter"), ("reminder", "reminder")],
)
def test_a_template_names_its_message_type_after_the_channel(template: str, mtype: str) -> None:
    assert message_type(template) == mtype
