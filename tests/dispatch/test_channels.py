"""Each channel against a local provider: SMTP, SMS over HTTP and SMPP (Chinese, UCS-2, UDH), push and IVR
webhooks, PDF letters; errors split into ChannelDown / PermanentFailure; the token bucket; the config."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from arrears.adapters.channels import (
    ChannelDown,
    OutgoingMessage,
    PermanentFailure,
    RateLimited,
    SendResult,
    TokenBucket,
    after_fork,
)
from arrears.adapters.channels.config import build_channels, load_channels_config
from arrears.adapters.channels.email import SmtpChannel
from arrears.adapters.channels.http import HttpSmsChannel, IvrChannel, WebhookChannel
from arrears.adapters.channels.letters import PdfLetterChannel
from arrears.adapters.channels.smpp import SmppChannel, encode_parts
from arrears.adapters.letters import render_letter
from arrears.domain.errors import InputError
from tests.dispatch.servers import http_sink, smpp_server, smtp_server

CHINESE = "【示例消费金融】尊敬的张*，您的借款已逾期7天，当前应还¥1,234.56。" * 3  # 3 × 41 = 123 characters


def test_smtp_delivers_utf8_mail_with_the_key_as_message_id() -> None:
    with smtp_server() as server:
        channel = SmtpChannel("127.0.0.1", server.port, sender="collect@example.cn")
        msg = OutgoingMessage("email", "zhang@example.cn", "应还¥1,234.56", subject="还款提醒")
        first = channel.send(msg, "L1:2026-03-31:reminder_email_d5:email")
        again = channel.send(msg, "L1:2026-03-31:reminder_email_d5:email")
    assert first == again and first.status == "accepted"
    assert len(server.messages) == 2 and len(server.by_message_id) == 1  # the provider's de-duplication
    mail = server.messages[0]
    assert mail["Subject"] == "还款提醒"
    assert mail["X-Idempotency-Key"] == "L1:2026-03-31:reminder_email_d5:email"
    assert mail.get_content().strip() == "应还¥1,234.56"


def test_smtp_down_and_refused() -> None:
    with smtp_server() as server:
        port = server.port
    with pytest.raises(ChannelDown):
        SmtpChannel("127.0.0.1", port, timeout=2).send(OutgoingMessage("email", "a@b.cn", "x"), "k")
    with pytest.raises(PermanentFailure, match="no e-mail address"):
        SmtpChannel("127.0.0.1", port).send(OutgoingMessage("email", "", "x"), "k")


def test_http_sms_posts_the_key_and_maps_errors() -> None:
    with http_sink() as sink:
        channel = HttpSmsChannel(sink.url + "/sms", sender="106900")
        result = channel.send(OutgoingMessage("sms", "13800138000", "您好"), "key-1")
        channel.send(OutgoingMessage("sms", "13800138000", "您好"), "key-1")
        sink.fail_next, sink.fail_status = 1, 503
        with pytest.raises(ChannelDown, match="HTTP 503"):
            channel.send(OutgoingMessage("sms", "13800138000", "x"), "key-2")
        sink.fail_next, sink.fail_status = 1, 400
        with pytest.raises(PermanentFailure, match="HTTP 400"):
            channel.send(OutgoingMessage("sms", "13800138000", "x"), "key-3")
    assert result.provider_id.startswith("p-")
    assert [r["key"] for r in sink.requests] == ["key-1", "key-1"]
    assert list(sink.delivered) == ["key-1"]
    assert sink.delivered["key-1"]["body"] == {
        "to": "13800138000",
        "text": "您好",
        "sender": "106900",
        "idempotency_key": "key-1",
    }
    with pytest.raises(ChannelDown):
        HttpSmsChannel(sink.url + "/sms", timeout=1).send(OutgoingMessage("sms", "1", "x"), "k")


def test_push_and_ivr_webhooks() -> None:
    with http_sink() as sink:
        sink.reply = {"status": "answered"}
        push = WebhookChannel(sink.url + "/push", kind="push")
        ivr = IvrChannel(sink.url + "/ivr", callback_url="http://127.0.0.1:9/cb")
        push.send(OutgoingMessage("push", "", "请还款", subject="提醒", borrower_id="B1", loan_id="L1"), "k1")
        call = ivr.send(OutgoingMessage("robocall", "13800138000", "您好，这里是示例消费金融。"), "k2")
    assert call.status == "answered"
    assert sink.delivered["k1"]["body"]["user"] == "B1" and sink.delivered["k1"]["path"] == "/push"
    assert sink.delivered["k2"]["body"]["script"] == "您好，这里是示例消费金融。"
    assert sink.delivered["k2"]["body"]["callback_url"] == "http://127.0.0.1:9/cb"


def test_ucs2_parts_carry_a_concatenation_header() -> None:
    coding, esm, parts = encode_parts(CHINESE, 0x2A)
    assert (coding, esm, len(parts)) == (0x08, 0x40, 2)  # 123 units > 70: two parts of ≤ 67
    assert parts[0][:6] == bytes([5, 0, 3, 0x2A, 2, 1]) and parts[1][:6] == bytes([5, 0, 3, 0x2A, 2, 2])
    assert parts[0][6:].decode("utf-16-be") == CHINESE[:67]
    assert encode_parts("hello", 1) == (0x00, 0, [b"hello"])


def test_smpp_delivers_chinese_in_ucs2_reassembled() -> None:
    with smpp_server() as smsc:
        channel = SmppChannel(
            "127.0.0.1", smsc.port, system_id="arrears", password="pw", source_addr="LENDER"
        )
        result = channel.send(OutgoingMessage("sms", "8613800138000", CHINESE), "k-long")
        short = channel.send(OutgoingMessage("sms", "8613800138000", "您好"), "k-short")
        channel.close()
        deadline = time.monotonic() + 5
        while smsc.unbinds == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert smsc.binds == [("arrears", "pw")] and smsc.unbinds == 1
    assert [p["data_coding"] for p in smsc.pdus] == [0x08, 0x08, 0x08]
    assert [p["udh"]["seq"] if p["udh"] else None for p in smsc.pdus] == [1, 2, None]
    assert smsc.messages == [
        {"dest": "8613800138000", "text": CHINESE, "parts": 2},
        {"dest": "8613800138000", "text": "您好", "parts": 1},
    ]
    assert result.provider_id == "m1,m2" and short.provider_id == "m3"


def test_smpp_down_is_retryable() -> None:
    with smpp_server() as smsc:
        port = smsc.port
    with pytest.raises(ChannelDown):
        SmppChannel("127.0.0.1", port, timeout=1).send(OutgoingMessage("sms", "1", "x"), "k")


def test_pdf_letter_is_written_once_per_key(tmp_path: Path) -> None:
    context = {
        "lender_name": "示例消费金融",
        "hotline": "400-800-1000",
        "dispute_contact": "400-800-1001",
        "complaint_contact": "400-800-1002",
        "borrower_name": "张三",
        "amount_due": "1234.56",
        "due_date": "2026-01-10",
        "days_past_due": 40,
        "pay_link": "https://pay.example.cn/r/L1",
        "contract_clause": "第8.2条",
        "law_firm": "示例律师事务所",
        "approval_ref": "LR-7",
        "letter_date": "2026-02-19",
        "loan_ref": "L1",
    }
    rendered, _ = render_letter("letter/lawyer_letter", "zh-CN", context)
    channel = PdfLetterChannel(tmp_path / "out")
    msg = OutgoingMessage("lawyer_letter", "张三", rendered.body, rendered=rendered)
    first = channel.send(msg, "L1:2026-02-19:lawyer_letter_d40:lawyer_letter")
    second = channel.send(msg, "L1:2026-02-19:lawyer_letter_d40:lawyer_letter")
    assert first == second and len(list((tmp_path / "out").glob("*.pdf"))) == 1
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "out" / first.provider_id).pages)
    assert "示例律师事务所" in text and "张*" in text and "1,234.56" in text
    with pytest.raises(PermanentFailure):
        channel.send(OutgoingMessage("lawyer_letter", "x", "plain"), "k")


def test_token_bucket_paces_sends() -> None:
    bucket = TokenBucket(rate=200, burst=10)
    started = time.monotonic()
    for _ in range(50):
        assert bucket.acquire(timeout=5)
    elapsed = time.monotonic() - started
    assert 0.15 <= elapsed < 1.0  # 10 at once, then 40 at 200/s ≈ 0.2 s
    empty = TokenBucket(rate=1, burst=1)
    assert empty.acquire(0.1) and not empty.acquire(0.1)


def test_config_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(
        "lender: {name: 示例银行, hotline: 95555}\n"
        "email: {host: 127.0.0.1, port: 2525}\n"
        "sms: {url: 'http://127.0.0.1:1/sms'}\n"
        "rate_limits: {sms: 50}\n"
        "retry: {max_attempts: 3}\n",
        encoding="utf-8",
    )
    config = load_channels_config(
        path, environ={"ARREARS_EMAIL_PORT": "2526", "ARREARS_IN_APP_URL": "http://x/"}
    )
    assert config.lender["name"] == "示例银行" and config.lender["dispute_contact"] == "400-800-1001"
    assert config.section("email") == {"host": "127.0.0.1", "port": 2526}  # the variable read as its type
    assert config.retry["max_attempts"] == 3 and config.retry["base_seconds"] == 60
    channels = build_channels(config)
    assert sorted(channels) == [
        "agency",
        "agent_call",
        "credit_bureau_notice",
        "email",
        "freeze_line",
        "in_app",
        "lawyer_letter",
        "letter",
        "litigation",
        "sms",
        "visit",
    ]
    assert channels["sms"].name == "sms-http"
    bad = tmp_path / "bad.yaml"
    bad.write_text("lender: {}\nfax: {host: x}\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown section 'fax'") as err:
        load_channels_config(bad, environ={})
    assert err.value.line == 2


def test_each_of_four_worker_processes_gets_a_quarter_of_the_rate_limit_and_its_own_connection() -> None:
    with http_sink() as sink:
        sms = HttpSmsChannel(sink.url + "/sms")
        limited = RateLimited(sms, TokenBucket(500.0, 500))
        limited.send(OutgoingMessage("sms", "13800138000", "您好"), "key-1")
        parent_connections = list(sms._open)
        after_fork({"sms": limited, "also": limited}, 1 / 4)  # one object under two names: once
        assert (limited.bucket.rate, limited.bucket.capacity) == (125.0, 125.0)
        assert sms._open == [] and len(parent_connections) == 1  # the parent's socket is left alone
        limited.send(OutgoingMessage("sms", "13800138000", "您好"), "key-2")
        assert len(sms._open) == 1 and sms._open[0] is not parent_connections[0]
        sms.close()
        parent_connections[0].close()
    assert list(sink.delivered) == ["key-1", "key-2"]


def test_refused_recipients_are_masked_in_the_error_text() -> None:
    from arrears.adapters.channels.email import _masked

    assert _masked({"zhangsan@example.com": (550, b"no such user")}) == ["z*******@example.com"]
    assert _masked(None) == []


def test_http_sms_batch_send_is_one_post_with_a_result_per_message_and_retries_deliver_once() -> None:
    with http_sink() as sink:
        channel = HttpSmsChannel(
            sink.url + "/sms", sender="106900", batch_url=sink.url + "/sms/batch", batch_size=2
        )
        items = [(OutgoingMessage("sms", f"1380013800{i}", f"您好{i}"), f"k{i}") for i in range(3)]
        items.append((OutgoingMessage("sms", "", "无号码", borrower_id="B9"), "k-none"))
        sink.reject = {"k1"}
        first = channel.send_batch(items)
        sink.fail_next, sink.fail_status = 1, 503
        down = channel.send_batch(items[:2])
        limited = RateLimited(channel, TokenBucket(1000.0, 1000))
        assert limited.batch_size == 2
        again = limited.send_batch([items[0], items[2]])  # a retry with the same keys
        single = HttpSmsChannel(sink.url + "/sms")
        assert single.batch_size == 0
        one_by_one = single.send_batch([items[0]])
    assert sink.batches == [["k0", "k1"], ["k2"], ["k0", "k2"]]  # two POSTs of ≤ 2, the 503 one, the retry
    assert isinstance(first[0], SendResult) and first[0].status == "accepted"
    assert first[0].provider_id.startswith("p-")
    assert isinstance(first[1], PermanentFailure) and first[1].reason.endswith("message 400: rejected")
    assert isinstance(first[2], SendResult)
    assert isinstance(first[3], PermanentFailure) and first[3].reason == "no phone number for B9"
    assert [type(o) for o in down] == [ChannelDown, ChannelDown] and "HTTP 503" in down[0].reason
    assert again == [first[0], first[2]]
    assert isinstance(one_by_one[0], SendResult)
    assert list(sink.delivered) == ["k0", "k2"]  # sent three times and twice: delivered once each
    assert sink.delivered["k2"]["body"] == {
        "to": "13800138002",
        "text": "您好2",
        "sender": "106900",
        "idempotency_key": "k2",
    }
