"""The shape of `channels.yaml` (and of the ARREARS_<SECTION>_<KEY> variables that override it), checked with
pydantic like the other input files (adapters/shapes.py): which keys each section may have and what type each
value is. Numbers, booleans and text are read as the environment writes them too ("2525", "true"); an unknown
key is an error with a "did you mean" hint, named by file, line and field (or by the variable's name).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from arrears.adapters.shapes import LenientShape, checked_by, shape_error, text
from arrears.domain.errors import InputError

Text = Annotated[str, checked_by(text)]


class SectionShape(LenientShape):
    """Closed like every shape, but lax about types: a port may be 2525 or "2525" (the environment's text)."""

    model_config = ConfigDict(extra="forbid", strict=False)


class LenderShape(SectionShape):
    name: Text | None = None
    hotline: Text | None = None
    dispute_contact: Text | None = None
    complaint_contact: Text | None = None
    pay_link: Text | None = None
    contract_clause: Text | dict[str, Text] | None = None
    law_firm: Text | None = None
    law_firm_engaged: bool | None = None
    # the lawyer who signs lawyer's letters (no default: never a placeholder)
    signing_lawyer: Text | None = None
    firm_registration: Text | None = None  # the firm's practising licence number, printed on them
    bureau_name: Text | None = None
    agency_name: Text | None = None
    agency_contact: Text | None = None
    plan_instalments: Annotated[int, Field(ge=1)] | None = None


class RetryShape(SectionShape):
    max_attempts: Annotated[int, Field(ge=1)] | None = None
    base_seconds: Annotated[int, Field(ge=0)] | None = None
    max_seconds: Annotated[int, Field(ge=0)] | None = None
    jitter: Annotated[float, Field(ge=0, le=1)] | None = None


class EmailShape(SectionShape):
    host: Text | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    sender: Text | None = None
    sender_name: Text | None = None
    starttls: bool | None = None
    username: Text | None = None
    password: Text | None = None


class SmsShape(SectionShape):
    provider: Literal["http", "smpp"] | None = None
    url: Text | None = None
    sender: Text | None = None
    api_key: Text | None = None
    batch_url: Text | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None


class SmppShape(SectionShape):
    host: Text | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    system_id: Text | None = None
    password: Text | None = None
    source_addr: Text | None = None


class WebhookShape(SectionShape):
    url: Text | None = None
    api_key: Text | None = None


class RobocallShape(WebhookShape):
    callback_url: Text | None = None


class LettersShape(SectionShape):
    folder: Text | None = None


class EventsShape(SectionShape):
    url: Text | None = None
    secret: Text | None = None


class RateLimitsShape(SectionShape):
    """Messages a second per channel name (any channel the policy names)."""

    model_config = ConfigDict(extra="allow", strict=False)
    __pydantic_extra__: dict[str, Annotated[float, Field(gt=0)]]


SECTION_SHAPES: dict[str, type[SectionShape]] = {
    "lender": LenderShape,
    "retry": RetryShape,
    "email": EmailShape,
    "sms": SmsShape,
    "smpp": SmppShape,
    "push": WebhookShape,
    "in_app": WebhookShape,
    "robocall": RobocallShape,
    "letters": LettersShape,
    "rate_limits": RateLimitsShape,
    "events": EventsShape,
}


def checked_section(
    name: str, values: dict[str, Any], *, where: dict[str, str] | None = None
) -> dict[str, Any]:
    """The section's values as their types (keys given only); an InputError at `name.key` — or naming the
    environment variable in `where` that gave the value — when one is unknown or of the wrong type."""
    shape = SECTION_SHAPES[name]
    try:
        checked = shape.model_validate(values)
    except ValidationError as err:
        problem = shape_error(err, list(shape.model_fields), prefix=name)
        key = str(err.errors()[0]["loc"][0]) if err.errors()[0]["loc"] else ""
        if where and key in where:
            raise InputError(problem.message, field=where[key]) from None
        raise problem from None
    given = checked.given()
    return {**given, **(checked.model_extra or {})}
