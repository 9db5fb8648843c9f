"""Request bodies. Amounts are decimal strings ("1234.56"), dates ISO (YYYY-MM-DD) within the API's range
(limits.Day: 2000-01-01 .. today + 366 days; due dates and end dates: limits.FarDay, .. 2199-12-31)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from arrears.entrypoints.api.limits import Day, FarDay, Instant
from arrears.entrypoints.api.problems import says

AMOUNT = says(
    r"^\d{1,12}(\.\d{1,2})?$",
    'must be a decimal string with at most 2 decimals, e.g. "120.50" (no sign, at most 12 digits before the'
    " point)",
)
Amount = Annotated[str, Field(pattern=AMOUNT, examples=["1234.56"])]
RowId = Annotated[int, Path(ge=1, le=2**53)]  # a stored row's number (path parameter)
ID = says(r"^[A-Za-z0-9_.:-]+$", "must be letters, digits, or _ . : - (at most 64)")
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
RATE = says(r"^0(\.\d{1,4})?$", 'must be a fraction below 1 with at most 4 decimals, e.g. "0.15"')
PERCENT = says(r"^\d{1,2}(\.\d{1,2})?$", 'must be a percentage below 100 with at most 2 decimals, e.g. "20"')
CURRENCY = says(r"^[A-Z]{3}$", 'must be an ISO 4217 currency code, e.g. "CNY"')
PHONE_NUMBER = says(r"^\+?\d{5,20}$", "must be a phone number: 5 to 20 digits, optionally after +")
CHANNEL = says(r"^[a-z_]{1,32}$", 'must be a channel name in lower case, e.g. "sms"')


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BorrowerIn(Body):
    id: Id
    name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=32)
    id_number: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=300, description="postal address, for letters")
    language: str | None = Field(None, max_length=16)
    timezone: str | None = Field(None, max_length=64)


class InstalmentIn(Body):
    seq: int = Field(ge=1, le=1000)
    due: FarDay
    principal: Amount
    interest: Amount = "0"
    fees: Amount = "0"


class LoanIn(Body):
    loan_id: Id
    borrower: BorrowerIn
    product: Id
    currency: str = Field("CNY", pattern=CURRENCY)
    opened_on: Day | None = None
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=360)


class PaymentIn(Body):
    payment_id: Id
    loan_id: Id
    paid_on: Day
    amount: Amount
    source: str | None = Field(None, max_length=64)


class PromiseIn(Body):
    loan_id: Id
    amount: Amount
    due_on: Day
    made_on: Day


class PlanIn(Body):
    loan_id: Id
    kind: str = Field(pattern=r"^(extension|reinstalment|settlement|fee_waiver)$")
    start_on: Day
    days: int = Field(0, ge=0, le=366)
    count: int = Field(0, ge=0, le=60)
    first_due: Day | None = None
    discount_pct: str = Field("0", pattern=PERCENT)
    waive_amount: Amount = "0"


class DisputeIn(Body):
    loan_id: Id
    category: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1, max_length=4000)
    opened_on: Day
    channel: str | None = Field(None, max_length=32)
    agent: str | None = Field(None, max_length=64)


class ResolveIn(Body):
    resolution: str = Field(pattern=r"^(upheld|partly_upheld|not_upheld|withdrawn)$")
    resolved_on: Day


class NoteIn(Body):
    note: str = Field(min_length=1, max_length=4000)
    outcome: str | None = Field(None, max_length=32)
    channel: str | None = Field(None, max_length=32)
    next_action_on: Day | None = None


class AssignIn(Body):
    agent: str | None = Field(None, max_length=64)


class AgencyIn(Body):
    """As `arrears agency create`: capacity (loans held at once; none = no limit), the buckets it takes
    (none = any) and how many days a placement with it lasts (none = the default, 90)."""

    id: Id
    name: str = Field(min_length=1, max_length=200)
    commission_rate: str = Field(pattern=RATE)
    capacity: int | None = Field(None, ge=0, le=100_000_000)
    buckets: list[str] = Field(default_factory=list, max_length=50)
    placement_days: int | None = Field(None, ge=1, le=3650)


class PlacementIn(Body):
    agency_id: Id
    loan_ids: list[Id] = Field(min_length=1, max_length=1000)
    placed_on: Day
    recall_on: FarDay
    commission_rate: str | None = Field(None, pattern=RATE)


class ActivityIn(Body):
    loan_id: Id
    kind: str = Field(min_length=1, max_length=32)
    outcome: str | None = Field(None, max_length=32)
    note: str = Field("", max_length=4000)


class TokenIn(Body):
    borrower_id: Id
    minutes: int = Field(15, ge=1, le=60)


# ------------------------------------------------------------------- messaging providers' callbacks
RECEIPT_STATUSES = "accepted|sent|delivered|read|failed|undelivered|bounced|rejected"
IVR_OUTCOMES = "answered|voicemail|no_answer|busy|pressed_1"
MessageRef = Annotated[str, Field(min_length=1, max_length=200)]


class DeliveryReceiptIn(Body):
    """One delivery receipt; the message is named by our idempotency key or the provider's id."""

    idempotency_key: MessageRef | None = None
    provider_id: MessageRef | None = None
    status: str = Field(pattern=f"^({RECEIPT_STATUSES})$")
    at: Instant | None = None


class IvrCallbackIn(Body):
    """How a robocall ended: answered, voicemail, no_answer, busy, or pressed_1 (asked for an agent)."""

    idempotency_key: MessageRef | None = None
    provider_id: MessageRef | None = None
    outcome: str = Field(pattern=f"^({IVR_OUTCOMES})$")
    at: Instant | None = None


class SmsReplyIn(Body):
    """An inbound SMS: the sender's number and the text (退订 / TD / STOP opt out; 分期 / PLAN ask for a plan)."""

    sender: str = Field(alias="from", min_length=1, max_length=32, pattern=PHONE_NUMBER)
    text: str = Field(max_length=1000)
    at: Instant | None = None
    channel: str = Field("sms", pattern=CHANNEL)
