"""Messages to borrowers: their types, channels, context schema, and how long an SMS is.

Pure: no templates, no I/O. The renderer (adapters/rendering.py) fills a template and hands the text
here to be measured; channel adapters use `sms_parts` to split a long SMS the way the network will.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import holidays

from arrears.domain.errors import InputError
from arrears.domain.money import Money, parse_minor


class MessageType(StrEnum):
    """What a message is for; one template per (language, channel, type)."""

    PRE_DUE = "pre_due"
    DUE_TODAY = "due_today"
    REMINDER = "reminder"
    STRONG = "strong"
    LEGAL_WARNING = "legal_warning"
    LAWYER_LETTER = "lawyer_letter"
    BUREAU_NOTICE = "bureau_notice"
    PLAN_OFFER = "plan_offer"
    PAYMENT_CONFIRMATION = "payment_confirmation"
    PROMISE_CONFIRMATION = "promise_confirmation"
    DISPUTE_ACK = "dispute_ack"
    THIRD_PARTY_LOCATE = "third_party_locate"
    CALL_SCRIPT = "call_script"  # what a human agent says on an outbound call (agent/call_script)
    VISIT_SHEET = "visit_sheet"  # what the field team takes on a home visit (上门) (agent/visit_sheet)
    PLACEMENT = "placement"  # tells the borrower an outside agency now helps collect (agency/placement)
    VALIDATION_NOTICE = "validation_notice"  # Reg F (12 CFR 1006.34): the debt itemised, how to dispute it
    LINE_FROZEN = "line_frozen"  # the credit line is frozen (the policy's freeze_line step)
    LINE_UNFROZEN = "line_unfrozen"  # the credit line is usable again (every loan under it cured)


class MessageChannel(StrEnum):
    """Where a rendered message goes; the first part of a template name ("sms/reminder")."""

    SMS = "sms"
    PUSH = "push"
    EMAIL = "email"
    LETTER = "letter"
    ROBOCALL = "robocall"
    AGENT = "agent"  # scripts for people in the call centre: never sent to a device
    AGENCY = "agency"  # the notice that tells the borrower an outside agency now helps collect


# Channels that reach a device on their own and so must carry an opt-out where the profile requires one.
ELECTRONIC_CHANNELS = frozenset({MessageChannel.SMS, MessageChannel.PUSH, MessageChannel.EMAIL})

# Every message names who sends it and how to dispute or complain (DOMAIN.md: "Every message carries a
# way to dispute and to complain"). The third-party locate request is the exception for the lender's
# name: telling an emergency contact which lender is calling would disclose the debt.
COMMON_FIELDS: tuple[str, ...] = ("lender_name", "hotline", "dispute_contact", "complaint_contact")

# Filled in by the renderer, never by the caller.
RENDERER_FIELDS: tuple[str, ...] = ("opt_out", "currency", "language")


@dataclass(frozen=True, slots=True)
class ContextSchema:
    """The variables a message type's templates may use: required ones must be in the context."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def allowed(self) -> frozenset[str]:
        return frozenset((*self.required, *self.optional, *RENDERER_FIELDS))


_DEBT = ("borrower_name", "amount_due", "due_date", "pay_link")
_OVERDUE = (*_DEBT, "days_past_due")

CONTEXT_SCHEMAS: dict[MessageType, ContextSchema] = {
    MessageType.PRE_DUE: ContextSchema((*COMMON_FIELDS, *_DEBT)),
    MessageType.DUE_TODAY: ContextSchema((*COMMON_FIELDS, *_DEBT)),
    MessageType.REMINDER: ContextSchema((*COMMON_FIELDS, *_OVERDUE, "late_fee_daily_rate")),
    MessageType.STRONG: ContextSchema((*COMMON_FIELDS, *_OVERDUE, "late_fee_daily_rate")),
    MessageType.LEGAL_WARNING: ContextSchema((*COMMON_FIELDS, *_OVERDUE, "contract_clause")),
    MessageType.LAWYER_LETTER: ContextSchema(
        (*COMMON_FIELDS, *_OVERDUE, "contract_clause", "law_firm", "approval_ref", "letter_date", "loan_ref"),
        (
            "borrower_address",
            "overdue_principal",
            "overdue_interest",
            "late_fee",
            "respond_by",
            "signing_lawyer",  # the lawyer who signs, and the firm's practising licence number
            "firm_registration",
        ),
    ),
    MessageType.BUREAU_NOTICE: ContextSchema(
        (*COMMON_FIELDS, *_OVERDUE, "report_date", "bureau_name"),
        ("borrower_address", "letter_date", "loan_ref"),
    ),
    MessageType.PLAN_OFFER: ContextSchema(
        (*COMMON_FIELDS, "borrower_name", "amount_due", "plan_terms", "pay_link")
    ),
    MessageType.PAYMENT_CONFIRMATION: ContextSchema(
        (*COMMON_FIELDS, "borrower_name", "amount_paid", "paid_on", "amount_remaining")
    ),
    MessageType.PROMISE_CONFIRMATION: ContextSchema(
        (*COMMON_FIELDS, "borrower_name", "promised_amount", "promised_date", "pay_link")
    ),
    MessageType.DISPUTE_ACK: ContextSchema(
        (*COMMON_FIELDS, "borrower_name", "dispute_ref", "received_on"), ("response_days",)
    ),
    MessageType.CALL_SCRIPT: ContextSchema((*COMMON_FIELDS, *_OVERDUE, "late_fee_daily_rate")),
    MessageType.VISIT_SHEET: ContextSchema((*COMMON_FIELDS, *_OVERDUE, "late_fee_daily_rate")),
    MessageType.PLACEMENT: ContextSchema(
        (
            *COMMON_FIELDS,
            "borrower_name",
            "amount_due",
            "days_past_due",
            "pay_link",
            "agency_name",
            "agency_contact",
        )
    ),
    MessageType.THIRD_PARTY_LOCATE: ContextSchema(
        ("borrower_name", "hotline", "complaint_contact"), ("contact_name",)
    ),
    MessageType.LINE_FROZEN: ContextSchema((*COMMON_FIELDS, *_OVERDUE)),
    MessageType.LINE_UNFROZEN: ContextSchema((*COMMON_FIELDS, "borrower_name")),
    MessageType.VALIDATION_NOTICE: ContextSchema(
        (*COMMON_FIELDS, *_OVERDUE, "letter_date", "loan_ref", "dispute_by"),
        ("borrower_address", "overdue_principal", "overdue_interest", "late_fee"),
    ),
}

# 12 CFR 1006.34(b)(5): the validation period ends 30 days after the consumer receives the notice, and
# receipt may be assumed 5 days after it is sent, not counting Saturdays, Sundays and federal holidays.
VALIDATION_PERIOD_DAYS = 30
ASSUMED_RECEIPT_BUSINESS_DAYS = 5


UNSIGNED_RULE = "letter.unsigned"  # the rule id an unsigned lawyer's letter is blocked under


def unsigned_letter(
    message_type: MessageType | str, signing_lawyer: str, firm_registration: str
) -> str | None:
    """Why a letter cannot go out as configured, or None: a lawyer's letter names the lawyer who signs it and
    the firm's registration (practising licence number); there is no default and no placeholder."""
    if str(message_type) != MessageType.LAWYER_LETTER:
        return None
    missing = [
        name
        for name, value in (("signing_lawyer", signing_lawyer), ("firm_registration", firm_registration))
        if not value.strip()
    ]
    if not missing:
        return None
    return (
        f"a lawyer's letter needs the signing lawyer and the firm's registration: set lender "
        f"{' and '.join(missing)} in channels.yaml"
    )


def validation_period_end(sent_on: date) -> date:
    """The last day to dispute the debt named in a validation notice sent on `sent_on` (`dispute_by`)."""
    federal = holidays.country_holidays("US", years=[sent_on.year, sent_on.year + 1])
    day, left = sent_on, ASSUMED_RECEIPT_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in federal:
            left -= 1
    return day + timedelta(days=VALIDATION_PERIOD_DAYS)


# plan_terms is a mapping; these keys are what the plan_offer templates read.
PLAN_TERMS_KEYS: tuple[str, ...] = ("instalments", "instalment_amount", "first_due_date", "accept_by")


def context_schema(message_type: MessageType | str) -> ContextSchema:
    """The documented context of a message type; an unknown type is bad input."""
    try:
        return CONTEXT_SCHEMAS[MessageType(message_type)]
    except ValueError:
        known = ", ".join(t.value for t in MessageType)
        raise InputError(f"unknown message type {message_type!r} (known: {known})", field="type") from None


def missing_fields(message_type: MessageType | str, context: dict[str, Any]) -> list[str]:
    """Required variables of the type that the context lacks (or holds as None), in schema order."""
    schema = context_schema(message_type)
    return [name for name in schema.required if context.get(name) is None]


# How context values are typed. Amounts are minor units (int) or Money; a str is read as a decimal
# amount ("1234.56"), the way files and APIs write them. Floats are refused: they are not money.
AMOUNT_FIELDS = frozenset(
    {
        "amount_due",
        "amount_paid",
        "amount_remaining",
        "promised_amount",
        "overdue_principal",
        "overdue_interest",
        "late_fee",
        "plan_terms.instalment_amount",
    }
)
DATE_FIELDS = frozenset(
    {
        "due_date",
        "report_date",
        "letter_date",
        "respond_by",
        "dispute_by",
        "paid_on",
        "promised_date",
        "received_on",
        "plan_terms.first_due_date",
        "plan_terms.accept_by",
    }
)
RATE_FIELDS = frozenset({"late_fee_daily_rate"})
COUNT_FIELDS = frozenset({"days_past_due", "response_days", "plan_terms.instalments"})


def _amount(value: object, name: str, currency: str) -> int:
    if isinstance(value, Money):
        if value.currency != currency:
            raise InputError(f"is in {value.currency}, the message is in {currency}", field=name)
        return value.minor
    if isinstance(value, bool | float):
        raise InputError(f"must be minor units (int) or a decimal string, not {value!r}", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, str | Decimal):
        return parse_minor(str(value), currency, field=name)
    raise InputError(f"not an amount: {value!r}", field=name)


def _date(value: object, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"not a date (YYYY-MM-DD): {value!r}", field=name) from None


def _rate(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise InputError(f"not a rate: {value!r}", field=name)
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise InputError(f"not a rate: {value!r}", field=name) from None
    if not rate.is_finite() or rate < 0:
        raise InputError(f"not a rate: {value!r}", field=name)
    return rate


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"must be a whole number, not {value!r}", field=name)
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"must be a whole number, not {value!r}", field=name) from None
    if number < 0:
        raise InputError(f"must not be negative, got {number}", field=name)
    return number


def _typed(name: str, value: object, currency: str) -> object:
    if value is None:
        return None
    if name in AMOUNT_FIELDS:
        return _amount(value, name, currency)
    if name in DATE_FIELDS:
        return _date(value, name)
    if name in RATE_FIELDS:
        return _rate(value, name)
    if name in COUNT_FIELDS:
        return _count(value, name)
    return value


def prepare_context(
    message_type: MessageType | str, context: dict[str, Any], currency: str = "CNY"
) -> dict[str, Any]:
    """Check a message context against its type's schema and type its values.

    Raises InputError naming the first missing required variable (all of them in the message), or the
    field whose value is not of its kind. Returns a new dict: amounts as minor-unit ints, dates as
    `date`, rates as Decimal, counts as int; plan_terms typed key by key. Unknown keys pass through.
    """
    missing = missing_fields(message_type, context)
    if missing:
        raise InputError(f"missing variable(s): {', '.join(missing)}", field=missing[0])
    typed: dict[str, Any] = {}
    for name, value in context.items():
        if name == "plan_terms" and value is not None:
            if not isinstance(value, dict):
                raise InputError("must be a mapping", field=name)
            absent = [key for key in PLAN_TERMS_KEYS if value.get(key) is None]
            if absent:
                raise InputError(f"missing key(s): {', '.join(absent)}", field=f"plan_terms.{absent[0]}")
            typed[name] = {k: _typed(f"plan_terms.{k}", v, currency) for k, v in value.items()}
        else:
            typed[name] = _typed(name, value, currency)
    return typed


# --- SMS length -------------------------------------------------------------------------------------


class SmsEncoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


# 3GPP TS 23.038 default alphabet (one septet each); ESC (0x1B) is left out: it only introduces the
# extension table and is never a character of the text.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (ESC + the character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153  # a multipart SMS spends 7 septets per part on the UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units; the UDH takes 3 of the 70


GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


def sms_encoding(text: str) -> SmsEncoding:
    """GSM-7 when every character is in the default alphabet or its extension, else UCS-2."""
    return SmsEncoding.GSM7 if GSM7_ALL.issuperset(text) else SmsEncoding.UCS2


def _unit_cost(ch: str, encoding: SmsEncoding) -> int:
    if encoding is SmsEncoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1  # astral characters (most emoji) are a UTF-16 surrogate pair


def sms_units(text: str, encoding: SmsEncoding | None = None) -> int:
    """Septets (GSM-7, extension characters count 2) or UTF-16 code units (UCS-2)."""
    enc = encoding or sms_encoding(text)
    if enc is SmsEncoding.GSM7:
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    return len(text.encode("utf-16-le")) // 2


def _sizes(encoding: SmsEncoding) -> tuple[int, int]:
    return (GSM7_SINGLE, GSM7_PART) if encoding is SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)


def sms_parts(text: str) -> tuple[str, ...]:
    """The text cut into the parts the network delivers.

    Greedy, never splitting an extension character's escape pair nor a surrogate pair across parts,
    as handsets and SMSCs do; so the count can exceed ceil(units / part size) by one in rare cases.
    """
    enc = sms_encoding(text)
    single, part = _sizes(enc)
    if sms_units(text, enc) <= single:
        return (text,)
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        cost = _unit_cost(ch, enc)
        if used + cost > part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    if current:
        parts.append("".join(current))
    return tuple(parts)


def sms_segment_count(text: str) -> int:
    """len(sms_parts(text)), without cutting when every character costs one unit (the usual case)."""
    enc = sms_encoding(text)
    single, part = _sizes(enc)
    units = sms_units(text, enc)
    if units <= single:
        return 1
    if units == len(text):  # no two-unit character: the greedy cut is plain division
        return -(-units // part)
    return len(sms_parts(text))


@dataclass(frozen=True, slots=True)
class SmsLength:
    """How an SMS text goes over the air, and whether it fits a policy's segment limit."""

    encoding: SmsEncoding
    units: int
    segments: int
    characters: int
    max_segments: int | None = None

    @property
    def over_limit(self) -> bool:
        return self.max_segments is not None and self.segments > self.max_segments

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding.value,
            "units": self.units,
            "segments": self.segments,
            "characters": self.characters,
            "max_segments": self.max_segments,
            "over_limit": self.over_limit,
        }


class SmsTooLong(InputError):
    """A rendered SMS needs more segments than the policy allows."""


def measure_sms(text: str, max_segments: int | None = None) -> SmsLength:
    """Encoding, units and segment count of `text`; `max_segments` is only recorded (see over_limit)."""
    if max_segments is not None and max_segments < 1:
        raise InputError(f"max_segments must be at least 1, got {max_segments}", field="max_segments")
    enc = sms_encoding(text)
    return SmsLength(enc, sms_units(text, enc), sms_segment_count(text), len(text), max_segments)


def enforce_sms_limit(length: SmsLength, template: str = "") -> SmsLength:
    """Raise SmsTooLong when `length` is over its limit; return it unchanged otherwise."""
    if length.over_limit:
        where = f"{template}: " if template else ""
        raise SmsTooLong(
            f"{where}SMS needs {length.segments} segments ({length.encoding.value}, {length.units} units), "
            f"the policy allows {length.max_segments}",
            field="max_segments",
        )
    return length


# --- Rendered messages ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A filled template, ready for a channel: the text and what it is."""

    template: str  # "<channel>/<type>", the name policies use
    language: str  # the language of the template that was used (after any fallback)
    channel: MessageChannel
    type: MessageType
    body: str
    subject: str | None = None
    tone: str | None = None
    requested_language: str | None = None
    sms: SmsLength | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def segments(self) -> int | None:
        return self.sms.segments if self.sms else None

    @property
    def fell_back(self) -> bool:
        return self.requested_language is not None and self.requested_language != self.language

    def to_dict(self) -> dict[str, object]:
        return {
            "template": self.template,
            "language": self.language,
            "requested_language": self.requested_language,
            "channel": self.channel.value,
            "type": self.type.value,
            "tone": self.tone,
            "subject": self.subject,
            "body": self.body,
            "sms": self.sms.to_dict() if self.sms else None,
        }
