"""Rendering: every shipped template in every language, strict variables, Babel formats, fallback."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta

from arrears.adapters.rendering import TemplateLibrary, fallback_chain, normalise_language
from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_name
from arrears.domain.messages import (
    CONTEXT_SCHEMAS,
    ELECTRONIC_CHANNELS,
    MessageChannel,
    MessageType,
    SmsTooLong,
)
from arrears.domain.money import Money
from tests.messages.conftest import SAMPLE_EN, SAMPLE_ZH, TEMPLATE_ROOT, sample_for

TEMPLATE_FILES = sorted(TEMPLATE_ROOT.glob("*/*/*.j2"))
LANGUAGES = ("zh-CN", "zh-TW", "en")
SMS_SEGMENT_BUDGET = 3  # every shipped SMS fits 3 segments with the sample context
OPT_OUT_MARKERS = ("退订", "退訂", "Reply STOP", "opt out")


def _id(path: Path) -> str:
    return str(path.relative_to(TEMPLATE_ROOT))


def _parts(path: Path) -> tuple[str, str]:
    language, channel, filename = path.relative_to(TEMPLATE_ROOT).parts
    return language, f"{channel}/{filename.removesuffix('.j2')}"


# --- the shipped set -------------------------------------------------------------------------------


def test_every_language_ships_the_required_templates(templates: TemplateLibrary) -> None:
    not_sms = {
        MessageType.CALL_SCRIPT,
        MessageType.VISIT_SHEET,
        MessageType.PLACEMENT,
        MessageType.VALIDATION_NOTICE,
    }
    expected = {f"sms/{t.value}" for t in MessageType if t not in not_sms}
    for kind in ("pre_due", "due_today", "reminder", "plan_offer", "payment_confirmation"):
        expected |= {f"push/{kind}", f"email/{kind}"}
    expected |= {"letter/lawyer_letter", "letter/bureau_notice", "robocall/reminder"}
    expected |= {"agent/call_script", "agency/placement"}  # named by the shipped policies
    expected |= {"agent/visit_sheet"}  # the field team's sheet for a visit step (docs/agencies.md)
    assert len(expected) == 30  # sms/line_frozen and sms/line_unfrozen (docs/books.md) among them
    us_only = {"letter/validation_notice", "email/validation_notice"}  # Reg F: English only
    for language in LANGUAGES:
        have = {t.name for t in templates.templates() if t.language == language}
        assert have == expected | (us_only if language == "en" else set()), language
    assert len(TEMPLATE_FILES) == 92
    assert templates.languages() == ["en", "zh-CN", "zh-TW"]


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_id)
def test_template_renders_with_sample_context(templates: TemplateLibrary, path: Path) -> None:
    language, name = _parts(path)
    sample = sample_for(language)
    message = templates.render(name, language, sample, opt_out=True)
    assert message.language == language and not message.fell_back
    assert message.template == name
    assert "{{" not in message.body and "{%" not in message.body and "#}" not in message.body
    assert "Undefined" not in message.body and "None" not in message.body
    text = f"{message.subject or ''}\n{message.body}"
    if message.channel in {
        MessageChannel.EMAIL,
        MessageChannel.PUSH,
        MessageChannel.LETTER,
        MessageChannel.AGENT,
    }:
        assert message.subject
    # personal data: the masked name is shown, the name itself never
    assert sample["borrower_name"] not in text
    assert mask_name(sample["borrower_name"]) in text or message.channel is MessageChannel.ROBOCALL
    # every message carries the complaint contact; all but the third-party one the dispute contact
    assert sample["complaint_contact"] in text
    if message.type is not MessageType.THIRD_PARTY_LOCATE:
        assert sample["dispute_contact"] in text
        assert sample["lender_name"] in text
    if message.channel in ELECTRONIC_CHANNELS:
        assert any(marker in message.body for marker in OPT_OUT_MARKERS)
    if message.channel is MessageChannel.SMS:
        assert message.sms is not None
        assert message.segments is not None and 1 <= message.segments <= SMS_SEGMENT_BUDGET
        assert "\n" not in message.body
        assert message.sms.encoding.value == ("gsm7" if language == "en" else "ucs2")
    else:
        assert message.sms is None and message.segments is None


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_id)
def test_template_uses_only_documented_variables(templates: TemplateLibrary, path: Path) -> None:
    language, name = _parts(path)
    info = templates.find(name, language)
    assert info.path == path
    source = path.read_text(encoding="utf-8")
    used = meta.find_undeclared_variables(templates.env.parse(source))
    assert used <= CONTEXT_SCHEMAS[info.type].allowed(), sorted(used - CONTEXT_SCHEMAS[info.type].allowed())
    assert info.metadata is not None and info.metadata["type"] == info.type.value
    assert info.tone in {"gentle", "regular", "firm", "legal", "neutral"}


# Digits next to a currency sign or 元, decimals with two places, thousands groups: a literal amount.
LITERAL_AMOUNT = re.compile(
    r"[¥$€£]\s*\d|\d\s*(?:元|圓|块|塊|dollars?|yuan|RMB|CNY)|\d+\.\d{2}\b|\d{1,3}(?:,\d{3})+|\d{3,}",
    re.IGNORECASE,
)
JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_id)
def test_no_template_writes_a_literal_amount(path: Path) -> None:
    literal_text = JINJA_CODE.sub(" ", path.read_text(encoding="utf-8"))
    assert LITERAL_AMOUNT.findall(literal_text) == []


def test_literal_amount_pattern_catches_what_it_should() -> None:
    for bad in ("¥1,234.00", "欠款1234元", "$ 50", "pay 82828 now", "1234.56", "CN¥300"):
        assert LITERAL_AMOUNT.search(bad), bad
    for fine in ("第十五条", "press 1", "1. According", "within {{ response_days }} days"):
        assert not LITERAL_AMOUNT.search(JINJA_CODE.sub(" ", fine)), fine


# --- literal messages ------------------------------------------------------------------------------


def test_zh_cn_regular_reminder_literal(templates: TemplateLibrary) -> None:
    message = templates.render("sms/reminder", "zh-CN", SAMPLE_ZH)
    assert message.body == (
        "【示例消费金融】尊敬的张*，您于2026年1月10日到期的借款已逾期7天，当前应还¥1,234.56。"
        "逾期期间按合同约定每日计收逾期本息0.05%的滞纳金；逾期信息可能依法报送征信机构，影响您的信用记录。"
        "请通过https://pay.example.cn/r/AB12还款，如有疑问请致电400-800-1000。"
        "异议请联系400-800-1001，投诉请联系400-800-1002。"
    )
    assert (message.sms and message.sms.units, message.segments) == (193, 3)
    assert (message.channel, message.type, message.tone) == (
        MessageChannel.SMS,
        MessageType.REMINDER,
        "regular",
    )


def test_zh_tw_reminder_formats_cny_as_babel_does(templates: TemplateLibrary) -> None:
    body = templates.render("sms/reminder", "zh-TW", SAMPLE_ZH).body
    assert "目前應還CN¥1,234.56。" in body
    assert "2026年1月10日到期" in body
    assert "每日按逾期本息0.05%計收滯納金" in body


def test_en_regular_reminder_literal(templates: TemplateLibrary) -> None:
    message = templates.render("sms/reminder", "en", SAMPLE_EN)
    assert message.body == (
        "Example Consumer Finance: Dear J*** *****, your payment due Jan 10, 2026 is 7 days past due; "
        "CN¥1,234.56 is now due. Under your agreement a late fee of 0.05% of the overdue amount is charged "
        "per day, and late payments may be reported to credit bureaus and affect your credit record. "
        "Pay at https://pay.example.com/r/AB12 or call 800-555-0100. Disputes: disputes@example.com. "
        "Complaints: 800-555-0199. Reply STOP to opt out."
    )
    assert message.sms is not None
    assert (message.sms.encoding.value, message.sms.units, message.segments) == ("gsm7", 423, 3)


def test_en_reminder_says_one_day_not_one_days(templates: TemplateLibrary) -> None:
    body = templates.render("sms/reminder", "en", {**SAMPLE_EN, "days_past_due": 1}).body
    assert "is 1 day past due;" in body


def test_email_has_subject_and_paragraphs(templates: TemplateLibrary) -> None:
    message = templates.render("email/reminder", "en", SAMPLE_EN, opt_out=False)
    assert message.subject == "Example Consumer Finance: your payment is past due"
    assert message.body.startswith(
        "Dear J*** *****,\n\nYour payment due on Jan 10, 2026 is now 7 days past due."
    )
    assert "\n- Online: https://pay.example.com/r/AB12\n- By phone: 800-555-0100\n" in message.body
    assert message.body.endswith("\n\nExample Consumer Finance")
    assert "\n\n\n" not in message.body


def test_payment_confirmation_branches_on_what_remains(templates: TemplateLibrary) -> None:
    some = templates.render("sms/payment_confirmation", "en", SAMPLE_EN, opt_out=False).body
    assert "We received your payment of CN¥302.50 on Jan 15, 2026. Still due: CN¥932.06. Questions:" in some
    none = templates.render("sms/payment_confirmation", "zh-CN", {**SAMPLE_ZH, "amount_remaining": 0}).body
    assert "谢谢。您目前已无待还的逾期款项。如有疑问" in none


def test_plan_offer_reads_the_plan_terms(templates: TemplateLibrary) -> None:
    body = templates.render("sms/plan_offer", "zh-CN", SAMPLE_ZH).body
    assert "可为您办理分3期还款：每期¥411.52，首期还款日2026年2月1日。如需办理，请在2026年1月25日前" in body


def test_optional_variables_are_optional(templates: TemplateLibrary) -> None:
    context = {k: v for k, v in SAMPLE_ZH.items() if k not in {"response_days", "contact_name"}}
    ack = templates.render("sms/dispute_ack", "zh-CN", context).body
    assert "核查期间我们将暂停对该笔款项的催收。" in ack
    locate = templates.render("sms/third_party_locate", "zh-CN", context).body
    assert locate.startswith("您好！我们需要与张*取得联系")


def test_lawyer_letter_names_firm_clause_and_approval(templates: TemplateLibrary) -> None:
    context = {**SAMPLE_ZH, "overdue_principal": 80000, "overdue_interest": 20000, "late_fee": "234.56"}
    message = templates.render("letter/lawyer_letter", "zh-CN", context)
    assert message.subject == "律师函"
    assert message.body.startswith("北京示例律师事务所\n函件编号：LR-2026-0117\n\n致：张*\n\n")
    assert "依据借款合同第8.2条的约定" in message.body
    assert "应还金额合计¥1,234.56（其中本金¥800.00，利息¥200.00，滞纳金¥234.56）。" in message.body
    assert message.body.endswith("北京示例律师事务所\n2026年1月21日")
    assert message.metadata["requires"] == "legal_review"


# --- third parties learn nothing --------------------------------------------------------------------

DEBT_WORDS = (
    "逾期",
    "欠",
    "还款",
    "還款",
    "借款",
    "贷",
    "貸",
    "催收",
    "debt",
    "loan",
    "payment",
    "overdue",
    "owe",
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_third_party_locate_discloses_nothing(templates: TemplateLibrary, language: str) -> None:
    sample = sample_for(language)
    message = templates.render("sms/third_party_locate", language, sample)
    body = message.body.lower()
    for word in DEBT_WORDS:
        assert word not in body, word
    assert sample["lender_name"].lower() not in body
    assert "1,234.56" not in body and "¥" not in body
    assert mask_name(sample["borrower_name"]).lower() in body
    assert mask_name(sample["contact_name"]).lower() in body
    assert sample["hotline"] in message.body
    assert message.metadata["audience"] == "third_party"
    # the contact can always stop these messages, whatever the profile says about opt-outs
    assert any(m in message.body for m in ("回复TD", "回覆TD", "Reply STOP"))


# --- opt-out ---------------------------------------------------------------------------------------


def test_opt_out_default_follows_the_language(templates: TemplateLibrary) -> None:
    assert templates.render("sms/reminder", "en", SAMPLE_EN).body.endswith("Reply STOP to opt out.")
    assert "退订" not in templates.render("sms/reminder", "zh-CN", SAMPLE_ZH).body
    assert templates.render("sms/reminder", "zh-CN", SAMPLE_ZH, opt_out=True).body.endswith("回复TD退订")
    assert templates.render("sms/reminder", "zh-TW", SAMPLE_ZH, opt_out=True).body.endswith("回覆TD退訂")
    assert "STOP" not in templates.render("sms/reminder", "en", SAMPLE_EN, opt_out=False).body
    assert "STOP" not in templates.render("sms/reminder", "en", {**SAMPLE_EN, "opt_out": False}).body


def test_letters_and_calls_carry_no_opt_out(templates: TemplateLibrary) -> None:
    letter = templates.render("letter/bureau_notice", "en", SAMPLE_EN, opt_out=True)
    assert "STOP" not in letter.body
    call = templates.render("robocall/reminder", "en", SAMPLE_EN, opt_out=True)
    assert "STOP" not in call.body and "press 1" in call.body


# --- strict variables and typed values ----------------------------------------------------------------


def test_missing_required_variable_is_named(templates: TemplateLibrary) -> None:
    context = {k: v for k, v in SAMPLE_ZH.items() if k not in {"amount_due", "hotline"}}
    with pytest.raises(InputError) as err:
        templates.render("sms/reminder", "zh-CN", context)
    assert err.value.field == "hotline"
    assert "missing variable(s): hotline, amount_due" in str(err.value)


def test_none_counts_as_missing(templates: TemplateLibrary) -> None:
    with pytest.raises(InputError) as err:
        templates.render("sms/strong", "en", {**SAMPLE_EN, "due_date": None})
    assert err.value.field == "due_date"


def test_missing_plan_term_is_named(templates: TemplateLibrary) -> None:
    terms = {k: v for k, v in SAMPLE_ZH["plan_terms"].items() if k != "accept_by"}
    with pytest.raises(InputError) as err:
        templates.render("sms/plan_offer", "zh-CN", {**SAMPLE_ZH, "plan_terms": terms})
    assert err.value.field == "plan_terms.accept_by"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount_due", 1234.56, "must be minor units (int) or a decimal string"),
        ("amount_due", "12.345", "more decimals than CNY allows"),
        ("due_date", "10/01/2026", "not a date"),
        ("late_fee_daily_rate", "five", "not a rate"),
        ("days_past_due", -1, "must not be negative"),
        ("amount_due", Money(100, "USD"), "is in USD, the message is in CNY"),
    ],
)
def test_badly_typed_values_name_the_field(
    templates: TemplateLibrary, field: str, value: Any, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as err:
        templates.render("sms/reminder", "zh-CN", {**SAMPLE_ZH, field: value})
    assert err.value.field == field


def test_amounts_accept_money_and_decimal_strings(templates: TemplateLibrary) -> None:
    for amount in (Money(123456), "1234.56", 123456):
        body = templates.render("sms/pre_due", "zh-CN", {**SAMPLE_ZH, "amount_due": amount}).body
        assert "您本期应还¥1,234.56，" in body


def test_dates_accept_iso_strings(templates: TemplateLibrary) -> None:
    body = templates.render("sms/pre_due", "en", {**SAMPLE_EN, "due_date": "2026-03-01"}).body
    assert "is due on Mar 1, 2026." in body


def test_unknown_type_or_channel_or_name(templates: TemplateLibrary) -> None:
    with pytest.raises(InputError, match="unknown channel 'fax'"):
        templates.render("fax/reminder", "en", SAMPLE_EN)
    with pytest.raises(InputError, match="must be '<channel>/<type>'"):
        templates.render("reminder", "en", SAMPLE_EN)
    with pytest.raises(NotFound, match="no template 'email/strong'"):
        templates.render("email/strong", "en", SAMPLE_EN)


def test_over_limit_raises_or_flags(templates: TemplateLibrary) -> None:
    with pytest.raises(SmsTooLong, match=r"SMS needs 3 segments .* the policy allows 2") as err:
        templates.render("sms/reminder", "zh-CN", SAMPLE_ZH, max_segments=2)
    assert err.value.field == "max_segments"
    flagged = templates.render("sms/reminder", "zh-CN", SAMPLE_ZH, max_segments=2, over_limit="flag")
    assert flagged.sms is not None and flagged.sms.over_limit and flagged.segments == 3
    fits = templates.render("sms/reminder", "zh-CN", SAMPLE_ZH, max_segments=3)
    assert fits.sms is not None and not fits.sms.over_limit


def test_to_dict(templates: TemplateLibrary) -> None:
    data = templates.render("push/pre_due", "en", SAMPLE_EN, opt_out=False).to_dict()
    assert data == {
        "template": "push/pre_due",
        "language": "en",
        "requested_language": "en",
        "channel": "push",
        "type": "pre_due",
        "tone": "gentle",
        "subject": "Example Consumer Finance: payment reminder",
        "body": "Hi J*** *****, your payment of CN¥1,234.56 is due on Jan 10, 2026. "
        "Tap to pay: https://pay.example.com/r/AB12 "
        "Questions: 800-555-0100. Disputes: disputes@example.com. Complaints: 800-555-0199.",
        "sms": None,
    }


# --- Babel filters, on a small library of our own ------------------------------------------------------


def _library(tmp_path: Path, files: dict[str, str]) -> TemplateLibrary:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return TemplateLibrary(tmp_path)


FORMATS = "{# type: payment_confirmation; channel: sms #}{{ amount_paid | money }}|{{ paid_on | date }}|{{ rate | percent }}"
MINIMAL = {
    "lender_name": "L",
    "hotline": "H",
    "dispute_contact": "D",
    "complaint_contact": "C",
    "borrower_name": "B",
    "amount_paid": 123456,
    "paid_on": date(2026, 1, 10),
    "amount_remaining": 0,
    "rate": Decimal("0.0005"),
}


@pytest.mark.parametrize(
    ("language", "currency", "amount", "rate", "expected"),
    [
        ("zh-CN", "CNY", 123456, "0.0005", "¥1,234.56|2026年1月10日|0.05%"),
        ("zh-TW", "CNY", 123456, "0.0005", "CN¥1,234.56|2026年1月10日|0.05%"),
        ("en", "CNY", 123456, "0.0005", "CN¥1,234.56|Jan 10, 2026|0.05%"),
        ("en", "USD", 123456, "0.0007", "$1,234.56|Jan 10, 2026|0.07%"),
        ("zh-CN", "USD", 5, "0.00055", "US$0.05|2026年1月10日|0.055%"),
        ("zh-TW", "TWD", 100000000, "0.001", "$1,000,000.00|2026年1月10日|0.1%"),
        ("en", "CNY", 0, "0", "CN¥0.00|Jan 10, 2026|0%"),
        ("en", "JPY", 1234, "0.0005", "¥1,234|Jan 10, 2026|0.05%"),
    ],
)
def test_babel_formats(
    tmp_path: Path, language: str, currency: str, amount: int, rate: str, expected: str
) -> None:
    lib = _library(tmp_path, {f"{language}/sms/payment_confirmation.j2": FORMATS})
    context = {**MINIMAL, "amount_paid": amount, "rate": Decimal(rate)}
    message = lib.render("sms/payment_confirmation", language, context, currency=currency, opt_out=False)
    assert message.body == expected


def test_money_filter_refuses_non_minor_units(tmp_path: Path) -> None:
    lib = _library(
        tmp_path,
        {
            "en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}{{ hotline | money }}"
        },
    )
    with pytest.raises(InputError, match="money filter needs minor units"):
        lib.render("sms/payment_confirmation", "en", MINIMAL)


def test_undefined_variable_in_a_template_is_named(tmp_path: Path) -> None:
    lib = _library(
        tmp_path,
        {"en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}Hi {{ nickname }}"},
    )
    with pytest.raises(InputError) as err:
        lib.render("sms/payment_confirmation", "en", MINIMAL)
    assert err.value.field == "nickname"
    assert "missing variable 'nickname'" in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "en/sms/payment_confirmation.j2"))


def test_missing_attribute_is_named(tmp_path: Path) -> None:
    lib = _library(
        tmp_path,
        {"en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}{{ plan.first }}"},
    )
    with pytest.raises(InputError) as err:
        lib.render("sms/payment_confirmation", "en", {**MINIMAL, "plan": {}})
    assert err.value.field == "first"


@pytest.mark.parametrize(
    "expression",
    ["lender_name.__class__.__mro__", "lender_name.format.__globals__", "range(10**9) | list | length"],
)
def test_sandbox_refuses_unsafe_templates(tmp_path: Path, expression: str) -> None:
    lib = _library(
        tmp_path,
        {
            "en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}{{ "
            + expression
            + " }}"
        },
    )
    with pytest.raises(InputError, match="not allowed by the sandbox"):
        lib.render("sms/payment_confirmation", "en", MINIMAL)


def test_sandbox_forbids_mutating_the_context(tmp_path: Path) -> None:
    lib = _library(
        tmp_path,
        {
            "en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}"
            "{{ plan.update({'x': 1}) }}"
        },
    )
    with pytest.raises(InputError, match="not allowed by the sandbox"):
        lib.render("sms/payment_confirmation", "en", {**MINIMAL, "plan": {}})


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    lib = _library(
        tmp_path,
        {"en/sms/payment_confirmation.j2": "{# type: payment_confirmation; channel: sms #}\nok\n{{ broken "},
    )
    with pytest.raises(InputError) as err:
        lib.render("sms/payment_confirmation", "en", MINIMAL)
    assert err.value.line == 3 and "template syntax" in str(err.value)


# --- front matter ------------------------------------------------------------------------------------


def test_front_matter_must_be_there(tmp_path: Path) -> None:
    lib = _library(tmp_path, {"en/sms/reminder.j2": "Hello {{ borrower_name }}"})
    with pytest.raises(InputError, match="no front matter") as err:
        lib.templates()
    assert err.value.file == str(tmp_path / "en/sms/reminder.j2") and err.value.line == 1


def test_front_matter_must_match_the_path(tmp_path: Path) -> None:
    lib = _library(tmp_path, {"en/sms/reminder.j2": "{# type: strong; channel: sms; tone: firm #}x"})
    with pytest.raises(InputError, match="front matter type is 'strong', the path says 'reminder'") as err:
        lib.names()
    assert err.value.field == "type"


def test_front_matter_may_span_lines(tmp_path: Path) -> None:
    lib = _library(
        tmp_path, {"en/sms/dispute_ack.j2": "{#\ntype: dispute_ack\nchannel: sms\ntone: neutral\n#}x"}
    )
    (info,) = lib.templates()
    assert (info.name, info.language, info.tone) == ("sms/dispute_ack", "en", "neutral")


def test_unknown_type_in_path_is_bad_input(tmp_path: Path) -> None:
    lib = _library(tmp_path, {"en/sms/greeting.j2": "{# type: greeting; channel: sms #}hi"})
    with pytest.raises(InputError, match="'greeting' is not a valid MessageType"):
        lib.templates()


def test_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="template folder not found"):
        TemplateLibrary(tmp_path / "nowhere")


# --- languages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "chain"),
    [
        ("zh-TW", ("zh-TW", "zh-CN", "en")),
        ("zh_TW", ("zh-TW", "zh-CN", "en")),
        ("zh-Hant-HK", ("zh-TW", "zh-CN", "en")),
        ("zh-HK", ("zh-TW", "zh-CN", "en")),
        ("zh-CN", ("zh-CN", "en")),
        ("zh", ("zh-CN", "en")),
        ("zh-Hans", ("zh-CN", "en")),
        ("en-GB", ("en",)),
        ("fr", ("fr", "en")),
    ],
)
def test_fallback_chain(requested: str, chain: tuple[str, ...]) -> None:
    assert fallback_chain(requested) == chain


def test_normalise_language() -> None:
    assert [normalise_language(x) for x in ("ZH_cn", "zh-tw", "EN-us", "fr")] == [
        "zh-CN",
        "zh-TW",
        "en",
        "fr",
    ]


def test_fallback_renders_in_the_language_found(tmp_path: Path) -> None:
    body = "{# type: payment_confirmation; channel: sms #}{{ language }} {{ amount_paid | money }}"
    lib = _library(
        tmp_path,
        {
            "zh-CN/sms/payment_confirmation.j2": body,
            "en/sms/payment_confirmation.j2": body,
            "en/push/pre_due.j2": "{# type: pre_due; channel: push #}en",
        },
    )
    tw = lib.render("sms/payment_confirmation", "zh-TW", MINIMAL, opt_out=False)
    assert (tw.language, tw.requested_language, tw.fell_back, tw.body) == (
        "zh-CN",
        "zh-TW",
        True,
        "zh-CN ¥1,234.56",
    )
    fr = lib.render("sms/payment_confirmation", "fr", MINIMAL, opt_out=False)
    assert (fr.language, fr.body) == ("en", "en CN¥1,234.56")
    cn = lib.render(
        "push/pre_due", "zh-CN", {**MINIMAL, "amount_due": 1, "due_date": date(2026, 1, 1), "pay_link": "p"}
    )
    assert cn.language == "en" and cn.fell_back
    with pytest.raises(NotFound, match=r"no template 'sms/reminder' in zh-TW / zh-CN / en"):
        lib.render("sms/reminder", "zh-TW", MINIMAL)


def test_names_are_masked_before_rendering(templates: TemplateLibrary) -> None:
    en = templates.render("sms/third_party_locate", "en", SAMPLE_EN).body
    assert en.startswith("Hello M*** *****, we are trying to reach J*** *****")
    zh = templates.render("sms/third_party_locate", "zh-CN", {**SAMPLE_ZH, "borrower_name": "欧阳娜娜"}).body
    assert "我们需要与欧***取得联系" in zh
    already = templates.render("sms/third_party_locate", "zh-CN", {**SAMPLE_ZH, "borrower_name": "张*"}).body
    assert "我们需要与张*取得联系" in already


@pytest.mark.parametrize("path", [p for p in TEMPLATE_FILES if p.parts[-3].startswith("zh")], ids=_id)
def test_chinese_templates_use_full_width_punctuation(path: Path) -> None:
    literal_text = JINJA_CODE.sub(" ", path.read_text(encoding="utf-8"))
    assert re.findall(r"[,;:()!?\"]", literal_text) == []
