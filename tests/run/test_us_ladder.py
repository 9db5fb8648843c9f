"""The shipped US example (policies/us-reg-f-example.yaml, profile us-reg-f) over 14 days of daily runs and
dispatches, on SQLite and PostgreSQL: ten borrowers across the US time zones whose loans fall due on
different days. Each day the run plans (10:00 in each borrower's zone) and dispatch sends at 14:00 in New
York (08:00–21:00 everywhere in the continental US and Alaska).

What Regulation F asks of the ladder, checked on what was actually sent:
  - the validation notice is the first thing every delinquent borrower receives, reminders come after it;
  - regf.validation_notice holds back only what was planned before the notice went out;
  - no borrower gets more than 7 calls in any 7 consecutive days (12 CFR 1006.14(b)(2));
  - every electronic message carries the opt-out, the notice itemises the debt and names the dispute date.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from sqlalchemy import select

from arrears.adapters.store.dispatch_models import DeliveryRow
from arrears.adapters.store.models import BorrowerRow
from arrears.adapters.store.run_models import OutboxRow
from tests.run.conftest import ROOT, World

POLICY = ROOT / "policies" / "us-reg-f-example.yaml"
START = date(2026, 4, 1)  # a Wednesday; daylight-saving time all fortnight
DAYS = 14
SEND_AT = time(18, 0)  # UTC: 14:00 New York, 11:00 Phoenix and Los Angeles, 10:00 Anchorage

# loan, borrower, product, currency, seq, due date, principal, interest, name, phone, email, zone, language
LOANS = """
L1,B1,us-personal-loan,USD,1,2026-03-31,500.00,25.00,Ann Lee,+12125550101,b1@example.com,America/New_York,en
L2,B2,us-personal-loan,USD,1,2026-04-02,800.00,40.00,Bob Kim,+13125550102,b2@example.com,America/Chicago,en
L3,B3,us-personal-loan,USD,1,2026-04-04,300.00,15.00,Cy Ode,+13035550103,b3@example.com,America/Denver,en
L4,B4,us-personal-loan,USD,1,2026-04-06,650.00,30.00,Di Paz,+16025550104,b4@example.com,America/Phoenix,en
L5,B5,us-personal-loan,USD,1,2026-04-08,420.00,20.00,Ed Roy,+12135550105,b5@example.com,America/Los_Angeles,en
L6,B6,us-personal-loan,USD,1,2026-04-10,900.00,45.00,Flo Sun,+19075550106,b6@example.com,America/Anchorage,en
L7,B7,us-personal-loan,USD,1,2026-03-26,700.00,35.00,Gus Tan,+13135550107,b7@example.com,America/Detroit,en
L8,B8,us-personal-loan,USD,1,2026-03-27,250.00,12.50,Hal Ung,+12085550108,b8@example.com,America/Boise,en
L9,B9,us-personal-loan,USD,1,2026-04-05,600.00,30.00,Ivy Vo,+16175550109,b9@example.com,America/New_York,en
L10,B10,us-personal-loan,USD,1,2026-04-20,600.00,30.00,Jo Wu,+16175550110,b10@example.com,America/New_York,en
"""
# L7 and L8 are already 6 and 5 days past due on the first day: the notice catches up on day one. L8 also
# has a reminder due that very day, planned before the notice went out: the profile blocks it. L9 pays in
# full on the morning its notice is due: nothing goes out. L10 falls due after the fortnight.
PAYMENTS = {date(2026, 4, 6): [("L9", 63000, "PAY-L9")]}
LENDER = {
    "ARREARS_LENDER_NAME": "Harbor Lending",
    "ARREARS_LENDER_HOTLINE": "800-555-0100",
    "ARREARS_LENDER_DISPUTE_CONTACT": "disputes@harbor.test",
    "ARREARS_LENDER_COMPLAINT_CONTACT": "complaints@harbor.test",
    "ARREARS_LENDER_PAY_LINK": "https://pay.harbor.test/r/{loan_id}",
}

EXPECTED = """
L1  04-01  validation_notice_letter  sent
L1  04-01  validation_notice_email   sent
L1  04-03  reminder_email_d3         sent
L1  04-05  reminder_sms_d5           sent
L1  04-07  robocall_d7               sent
L1  04-10  agent_call_d10            sent
L1  04-12  reminder_sms_d12          sent
L1  04-14  robocall_d14              sent
L2  04-03  validation_notice_letter  sent
L2  04-03  validation_notice_email   sent
L2  04-05  reminder_email_d3         sent
L2  04-07  reminder_sms_d5           sent
L2  04-09  robocall_d7               sent
L2  04-12  agent_call_d10            sent
L2  04-14  reminder_sms_d12          sent
L3  04-05  validation_notice_letter  sent
L3  04-05  validation_notice_email   sent
L3  04-07  reminder_email_d3         sent
L3  04-09  reminder_sms_d5           sent
L3  04-11  robocall_d7               sent
L3  04-14  agent_call_d10            sent
L4  04-07  validation_notice_letter  sent
L4  04-07  validation_notice_email   sent
L4  04-09  reminder_email_d3         sent
L4  04-11  reminder_sms_d5           sent
L4  04-13  robocall_d7               sent
L5  04-09  validation_notice_letter  sent
L5  04-09  validation_notice_email   sent
L5  04-11  reminder_email_d3         sent
L5  04-13  reminder_sms_d5           sent
L6  04-11  validation_notice_letter  sent
L6  04-11  validation_notice_email   sent
L6  04-13  reminder_email_d3         sent
L7  04-01  validation_notice_letter  sent
L7  04-01  validation_notice_email   sent
L7  04-02  robocall_d7               sent
L7  04-05  agent_call_d10            sent
L7  04-07  reminder_sms_d12          sent
L7  04-09  robocall_d14              sent
L7  04-13  strong_sms_d18            sent
L8  04-01  reminder_sms_d5           blocked    regf.validation_notice
L8  04-01  validation_notice_letter  sent
L8  04-01  validation_notice_email   sent
L8  04-03  robocall_d7               sent
L8  04-06  agent_call_d10            sent
L8  04-08  reminder_sms_d12          sent
L8  04-10  robocall_d14              sent
L8  04-14  strong_sms_d18            sent
L9  04-06  validation_notice_letter  cancelled
L9  04-06  validation_notice_email   cancelled
"""


def expected_rows() -> list[tuple[str, ...]]:
    rows = []
    for line in EXPECTED.strip().splitlines():
        loan, day, step, status, *rules = line.split()
        rows.append((loan, day, step, status, *(rules or [""])))
    return rows


def fortnight(world: World) -> None:
    for n in range(DAYS):
        day = START + timedelta(days=n)
        world.run(day)
        for loan_id, amount, payment_id in PAYMENTS.get(day, []):
            world.pay(loan_id, day, amount, payment_id)
        world.dispatch(datetime.combine(day, SEND_AT, UTC))


def sent(world: World) -> dict[str, list[tuple[datetime, str, str]]]:
    """Per borrower, what went out: (instant, channel, template), in order."""
    rows = world.select(
        select(DeliveryRow.sent_at, OutboxRow.borrower_id, OutboxRow.channel, OutboxRow.template)
        .join(OutboxRow, OutboxRow.id == DeliveryRow.outbox_id)
        .order_by(DeliveryRow.sent_at, OutboxRow.id)
    )
    out: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for at, borrower, channel, template in rows:
        out[borrower].append((at, channel, template))
    return out


def zones(world: World) -> dict[str, ZoneInfo]:
    return {b: ZoneInfo(z) for b, z in world.select(select(BorrowerRow.id, BorrowerRow.timezone))}


def test_the_fortnight_plans_and_sends_the_expected_ladder(scenario: Callable[..., World]) -> None:
    world = scenario(LOANS, POLICY, **LENDER)
    fortnight(world)
    got = [
        (r.loan_id, r.as_of.strftime("%m-%d"), r.step_id, r.status, r.rules)
        for r in sorted(world.outbox(), key=lambda r: (int(r.loan_id[1:]), r.id))
    ]
    assert got == expected_rows()
    assert not [r for r in world.outbox() if r.status in ("dead", "failed", "deferred", "expired")]
    (l9,) = {r.last_error for r in world.outbox(loan_id="L9")}
    assert l9 == "nothing overdue any more (paid)"


def test_the_validation_notice_goes_first_and_reminders_follow(scenario: Callable[..., World]) -> None:
    world = scenario(LOANS, POLICY, **LENDER)
    fortnight(world)
    by_borrower = sent(world)
    assert sorted(by_borrower, key=lambda b: int(b[1:])) == [f"B{i}" for i in range(1, 9)]
    for borrower, messages in by_borrower.items():
        first_at = messages[0][0]
        first = {template for at, _, template in messages if at == first_at}
        later = [template for at, _, template in messages if at > first_at]
        assert first == {"letter/validation_notice", "email/validation_notice"}, borrower
        assert later and all(not t.endswith("/validation_notice") for t in later), borrower
        assert {"email/reminder", "sms/reminder", "robocall/reminder"} & set(later), borrower
    # The only row the notice rule held back was planned (10:00 in Boise) before the notice went out.
    held = [r for r in world.outbox() if "regf.validation_notice" in r.rules.split(",")]
    assert [(r.loan_id, r.step_id, r.status) for r in held] == [("L8", "reminder_sms_d5", "blocked")]
    planned_at = datetime.combine(held[0].as_of, time(10, 0), zones(world)["B8"])
    assert planned_at < by_borrower["B8"][0][0]


def test_no_borrower_gets_more_than_seven_calls_in_seven_days(scenario: Callable[..., World]) -> None:
    world = scenario(LOANS, POLICY, **LENDER)
    fortnight(world)
    zone_of = zones(world)
    for borrower, messages in sent(world).items():
        call_days = [
            at.astimezone(zone_of[borrower]).date()
            for at, channel, _ in messages
            if channel in ("robocall", "agent_call")
        ]
        for n in range(DAYS + 7):
            window = [START - timedelta(days=6) + timedelta(days=n + k) for k in range(7)]
            assert sum(1 for d in call_days if d in window) <= 7, (borrower, window[0])
        assert len(call_days) <= 3  # the ladder plans at most two calls in any 7 days
    robocalls = world.attempts(channel="robocall")
    assert robocalls and {a.outcome for a in robocalls} == {"unknown"}  # the IVR only queued them


def test_every_message_says_what_reg_f_asks(scenario: Callable[..., World]) -> None:
    world = scenario(LOANS, POLICY, **LENDER)
    fortnight(world)
    texts = [m["body"]["text"] for m in world.http.by_path("/sms")]
    assert len(texts) == 11 and all(t.endswith("Reply STOP to opt out.") for t in texts)
    assert all("Reply STOP to opt out of these emails." in m.get_content() for m in world.smtp.messages)
    (notice,) = [
        m
        for m in world.smtp.messages
        if m["To"] == "b1@example.com" and "validation notice" in str(m["Subject"])
    ]
    body = notice.get_content()
    for line in (
        "Harbor Lending is trying to collect a debt that you owe to Harbor Lending",
        "- Your payment due on Mar 31, 2026 is 1 day past due as of Apr 1, 2026.",
        "- Principal past due: $500.00",
        "- Interest past due: $25.00",
        "- Late fees charged: $0.00",
        "- Total amount of the debt now: $525.00",
        # sent Wed 1 Apr: received 5 business days later (8 Apr), disputes for 30 days after that
        "by May 8, 2026 to dispute all or part of the debt",
        "www.cfpb.gov/debt-collection",
    ):
        assert line in body, line
    letters = sorted(world.letters.glob("*.pdf"))
    assert len(letters) == 8  # one validation notice letter per delinquent borrower; L9 paid first
    first = next(p for p in letters if p.name.startswith("L1_"))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(first.read_bytes())).pages)
    assert "Total amount of the debt now: $525.00" in " ".join(text.split())
