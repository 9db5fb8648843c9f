"""The shape of a `compliance check` document (YAML or JSON), checked with pydantic.

`arrears compliance check FILE` reads `profile`, `debtor`, `history` and `attempt`; every error names
the field path (`history[2].at`) for the document's line map to add the line. The values are built into
the domain's Debtor, ContactEvent and Attempt by arrears.domain.compliance.document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool

from arrears.adapters.shapes import LenientShape, checked_by, keys_of, read_shape, text, word_in
from arrears.domain.compliance.channels import CHANNELS, OUTCOMES, TARGET_KINDS, expand_channels
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.document import CheckDocument, attempt_from, debtor_from, parse_instant
from arrears.domain.compliance.model import Approval, ContactEvent, LawFirm
from arrears.domain.dates import parse_date
from arrears.domain.errors import InputError


def _texts(value: object, field: str) -> list[str]:
    """One word or a list of them."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InputError(f"must be a list, got {value!r}", field=field)
    return [text(v, f"{field}[{i}]") for i, v in enumerate(value)]


def _zones(indexed: bool) -> Callable[[object, str], tuple[str, ...]]:
    """Candidate zones: `timezone` names its one field, `timezones` the entry (`timezones[1]`)."""

    def parse(value: object, field: str) -> tuple[str, ...]:
        names = _texts(value, field)
        for i, name in enumerate(names):
            try:
                zone(name)
            except InputError as err:
                raise InputError(err.message, field=f"{field}[{i}]" if indexed else field) from None
        return tuple(names)

    return parse


def _day(value: object, field: str) -> date:
    day = parse_date(value, field)
    return day.date() if isinstance(day, datetime) else day


Text = Annotated[str, checked_by(text)]
Instant = Annotated[datetime, checked_by(parse_instant)]
Channel = Annotated[str, checked_by(word_in(CHANNELS, "channel"))]
TargetKind = Annotated[str, checked_by(word_in(TARGET_KINDS, "target_kind"))]
ChannelNames = Annotated[frozenset[str], checked_by(lambda v, f: expand_channels(_texts(v, f), f))]
PhoneNumbers = Annotated[frozenset[str], checked_by(lambda v, f: frozenset(_texts(v, f)))]


class DebtorShape(LenientShape):
    """The debtor's candidate zones and the facts that hold or limit contact."""

    id: Text | None = None
    timezone: Annotated[tuple[str, ...], checked_by(_zones(indexed=False))] = ()
    timezones: Annotated[tuple[str, ...], checked_by(_zones(indexed=True))] = ()
    cease: StrictBool | None = None
    opted_out: ChannelNames | None = None
    disputed: StrictBool | None = None
    identity_theft: StrictBool | None = None
    hardship: StrictBool | None = None
    hardship_until: Annotated[date, checked_by(_day)] | None = None
    unreachable: StrictBool | None = None
    validation_notice_sent_at: Instant | None = None
    bureau_notice_sent_at: Instant | None = None
    work_numbers: PhoneNumbers | None = None
    employer_prohibits_contact: StrictBool | None = None
    time_barred: StrictBool | None = None
    represented_by_attorney: StrictBool | None = None
    deceased: StrictBool | None = None
    bankruptcy: StrictBool | None = None

    def facts(self) -> dict[str, Any]:
        return {k: v for k, v in self.given().items() if k not in ("timezone", "timezones")}


class EventShape(LenientShape):
    """One history entry: what was tried, when, and what became of it."""

    channel: Channel
    at: Instant
    outcome: Annotated[str, checked_by(word_in(OUTCOMES, "outcome"))] | None = None
    target: Text | None = None
    target_kind: TargetKind | None = None
    message_type: Text | None = None
    debt: Text | None = None
    note: Any = None

    def event(self) -> ContactEvent:
        return ContactEvent(**{k: v for k, v in self.given().items() if k != "note"})


class LawFirmShape(LenientShape):
    name: Text = ""
    engaged: StrictBool = False


class ApprovalShape(LenientShape):
    ref: Text = ""
    approved_by: Text = ""
    approved_at: Instant | None = None


class AttemptShape(LenientShape):
    """The attempt to judge, with the legal-document facts when it is a lawyer's letter."""

    channel: Channel
    at: Instant
    kind: Text | None = None
    target: Text | None = None
    target_kind: TargetKind | None = None
    message_type: Text | None = None
    debt: Text | None = None
    law_firm: LawFirmShape | Text | None = None  # a name alone: a firm not (yet) engaged
    approval: ApprovalShape | None = None
    note: Any = None

    def details(self) -> dict[str, Any]:
        out = {k: v for k, v in self.given().items() if k not in ("channel", "at", "note")}
        if isinstance(self.law_firm, str):
            out["law_firm"] = LawFirm(self.law_firm)
        elif self.law_firm is not None:
            out["law_firm"] = LawFirm(self.law_firm.name, self.law_firm.engaged)
        if self.approval is not None:
            a = self.approval
            out["approval"] = Approval(a.ref, a.approved_by, a.approved_at)
        return out


class CheckShape(LenientShape):
    profile: Text | None = None
    debtor: DebtorShape = Field(default_factory=DebtorShape)
    history: list[EventShape] = Field(default_factory=list)
    attempt: AttemptShape
    name: Any = None
    note: Any = None
    expect: dict[Any, Any] | None = None


_KEYS = keys_of(CheckShape, DebtorShape, EventShape, AttemptShape, LawFirmShape, ApprovalShape)


def parse_check_document(raw: object, default_profile: str = "cn") -> CheckDocument:
    """A check request from its parsed file; errors name the field path, not yet the line."""
    shape = read_shape(
        CheckShape, raw, _KEYS, "a check document must be a mapping with profile, debtor, history and attempt"
    )
    d, a = shape.debtor, shape.attempt
    try:
        attempt = attempt_from(a.channel, a.at, **a.details())
    except InputError as err:
        raise InputError(err.message, field=f"attempt.{err.field}") from None
    return CheckDocument(
        profile=shape.profile or default_profile,
        debtor=debtor_from((*d.timezone, *d.timezones), **d.facts()),
        history=tuple(e.event() for e in shape.history),
        attempt=attempt,
        expect=shape.expect,
    )
