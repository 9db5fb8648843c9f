"""Daily run → outbox → dispatch, end to end on SQLite and PostgreSQL, with every provider on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, func, insert, select

from arrears.adapters.channels import SendResult
from arrears.adapters.channels.config import load_channels_config
from arrears.adapters.store.dispatch_models import AgentTaskRow, ContactAttemptRow, DeliveryRow
from arrears.adapters.store.models import AccountEventRow
from arrears.domain.ledger import compute_position
from arrears.domain.loans import Payment
from arrears.domain.outbox import batch_request_key
from arrears.services.dispatch import dispatch
from arrears.services.receipts import approve
from arrears.services.unit_of_work import UnitOfWork
from tests.dispatch.conftest import AS_OF, SEND_AT, World, give_email

EMAIL_LOAN, EMAIL_BORROWER = "L0000000180", "B000000125"
SMS_LOAN = "L0000000022"  # its bureau-notice SMS: ¥140.08, 175 days past due, 3 UCS-2 parts
LETTER_LOAN = "L0000000012"


def _count(url: str, model: Any, **where: object) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            query = select(func.count()).select_from(model)
            for key, value in where.items():
                query = query.where(getattr(model, key) == value)
            return int(c.execute(query).scalar_one())
    finally:
        engine.dispose()


def _contacts(url: str, outbox_id: int) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            query = select(ContactAttemptRow).where(ContactAttemptRow.outbox_id == outbox_id)
            return list(c.execute(query).all())
    finally:
        engine.dispose()


def test_dispatch_end_to_end_sends_each_row_once_with_the_right_amount(world: World) -> None:
    give_email(world, EMAIL_BORROWER, "borrower125@example.cn")
    report = dispatch(world.dispatcher())
    assert report.to_dict()["sent"] == 59 and report.claimed == 60
    assert dict(report.channels) == {
        "agency": 1,
        "credit_bureau_notice": 26,
        "email": 1,
        "push": 1,
        "sms": 30,
    }
    # E-mail: the local SMTP server got it, with the amount due as of the run day (English borrower).
    mails = [m for m in world.smtp.messages if m["To"] == "borrower125@example.cn"]
    assert len(mails) == 1
    body = mails[0].get_content()
    assert "The amount now due is CN¥152.51." in body and "4 days past due" in body
    with UnitOfWork(world.url) as uow:
        position = compute_position(uow.loans.get(EMAIL_LOAN), AS_OF)
    assert position.overdue.total == 15251 and position.dpd == 4
    # SMS over SMPP: Chinese in UCS-2, cut into parts with a UDH and put back together by the SMSC.
    assert {p["data_coding"] for p in world.smpp.pdus} == {0x08}
    sms = [m for m in world.smpp.messages if "L0000000022" in m["text"]]
    assert len(sms) == 1 and sms[0]["parts"] == 3 and sms[0]["dest"] == "18189061837"
    assert sms[0]["text"].startswith("【示例消费金融】尊敬的李**，您的借款已逾期175天，应还¥140.08。")
    assert len(world.smpp.messages) == 30
    # Records: an attempt per contact sent, a delivery per row sent, an agency task in the queue.
    assert _count(world.url, DeliveryRow) == 59
    assert _count(world.url, ContactAttemptRow) == 58  # the agency hand-over is not a contact
    assert _count(world.url, AgentTaskRow, reason="agency") == 1
    dead = world.rows(status="dead")
    assert [(r.loan_id, r.last_error) for r in dead] == [("L0000000187", "no e-mail address for B000000131")]
    # Running dispatch again sends nothing twice.
    again = dispatch(world.dispatcher(now=SEND_AT + timedelta(minutes=5)))
    assert again.claimed == 0
    assert len(world.smpp.messages) == 30 and len(world.smtp.messages) == 1
    assert _count(world.url, DeliveryRow) == 59


def test_a_payment_before_dispatch_cancels_the_sms(world: World) -> None:
    with UnitOfWork(world.url) as uow:
        owed = compute_position(uow.loans.get(SMS_LOAN), AS_OF).overdue.total
        uow.payments.add(SMS_LOAN, Payment("PAY-E2E-1", AS_OF, owed))
        uow.commit()
    assert owed == 14008
    dispatch(world.dispatcher())
    rows = world.rows(loan_id=SMS_LOAN)
    assert {(r.channel, r.status) for r in rows} == {
        ("sms", "cancelled"),
        ("credit_bureau_notice", "cancelled"),
    }
    assert {r.last_error for r in rows} == {"nothing overdue any more (paid)"}
    assert not [m for m in world.smpp.messages if "L0000000022" in m["text"]]
    assert len(world.smpp.messages) == 29


def test_a_dispute_imported_after_the_run_cancels_the_sms_and_a_closed_one_lets_it_go(world: World) -> None:
    """The store's own event kinds: dispute_opened holds the loan until a later dispute_closed."""
    other = next(r.loan_id for r in world.rows(channel="sms") if r.loan_id != SMS_LOAN)
    for event_id, loan, kind in (
        ("D-1", SMS_LOAN, "dispute_opened"),
        ("D-2", other, "dispute_opened"),
        ("D-3", other, "dispute_closed"),
    ):
        world.execute(
            insert(AccountEventRow).values(
                id=event_id,
                loan_id=loan,
                kind=kind,
                on_date=AS_OF,
                at=SEND_AT,
                detail={},
                recorded_at=SEND_AT,
            )
        )
    dispatch(world.dispatcher())
    held = {(r.channel, r.status, r.last_error) for r in world.rows(loan_id=SMS_LOAN)}
    assert ("sms", "cancelled", f"dispute_opened recorded on {AS_OF.isoformat()}") in held
    assert {r.status for r in world.rows(loan_id=other, channel="sms")} == {"sent"}


def test_the_lawyers_letter_waits_for_approval_then_holds_the_chinese_text(world: World) -> None:
    dispatch(world.dispatcher())
    (letter,) = world.rows(channel="lawyer_letter")
    assert letter.status == "awaiting_approval" and letter.loan_id == LETTER_LOAN
    with UnitOfWork(world.url) as uow:
        approve(uow, letter.id, "王律师", "LR-2026-0042", "示例律师事务所", at=SEND_AT)
        uow.commit()
    report = dispatch(world.dispatcher(now=SEND_AT + timedelta(minutes=1)))
    assert report.to_dict()["sent"] == 1
    (done,) = world.rows(channel="lawyer_letter")
    assert done.status == "sent"
    pdfs = [
        p
        for p in world.letters.iterdir()
        if p.name.startswith("L0000000012") and "lawyer" in p.name and p.suffix == ".pdf"
    ]
    assert len(pdfs) == 1
    text = "".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)
    compact = "".join(text.split())
    assert "律师函" in compact and "示例律师事务所" in compact and "LR-2026-0042" in compact
    assert "¥1,183.78" in compact and "蒋**" in compact


def test_a_lawyers_letter_without_its_signing_lawyer_is_blocked_at_dispatch_and_never_spooled(
    world: World,
) -> None:
    """No signing lawyer nor firm registration configured: the approved letter is blocked with the reason
    (rule letter.unsigned), nothing is rendered into the letters folder and no contact is recorded."""
    (letter,) = world.rows(channel="lawyer_letter")
    with UnitOfWork(world.url) as uow:
        approve(uow, letter.id, "王律师", "LR-2026-0042", "示例律师事务所", at=SEND_AT)
        uow.commit()
    unsigned = load_channels_config(
        environ={k: v for k, v in world.env.items() if k != "ARREARS_LENDER_SIGNING_LAWYER"}
    )
    dispatch(world.dispatcher(now=SEND_AT + timedelta(minutes=1), config=unsigned))
    (done,) = world.rows(channel="lawyer_letter")
    assert (done.status, done.rules) == ("blocked", "letter.unsigned")
    assert "signing_lawyer" in done.last_error and "firm_registration" not in done.last_error
    assert not [p for p in world.letters.glob("*") if "lawyer" in p.name]
    with UnitOfWork(world.url) as uow:
        attempts = uow.connection.execute(
            select(ContactAttemptRow).where(ContactAttemptRow.loan_id == done.loan_id)
        ).all()
    assert not [a for a in attempts if a.channel == "lawyer_letter"]


def test_a_crash_after_sending_resends_with_the_same_key_and_the_provider_delivers_once(world: World) -> None:
    crashed: list[int] = []
    (push,) = world.rows(channel="push")

    def crash(outbox_id: int, result: SendResult) -> None:
        if outbox_id == push.id and not crashed:
            crashed.append(outbox_id)
            raise RuntimeError("power cut between send and commit")

    only_push = world.config(ARREARS_SMPP_HOST="", ARREARS_EMAIL_HOST="")
    with pytest.raises(RuntimeError, match="power cut"):
        dispatch(world.dispatcher(config=only_push, after_send=crash), batch=1)
    assert crashed == [push.id]
    (push,) = world.rows(channel="push")
    assert push.status == "sending" and push.claimed_by is None  # in flight, let go of by the dead claim
    # It may have reached the person: its attempt is on record, outcome unknown, and the caps count it.
    assert [(c.outcome, c.provider_id) for c in _contacts(world.url, push.id)] == [("unknown", None)]
    dispatch(world.dispatcher(config=only_push))
    (push,) = world.rows(channel="push")
    assert push.status == "sent" and push.attempts == 1 and push.claimed_by is None
    keys = [r["key"] for r in world.http.requests if r["path"] == "/push"]
    assert keys == [push.idempotency_key, push.idempotency_key]  # sent twice ...
    assert len(world.http.by_path("/push")) == 1  # ... delivered once
    ((outcome, provider_id),) = [(c.outcome, c.provider_id) for c in _contacts(world.url, push.id)]
    assert outcome == "sent" and provider_id  # one attempt, settled by the provider's answer


def test_a_channel_that_is_down_backs_off_then_dead_letters(world: World) -> None:
    world.http.fail_next, world.http.fail_status = 100, 503
    only_push = world.config(ARREARS_SMPP_HOST="", ARREARS_EMAIL_HOST="")
    now = SEND_AT
    waits = []
    for _ in range(3):
        dispatch(world.dispatcher(now=now, config=only_push))
        (push,) = world.rows(channel="push")
        if push.status == "dead":
            break
        assert push.status == "failed" and push.last_error.endswith("HTTP 503")
        waits.append((push.next_allowed_at - now).total_seconds())
        now = push.next_allowed_at
    assert 30 <= waits[0] <= 90 and 60 <= waits[1] <= 180  # 60 s then 120 s, ±50 % jitter
    assert push.status == "dead" and push.attempts == 3
    assert push.last_error.startswith("after 3 tries:") and "HTTP 503" in push.last_error
    # The SMS rows meanwhile waited for a channel that is not configured, without dying at once.
    sms = world.rows(channel="sms", status="failed")
    assert sms and all("not configured" in r.last_error for r in sms)


@pytest.mark.postgres
def test_a_payment_landing_while_a_worker_holds_the_row_cancels_it(world: World) -> None:
    if not world.url.startswith("postgresql"):
        pytest.skip("the race needs two connections writing at once: PostgreSQL")
    (target,) = [r for r in world.rows(loan_id=SMS_LOAN) if r.channel == "sms"]

    def pay_now(claimed: list[int]) -> None:
        if target.id in claimed:
            with UnitOfWork(world.url) as other:  # another connection: the payment API
                owed = compute_position(other.loans.get(SMS_LOAN), AS_OF).overdue.total
                other.payments.add(SMS_LOAN, Payment("PAY-RACE-1", AS_OF, owed))
                other.commit()

    dispatch(world.dispatcher(on_claimed=pay_now), batch=5)
    (row,) = [r for r in world.rows(loan_id=SMS_LOAN) if r.channel == "sms"]
    # Cancelled by the payment itself (the claim no longer locks its rows) or by the worker's re-check.
    assert row.status == "cancelled"
    assert row.last_error in ("payment PAY-RACE-1", "nothing overdue any more (paid)")
    assert not [m for m in world.smpp.messages if "L0000000022" in m["text"]]


def test_sms_through_the_gateways_batch_api_goes_in_few_posts_and_a_crash_resends_without_a_double(
    world: World,
) -> None:
    http_sms = world.config(
        ARREARS_SMS_PROVIDER="http",
        ARREARS_SMS_URL=world.http.url + "/sms",
        ARREARS_SMS_BATCH_URL=world.http.url + "/sms/batch",
        ARREARS_SMS_BATCH_SIZE="8",
        ARREARS_EMAIL_HOST="",
    )
    crashed: list[int] = []
    sms_ids = {r.id for r in world.rows(channel="sms")}

    def crash(outbox_id: int, result: SendResult) -> None:
        if outbox_id in sms_ids and not crashed:  # after a batch POST the gateway took
            crashed.append(outbox_id)
            raise RuntimeError("power cut between send and commit")

    with pytest.raises(RuntimeError, match="power cut"):
        dispatch(world.dispatcher(config=http_sms, after_send=crash))
    # Only the request on the wire is left in flight, under the key its messages' keys give it.
    flying = world.rows(status="sending")
    (crashed_batch,) = [
        b for b in world.http.batches if any(k == r.idempotency_key for r in flying for k in b)
    ]
    assert sorted(r.idempotency_key for r in flying) == sorted(crashed_batch)
    assert {r.request_key for r in flying} == {batch_request_key(crashed_batch)}
    first_posts = len(world.http.batches)
    report = dispatch(world.dispatcher(config=http_sms))
    assert report.outcomes["sent"] >= len(flying)
    sms = world.rows(channel="sms", status="sent")
    assert len(sms) == 30 and all(r.attempts == 1 for r in sms)
    assert len(world.http.by_path("/sms")) == 30  # each delivered once ...
    sent_keys = [k for batch in world.http.batches for k in batch]
    assert len(sent_keys) == 30 + len(flying)  # ... the crashed request's messages sent twice, no others
    retried = [sorted(b) for b in world.http.batches[first_posts:]]
    assert sorted(crashed_batch) in retried  # the same request again (same messages, so the same key)
    assert all(len(b) <= 8 for b in world.http.batches)
    assert len(world.http.batches) - first_posts <= 8  # 30 messages, batches of ≤ 8, few borrower breaks
    assert _count(world.url, ContactAttemptRow, channel="sms") == 30
    assert _count(world.url, DeliveryRow, channel="sms") == 30


def test_a_ledger_position_kept_across_batches_is_never_one_from_before_a_payment(world: World) -> None:
    from dataclasses import replace

    from arrears.services.dispatch import _ledger

    with UnitOfWork(world.url) as uow:
        loan = uow.loans.get(SMS_LOAN)
    before = _ledger(loan, AS_OF)
    assert before.overdue.total == 14008 and _ledger(loan, AS_OF) is before  # kept
    paid = replace(loan, payments=(*loan.payments, Payment("PAY-KEPT-1", AS_OF, 14008)))
    assert _ledger(paid, AS_OF).overdue.total == 0  # the loan as read after the payment: a new key


def test_batch_sends_still_let_a_per_debtor_sms_cap_see_the_sms_sent_earlier_in_the_claim(
    world: World, tmp_path: Path
) -> None:
    from sqlalchemy import insert

    from arrears.adapters.profile_file import load_profile
    from arrears.adapters.store.run_models import OutboxRow
    from arrears.bootstrap import make_dispatcher

    profile_file = tmp_path / "cn-sms-once.yaml"
    profile_file.write_text(
        "name: cn-sms-once\nextends: cn\nrules:\n"
        "  - id: lender.sms.per_day\n    kind: cap\n    source: one SMS per debtor per day\n"
        "    applies_to: {channels: [sms]}\n    counts: {channels: [sms]}\n    per: debtor\n"
        "    window: {calendar_days: 1}\n    max: 1\n",
        encoding="utf-8",
    )
    (sms,) = [r for r in world.rows(loan_id=SMS_LOAN) if r.channel == "sms"]
    copy = {k: v for k, v in sms._mapping.items() if k != "id"}
    for n in (1, 2):  # two more SMS to the same borrower, claimed in the same batch
        world.execute(
            insert(OutboxRow).values(
                **{**copy, "idempotency_key": f"{sms.idempotency_key}:{n}", "step_id": f"x{n}"}
            )
        )
    config = world.config(
        ARREARS_SMS_PROVIDER="http",
        ARREARS_SMS_URL=world.http.url + "/sms",
        ARREARS_SMS_BATCH_URL=world.http.url + "/sms/batch",
    )
    cfg_channels = world.dispatcher(config=config)
    d = make_dispatcher(
        world.url, cfg_channels.channels, config, load_profile(str(profile_file)), now=lambda: SEND_AT
    )
    dispatch(d)
    mine = [r for r in world.rows(borrower_id=sms.borrower_id) if r.channel == "sms"]
    assert sorted(r.status for r in mine) == ["deferred", "deferred", "sent"]
    assert [r.rules.split(",")[0] for r in mine if r.status == "deferred"] == ["lender.sms.per_day"] * 2
    to_borrower = [m for m in world.http.by_path("/sms") if m["body"]["to"] == "18189061837"]
    assert len(to_borrower) == 1
    assert len(world.http.batches) >= 2  # the later rows were checked after the first had gone out


@pytest.mark.postgres
def test_what_became_of_each_message_sent_one_by_one_is_one_statement(world: World) -> None:
    """After its send, a message's status, delivery and settled attempt are one statement and a commit on
    PostgreSQL (it was four and a SET LOCAL): the claim's reads and writes aside, about one statement per
    message."""
    if not world.url.startswith("postgresql"):
        pytest.skip("one statement from arrays is PostgreSQL's (SQLite: an executemany per table)")
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    give_email(world, EMAIL_BORROWER, "borrower125@example.cn")
    event.listen(Engine, "before_cursor_execute", count)
    try:
        report = dispatch(world.dispatcher())
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    sent = report.to_dict()["sent"]
    assert sent == 59
    results = [s for s in seen if "INSERT INTO deliveries" in s]
    # One per request (the messages go one by one here), the one refused (no e-mail address) too.
    assert len(results) == report.claimed == 60
    assert all(s.lstrip().startswith("WITH unflushed") for s in results)
    assert not [s for s in seen if s.startswith("UPDATE contact_attempts")]  # folded into the one statement
    assert len(seen) <= sent + 60, "\n".join(seen)  # 91 for 59 now; about 300 with four per result
