"""The shape of a compliance profile file: its keys, types and words, checked with pydantic.

A rule's shape depends on its kind; an overlay's entry for a base rule may leave out its kind and any
value it does not change, so rules are read once the base profile is known. What the values mean — an
overlay may only tighten, a kind's semantics, channel groups — is the domain's
(arrears.domain.compliance.profile), which gets typed values: times, channel sets, filters, windows.
"""

from __future__ import annotations

from copy import copy
from datetime import date, time, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from arrears.adapters.shapes import (
    LenientShape,
    checked_by,
    keys_of,
    read_shape,
    shape_error,
    text,
    word_in,
    word_list,
    words_in,
)
from arrears.domain.compliance.channels import (
    ATTEMPT_KINDS,
    NUMBER_KINDS,
    OUTCOMES,
    SCOPES,
    TARGET_KINDS,
    expand_channels,
)
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.profile import (
    HOLD_FLAGS,
    KNOWN_CALENDARS,
    ComplianceProfile,
    EventFilter,
    ProfileSpec,
    Rule,
    RuleSpec,
    Window,
    build_profile,
)
from arrears.domain.dates import parse_date
from arrears.domain.errors import InputError


def _clock(value: object, field: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:00 as a sexagesimal integer (480): accept it as minutes.
        hours, minutes = divmod(value, 60)
        if 0 <= hours < 24:
            return time(hours, minutes)
    if str(value) in ("24:00", "24:00:00"):
        return time.max
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"must be a time HH:MM, got {value!r}", field=field) from None


def _zone_name(value: object, field: str) -> str:
    name = text(value, field)
    zone(name)
    return name


def _name(value: object, field: str) -> str:
    name = text(value, field)
    if not name:
        raise InputError("is required", field=field)
    return name


def _dates(value: object, field: str) -> frozenset[date]:
    return frozenset(parse_date(d, f"{field}[{i}]") for i, d in enumerate(word_list(value, field)))


Clock = Annotated[time, checked_by(_clock)]
Channels = Annotated[frozenset[str], checked_by(lambda v, f: expand_channels(word_list(v, f), f))]
Words = Annotated[frozenset[str], checked_by(words_in())]
TargetKinds = Annotated[frozenset[str], checked_by(words_in(TARGET_KINDS))]
Outcomes = Annotated[frozenset[str], checked_by(words_in(OUTCOMES))]
AttemptKinds = Annotated[frozenset[str], checked_by(words_in(ATTEMPT_KINDS))]
Count = Annotated[int, Field(ge=0)]
Days = Annotated[int, Field(ge=1)]
ZoneName = Annotated[str, checked_by(_zone_name)]


# ------------------------------------------------------------------------------------- filters, windows
class GatesShape(LenientShape):
    """`applies_to:` which attempts a rule gates."""

    channels: Channels
    target_kinds: TargetKinds = frozenset({"debtor"})
    number_kind: Annotated[str, checked_by(word_in(sorted(NUMBER_KINDS), "number kind"))] = "any"

    def event_filter(self) -> EventFilter:
        return EventFilter(self.channels, None, self.target_kinds, self.number_kind)


class CountsShape(GatesShape):
    """`counts:` / `after:` which past events a rule counts; `outcomes: any` (or none given) counts all."""

    outcomes: Outcomes | Literal["any"] = "any"

    def event_filter(self) -> EventFilter:
        outcomes = None if self.outcomes == "any" else self.outcomes
        return EventFilter(self.channels, outcomes, self.target_kinds, self.number_kind)


class WindowShape(LenientShape):
    """A counting window: exactly one of calendar_days, hours, minutes (or the word `lifetime`)."""

    calendar_days: Days | None = None
    hours: Days | None = None
    minutes: Days | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WindowShape:
        if len(self.model_fields_set) != 1:
            raise PydanticCustomError(
                "domain", "give exactly one of calendar_days, hours, minutes (or write 'lifetime')"
            )
        return self

    def window(self) -> Window:
        if self.hours is not None:
            return Window(rolling=timedelta(hours=self.hours))
        if self.minutes is not None:
            return Window(rolling=timedelta(minutes=self.minutes))
        return Window(calendar_days=self.calendar_days or 0)


def _window(shape: WindowShape | str) -> Window:
    return Window(lifetime=True) if isinstance(shape, str) else shape.window()


Gates = Annotated[GatesShape, AfterValidator(GatesShape.event_filter)]
Counts = Annotated[CountsShape, AfterValidator(CountsShape.event_filter)]
CountingWindow = Annotated[WindowShape | Literal["lifetime"], AfterValidator(_window)]
Scope = Annotated[str, checked_by(word_in(SCOPES, "scope"))]


# ------------------------------------------------------------------------------------------------ rules
class RuleShape(LenientShape):
    """What every rule entry may have; each kind adds its own values."""

    id: Annotated[str, checked_by(text)]
    kind: StrictStr | None = None
    source: Annotated[str, checked_by(text)] | None = None
    description: StrictStr | None = None

    COMMON: ClassVar[frozenset[str]] = frozenset({"id", "kind", "source", "description"})

    def values(self, *, given_only: bool) -> dict[str, Any]:
        """The rule's typed values: all of them, or only those the file gives (an overlay's changes)."""
        values = self.given() if given_only else {n: getattr(self, n) for n in type(self).model_fields}
        return {name: value for name, value in values.items() if name not in self.COMMON}


class HoursShape(RuleShape):
    start: Clock
    end: Clock
    channels: Channels


class QuietDaysShape(RuleShape):
    enabled: StrictBool = True
    calendar: Annotated[str, checked_by(word_in(KNOWN_CALENDARS, "calendar"))] | None = None
    dates: Annotated[frozenset[date], checked_by(_dates)] = frozenset()
    channels: Channels


class CapShape(RuleShape):
    applies_to: Gates
    counts: Counts
    per: Scope = "debtor"
    window: CountingWindow
    max: Count


class IntervalShape(RuleShape):
    """A minimum interval: `minutes:` or `hours:` between counted events."""

    applies_to: Gates
    counts: Counts
    per: Scope = "debtor"
    minutes: Days | None = None
    hours: Days | None = None

    def values(self, *, given_only: bool) -> dict[str, Any]:
        out = super().values(given_only=given_only)
        minutes, hours = out.pop("minutes", None), out.pop("hours", None)
        if minutes is not None or hours is not None:
            rolling = timedelta(minutes=minutes) if minutes is not None else timedelta(hours=hours or 0)
            out["window"] = Window(rolling=rolling)
        elif not given_only:
            raise InputError("is required (or hours)", field="minutes")
        return out


class CooldownShape(RuleShape):
    applies_to: Gates
    after: Counts
    per: Scope = "debtor"
    days: Days


class HoldShape(RuleShape):
    flag: Annotated[str, checked_by(word_in(HOLD_FLAGS, "flag"))]
    exempt_message_types: Words = frozenset()
    kinds: AttemptKinds = ATTEMPT_KINDS
    channels: Channels | None = None


class OptOutShape(RuleShape):
    exempt_message_types: Words = frozenset()


class ThirdPartyShape(RuleShape):
    require_unreachable: StrictBool = True
    message_types: Words


class NoticeFirstShape(RuleShape):
    notice_message_types: Words
    exempt_message_types: Words = frozenset()


class CreditReportShape(RuleShape):
    notice_message_types: Words
    days: Count


class LegalDocumentShape(RuleShape):
    message_types: Words
    require_engaged_firm: StrictBool = True
    require_approval: StrictBool = True


class WorkplaceShape(RuleShape):
    channels: Channels


class TimeBarredShape(RuleShape):
    message_types: Words


RULE_SHAPES: dict[str, type[RuleShape]] = {
    "hours": HoursShape,
    "quiet_days": QuietDaysShape,
    "cap": CapShape,
    "interval": IntervalShape,
    "cooldown": CooldownShape,
    "hold": HoldShape,
    "opt_out": OptOutShape,
    "third_party": ThirdPartyShape,
    "notice_first": NoticeFirstShape,
    "credit_report_notice": CreditReportShape,
    "legal_document": LegalDocumentShape,
    "workplace": WorkplaceShape,
    "time_barred": TimeBarredShape,
}


def _changes(shape: type[RuleShape]) -> type[RuleShape]:
    """The same shape with every value optional: an overlay's entry for a base rule gives only its changes."""
    fields: dict[str, Any] = {}
    for name, info in shape.model_fields.items():
        optional = copy(info)
        optional.default, optional.default_factory = None, None
        fields[name] = (info.annotation, optional)
    return create_model(f"{shape.__name__}Changes", __base__=shape, **fields)


CHANGE_SHAPES = {kind: _changes(shape) for kind, shape in RULE_SHAPES.items()}


# ---------------------------------------------------------------------------------------------- profile
class TemplatesShape(LenientShape):
    opt_out_electronic: StrictBool | None = None


def _title(value: object) -> object:
    return {"en": value} if isinstance(value, str) else value  # one title is the English one


class ProfileShape(LenientShape):
    name: Annotated[str, checked_by(_name)]
    title: Annotated[dict[StrictStr, StrictStr], BeforeValidator(_title)] | None = None
    description: StrictStr | None = None
    extends: StrictStr | None = None
    unknown_timezones: list[ZoneName] | None = None
    templates: TemplatesShape = Field(default_factory=TemplatesShape)
    rules: list[dict[Any, Any]] = Field(default_factory=list)  # each read by its kind's shape, below


_KEYS = keys_of(ProfileShape, TemplatesShape)
_RULE_KEYS = {kind: keys_of(shape, CountsShape, WindowShape) for kind, shape in RULE_SHAPES.items()}


def profile_head(raw: object) -> ProfileShape:
    """The profile's own keys (name, extends, zones ...); its rules are read by `profile_spec`."""
    return read_shape(
        ProfileShape, raw, _KEYS, "a profile file must be a mapping with name, unknown_timezones and rules"
    )


def _rule_spec(raw: dict[Any, Any], where: str, base_rules: dict[str, Rule]) -> RuleSpec:
    """One `rules:` entry read by its kind's shape: in full, or as changes when it names a base rule."""
    if raw.get("id") in (None, ""):
        raise InputError("is required", field=f"{where}.id")
    prior = base_rules.get(str(raw["id"]))
    kind = raw.get("kind") or (prior.kind if prior is not None else None)
    if not isinstance(kind, str) or kind not in RULE_SHAPES:
        raise InputError(
            f"unknown or missing kind {kind!r} (known: {', '.join(RULE_SHAPES)})", field=f"{where}.kind"
        )
    try:
        shape = (CHANGE_SHAPES if prior is not None else RULE_SHAPES)[kind].model_validate(raw)
        values = shape.values(given_only=prior is not None)
    except ValidationError as err:
        error = shape_error(err, _RULE_KEYS[kind], where)
        if err.errors()[0]["type"] == "extra_forbidden" and len(err.errors()[0]["loc"]) == 1:
            error = InputError(f"{error.message} for a {kind} rule", field=error.field)
        raise error from None
    except InputError as err:
        raise InputError(err.message, field=f"{where}.{err.field}" if err.field else where) from None
    return RuleSpec(shape.id, kind, values, shape.source)


def profile_spec(head: ProfileShape, base: ComplianceProfile | None) -> ProfileSpec:
    """The file's typed content; an entry for one of `base`'s rules is read as changes to it."""
    base_rules = {r.id: r for r in base.rules} if base is not None else {}
    return ProfileSpec(
        name=head.name,
        extends=head.extends,
        title=head.title,
        unknown_timezones=tuple(head.unknown_timezones) if head.unknown_timezones is not None else None,
        templates=head.templates.given(),
        rules=tuple(_rule_spec(raw, f"rules[{i}]", base_rules) for i, raw in enumerate(head.rules)),
    )


def parse_profile(raw: object, base: ComplianceProfile | None = None) -> ComplianceProfile:
    """A profile from its parsed file (no I/O); errors name the field path, not yet the file and line."""
    return build_profile(profile_spec(profile_head(raw), base), base)
