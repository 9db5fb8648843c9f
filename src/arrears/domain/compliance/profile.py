"""Compliance profiles: a jurisdiction's contact rules as data, and the overlay that may only tighten.

A profile is a list of rules, each with a stable id (`cn.hours`, `regf.7in7`) and a kind saying how it
is evaluated. A profile may `extends:` a base: a rule with a base rule's id changes that rule's values,
a new id adds a rule. Every change is checked against the base and refused if it loosens it (later
hours, a bigger cap, fewer counted outcomes, a hold switched off ...). The YAML file and its line numbers
are the adapter's business; here a profile is built from plain mappings and errors name field paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from arrears.domain.compliance.channels import (
    NUMBER_KINDS,
    OUTCOMES,
    SCOPES,
    TARGET_KINDS,
    describe_channels,
    expand_channels,
)
from arrears.domain.compliance.clock import zone
from arrears.domain.dates import parse_date
from arrears.domain.errors import InputError

HOLD_FLAGS = (
    "cease",
    "disputed",
    "identity_theft",
    "hardship",
    "represented_by_attorney",
    "deceased",
    "bankruptcy",
)
KNOWN_CALENDARS = ("CN", "US", "HK", "TW")


# ---------------------------------------------------------------------------------------------- pieces
@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which attempts a rule gates, or which past events it counts."""

    channels: frozenset[str]
    outcomes: frozenset[str] | None = None  # None: any outcome
    target_kinds: frozenset[str] = frozenset({"debtor"})
    number_kind: str = "any"  # "work": only numbers listed as the debtor's work numbers

    def describe(self) -> str:
        text = describe_channels(self.channels)
        if self.outcomes is not None:
            text += " with outcome " + "/".join(sorted(self.outcomes))
        if self.target_kinds != frozenset({"debtor"}):
            text += " to " + "/".join(sorted(self.target_kinds))
        if self.number_kind == "work":
            text += " at work numbers"
        return text

    def loosening(self, base: EventFilter, where: str) -> list[tuple[str, str]]:
        """Ways this filter covers less than `base` (a rule must gate and count at least as much)."""
        out: list[tuple[str, str]] = []
        if not self.channels >= base.channels:
            missing = ", ".join(sorted(base.channels - self.channels))
            out.append((f"{where}.channels", f"drops channel(s) {missing}"))
        if base.outcomes is None and self.outcomes is not None:
            out.append((f"{where}.outcomes", "counts fewer outcomes than 'any'"))
        elif base.outcomes is not None and self.outcomes is not None and not self.outcomes >= base.outcomes:
            missing = ", ".join(sorted(base.outcomes - self.outcomes))
            out.append((f"{where}.outcomes", f"drops outcome(s) {missing}"))
        if not self.target_kinds >= base.target_kinds:
            out.append((f"{where}.target_kinds", "drops target kind(s)"))
        if base.number_kind == "any" and self.number_kind != "any":
            out.append((f"{where}.number_kind", "narrows 'any' number to work numbers"))
        return out


@dataclass(frozen=True, slots=True)
class Window:
    """A counting window: N local calendar days, a rolling duration, or the whole history."""

    calendar_days: int = 0
    rolling: timedelta | None = None
    lifetime: bool = False

    def describe(self) -> str:
        if self.lifetime:
            return "ever"
        if self.rolling is not None:
            minutes = int(self.rolling.total_seconds() // 60)
            if minutes % 60 == 0:
                return f"{minutes // 60} h rolling"
            return f"{minutes} min rolling"
        return "per local day" if self.calendar_days == 1 else f"{self.calendar_days} consecutive local days"

    def describe_zh(self) -> str:
        if self.lifetime:
            return "累计"
        if self.rolling is not None:
            minutes = int(self.rolling.total_seconds() // 60)
            if minutes % 60 == 0:
                return f"滚动 {minutes // 60} 小时内"
            return f"滚动 {minutes} 分钟内"
        return "每个自然日" if self.calendar_days == 1 else f"连续 {self.calendar_days} 个自然日内"

    def covers_at_least(self, base: Window) -> bool:
        if self.lifetime:
            return True
        if base.lifetime:
            return False
        if base.rolling is not None:
            return self.rolling is not None and self.rolling >= base.rolling
        return self.rolling is None and self.calendar_days >= base.calendar_days


# ----------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True, slots=True)
class Rule:
    """What every rule has: a stable id, where it comes from (a citation), and its kind."""

    id: str
    source: str

    kind = "rule"

    def describe(self) -> str:
        return self.kind

    def loosening(self, base: Any) -> list[tuple[str, str]]:
        return []


@dataclass(frozen=True, slots=True)
class HoursRule(Rule):
    """Contact only between `start` (inclusive) and `end` (exclusive), local time, in every candidate zone."""

    start: time
    end: time
    channels: frozenset[str]
    kind = "hours"

    def describe(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M} local time for {describe_channels(self.channels)}"

    def loosening(self, base: HoursRule) -> list[tuple[str, str]]:
        out = []
        if self.start < base.start:
            out.append(("start", f"starts earlier than the base ({base.start:%H:%M})"))
        if self.end > base.end:
            out.append(("end", f"ends later than the base ({base.end:%H:%M})"))
        if not self.channels >= base.channels:
            out.append(("channels", "covers fewer channels than the base"))
        return out


@dataclass(frozen=True, slots=True)
class QuietDaysRule(Rule):
    """No contact on public holidays (a named calendar) or listed dates, local calendar."""

    enabled: bool
    calendar: str | None
    dates: frozenset[date]
    channels: frozenset[str]
    kind = "quiet_days"

    def describe(self) -> str:
        what = ", ".join(
            p
            for p in (
                self.calendar and f"{self.calendar} public holidays",
                self.dates and f"{len(self.dates)} listed dates",
            )
            if p
        )
        state = "" if self.enabled else " (disabled)"
        return f"no {describe_channels(self.channels)} on {what or 'no days'}{state}"

    def loosening(self, base: QuietDaysRule) -> list[tuple[str, str]]:
        out = []
        if base.enabled and not self.enabled:
            out.append(("enabled", "switches off quiet days the base enables"))
        if base.calendar and self.calendar != base.calendar:
            out.append(("calendar", f"replaces the base calendar {base.calendar}"))
        if not self.dates >= base.dates:
            out.append(("dates", "removes quiet dates of the base"))
        if not self.channels >= base.channels:
            out.append(("channels", "covers fewer channels than the base"))
        return out


@dataclass(frozen=True, slots=True)
class CapRule(Rule):
    """At most `max` counted events per debtor / number / debt in any window that contains the attempt.

    An attempt is allowed while fewer than `max` counted events share a window with it, so that making
    it can never take the count over `max`. A minimum interval is the same rule with max 1.
    """

    applies_to: EventFilter
    counts: EventFilter
    per: str
    window: Window
    max: int
    interval: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "interval" if self.interval else "cap"

    def describe(self) -> str:
        if self.interval:
            return f"at least {self.window.describe().replace(' rolling', '')} between {self.counts.describe()} per {self.per}"
        return f"≤ {self.max} {self.counts.describe()} per {self.per}, {self.window.describe()}; gates {self.applies_to.describe()}"

    def loosening(self, base: CapRule) -> list[tuple[str, str]]:
        out = self.applies_to.loosening(base.applies_to, "applies_to") + self.counts.loosening(
            base.counts, "counts"
        )
        if self.max > base.max:
            out.append(("max", f"raises the cap above the base ({base.max})"))
        if not self.window.covers_at_least(base.window):
            key = "minutes" if self.interval else "window"
            out.append((key, f"shortens the base window ({base.window.describe()})"))
        if self.per != base.per and self.per != "debtor":
            out.append(("per", f"counts per {self.per} where the base counts per {base.per}"))
        return out


@dataclass(frozen=True, slots=True)
class CooldownRule(Rule):
    """After a counted event, no gated attempt for `days` local calendar days, the event's day being day one."""

    applies_to: EventFilter
    after: EventFilter
    per: str
    days: int
    kind = "cooldown"

    def describe(self) -> str:
        return f"no {self.applies_to.describe()} for {self.days} days after {self.after.describe()} (its day = day 1), per {self.per}"

    def loosening(self, base: CooldownRule) -> list[tuple[str, str]]:
        out = self.applies_to.loosening(base.applies_to, "applies_to") + self.after.loosening(
            base.after, "after"
        )
        if self.days < base.days:
            out.append(("days", f"shortens the base quiet period ({base.days} days)"))
        if self.per != base.per and self.per != "debtor":
            out.append(("per", f"counts per {self.per} where the base counts per {base.per}"))
        return out


def _exempt_loosening(
    new: frozenset[str], base: frozenset[str], name: str = "exempt_message_types"
) -> list[tuple[str, str]]:
    extra = new - base
    return [(name, f"exempts more message types than the base: {', '.join(sorted(extra))}")] if extra else []


@dataclass(frozen=True, slots=True)
class HoldRule(Rule):
    """While the debtor carries `flag` (cease, disputed, identity_theft, hardship), no contact except exempt types."""

    flag: str
    exempt_message_types: frozenset[str]
    kinds: frozenset[str]
    kind = "hold"

    def describe(self) -> str:
        exempt = ", ".join(sorted(self.exempt_message_types)) or "none"
        return f"hold while {self.flag} ({'/'.join(sorted(self.kinds))}); exempt: {exempt}"

    def loosening(self, base: HoldRule) -> list[tuple[str, str]]:
        out = _exempt_loosening(self.exempt_message_types, base.exempt_message_types)
        if self.flag != base.flag:
            out.append(("flag", "changes the flag of the base hold"))
        if not self.kinds >= base.kinds:
            out.append(("kinds", "holds fewer kinds of action than the base"))
        return out


@dataclass(frozen=True, slots=True)
class OptOutRule(Rule):
    """A channel the debtor opted out of is not used (except exempt message types)."""

    exempt_message_types: frozenset[str]
    kind = "opt_out"

    def describe(self) -> str:
        return "honour per-channel opt-outs"

    def loosening(self, base: OptOutRule) -> list[tuple[str, str]]:
        return _exempt_loosening(self.exempt_message_types, base.exempt_message_types)


@dataclass(frozen=True, slots=True)
class ThirdPartyRule(Rule):
    """Third parties only while the debtor is unreachable, and only with content that discloses no debt."""

    require_unreachable: bool
    message_types: frozenset[str]
    kind = "third_party"

    def describe(self) -> str:
        when = "only while the debtor is unreachable, " if self.require_unreachable else ""
        return f"third parties {when}with {', '.join(sorted(self.message_types)) or 'nothing'}"

    def loosening(self, base: ThirdPartyRule) -> list[tuple[str, str]]:
        out = _exempt_loosening(self.message_types, base.message_types, "message_types")
        if base.require_unreachable and not self.require_unreachable:
            out.append(("require_unreachable", "allows third-party contact while the debtor is reachable"))
        return out


@dataclass(frozen=True, slots=True)
class NoticeFirstRule(Rule):
    """A notice (Reg F validation notice) must have been sent before any other contact with the debtor."""

    notice_message_types: frozenset[str]
    exempt_message_types: frozenset[str]
    kind = "notice_first"

    def describe(self) -> str:
        return f"{'/'.join(sorted(self.notice_message_types))} before other contact"

    def loosening(self, base: NoticeFirstRule) -> list[tuple[str, str]]:
        out = _exempt_loosening(self.exempt_message_types, base.exempt_message_types)
        if not self.notice_message_types <= base.notice_message_types:
            out.append(("notice_message_types", "accepts more kinds of notice than the base"))
        return out


@dataclass(frozen=True, slots=True)
class CreditReportRule(Rule):
    """Negative information goes to a credit bureau only `days` days after the borrower was told."""

    notice_message_types: frozenset[str]
    days: int
    kind = "credit_report_notice"

    def describe(self) -> str:
        return f"credit report ≥ {self.days} days after {'/'.join(sorted(self.notice_message_types))}"

    def loosening(self, base: CreditReportRule) -> list[tuple[str, str]]:
        out = []
        if self.days < base.days:
            out.append(("days", f"shortens the base notice period ({base.days} days)"))
        if not self.notice_message_types <= base.notice_message_types:
            out.append(("notice_message_types", "accepts more kinds of notice than the base"))
        return out


@dataclass(frozen=True, slots=True)
class LegalDocumentRule(Rule):
    """A legal document (lawyer's letter) needs a named, engaged law firm and an approval record."""

    message_types: frozenset[str]
    require_engaged_firm: bool
    require_approval: bool
    kind = "legal_document"

    def describe(self) -> str:
        needs = [
            n
            for n, on in (
                ("engaged law firm", self.require_engaged_firm),
                ("approval", self.require_approval),
            )
            if on
        ]
        return f"{', '.join(sorted(self.message_types))} needs {' and '.join(needs) or 'nothing'}"

    def loosening(self, base: LegalDocumentRule) -> list[tuple[str, str]]:
        out = []
        if not self.message_types >= base.message_types:
            out.append(("message_types", "gates fewer document types than the base"))
        if base.require_engaged_firm and not self.require_engaged_firm:
            out.append(("require_engaged_firm", "drops the engaged-law-firm requirement"))
        if base.require_approval and not self.require_approval:
            out.append(("require_approval", "drops the approval requirement"))
        return out


@dataclass(frozen=True, slots=True)
class WorkplaceRule(Rule):
    """No contact at a work number once the debtor said the employer prohibits it."""

    channels: frozenset[str]
    kind = "workplace"

    def describe(self) -> str:
        return f"no {describe_channels(self.channels)} at work when the employer prohibits it"

    def loosening(self, base: WorkplaceRule) -> list[tuple[str, str]]:
        return [] if self.channels >= base.channels else [("channels", "covers fewer channels than the base")]


@dataclass(frozen=True, slots=True)
class TimeBarredRule(Rule):
    """No suit, and no threat of one, on a time-barred debt."""

    message_types: frozenset[str]
    kind = "time_barred"

    def describe(self) -> str:
        return f"no {', '.join(sorted(self.message_types))} on time-barred debt"

    def loosening(self, base: TimeBarredRule) -> list[tuple[str, str]]:
        ok = self.message_types >= base.message_types
        return [] if ok else [("message_types", "gates fewer message types than the base")]


@dataclass(frozen=True, slots=True)
class TemplateRequirements:
    """What the template linter demands of messages under this profile."""

    opt_out_electronic: bool = False

    def loosening(self, base: TemplateRequirements) -> list[tuple[str, str]]:
        if base.opt_out_electronic and not self.opt_out_electronic:
            return [("opt_out_electronic", "drops the opt-out requirement of the base")]
        return []


@dataclass(frozen=True, slots=True)
class ComplianceProfile:
    """A named set of rules; `unknown_timezones` are the candidates when the debtor's zone is unknown."""

    name: str
    title: Mapping[str, str]
    rules: tuple[Rule, ...]
    unknown_timezones: tuple[str, ...]
    templates: TemplateRequirements = field(default_factory=TemplateRequirements)
    extends: str | None = None
    lineage: tuple[str, ...] = ()  # the base chain, nearest first

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def rules_of(self, kind: type[Rule]) -> list[Any]:
        return [r for r in self.rules if isinstance(r, kind)]


# --------------------------------------------------------------------------------------------- parsing
RULE_KEYS: dict[str, set[str]] = {
    "hours": {"start", "end", "channels"},
    "quiet_days": {"enabled", "calendar", "dates", "channels"},
    "cap": {"applies_to", "counts", "per", "window", "max"},
    "interval": {"applies_to", "counts", "per", "minutes", "hours"},
    "cooldown": {"applies_to", "after", "per", "days"},
    "hold": {"flag", "exempt_message_types", "kinds"},
    "opt_out": {"exempt_message_types"},
    "third_party": {"require_unreachable", "message_types"},
    "notice_first": {"notice_message_types", "exempt_message_types"},
    "credit_report_notice": {"notice_message_types", "days"},
    "legal_document": {"message_types", "require_engaged_firm", "require_approval"},
    "workplace": {"channels"},
    "time_barred": {"message_types"},
}
COMMON_RULE_KEYS = {"id", "kind", "source", "description"}
PROFILE_KEYS = {"name", "title", "extends", "unknown_timezones", "rules", "templates", "description"}


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError("must be a mapping", field=where)
    return value


def _list(value: object, where: str) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InputError("must be a list", field=where)
    return list(value)


def _int(value: object, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"must be a whole number, got {value!r}", field=where)
    if value < minimum:
        raise InputError(f"must be at least {minimum}, got {value}", field=where)
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"must be true or false, got {value!r}", field=where)
    return value


def _clock(value: object, where: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:00 as a sexagesimal integer (480): accept it as minutes.
        hours, minutes = divmod(value, 60)
        if 0 <= hours < 24:
            return time(hours, minutes)
    text = str(value)
    if text in ("24:00", "24:00:00"):
        return time.max
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InputError(f"must be a time HH:MM, got {value!r}", field=where) from None


def _words(value: object, where: str, allowed: Iterable[str] | None = None) -> frozenset[str]:
    items = frozenset(str(v) for v in _list(value, where))
    if allowed is not None:
        bad = sorted(items - set(allowed))
        if bad:
            raise InputError(
                f"unknown value(s) {', '.join(bad)} (known: {', '.join(sorted(allowed))})", field=where
            )
    return items


class _Reader:
    """Reads a rule mapping, falling back to the base rule's value for keys the overlay leaves out."""

    def __init__(self, raw: Mapping[str, Any], where: str, base: Any) -> None:
        self.raw, self.where, self.base = raw, where, base

    def get(
        self, key: str, parse: Callable[[object, str], Any], default: Any = None, *, attr: str | None = None
    ) -> Any:
        if key in self.raw and self.raw[key] is not None:
            return parse(self.raw[key], f"{self.where}.{key}")
        if self.base is not None:
            return getattr(self.base, attr or key)
        if default is None:
            raise InputError("is required", field=f"{self.where}.{key}")
        return default


def _filter(
    value: object, where: str, *, with_outcomes: bool, default_targets: frozenset[str] = frozenset({"debtor"})
) -> EventFilter:
    raw = _mapping(value, where)
    known = (
        {"channels", "outcomes", "target_kinds", "number_kind"}
        if with_outcomes
        else {"channels", "target_kinds", "number_kind"}
    )
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"unknown key(s): {', '.join(unknown)}", field=f"{where}.{unknown[0]}")
    if "channels" not in raw:
        raise InputError("is required", field=f"{where}.channels")
    channels = expand_channels(_list(raw["channels"], f"{where}.channels"), f"{where}.channels")
    outcomes = None
    if with_outcomes and raw.get("outcomes") not in (None, "any"):
        outcomes = _words(raw["outcomes"], f"{where}.outcomes", OUTCOMES)
    targets = (
        _words(raw["target_kinds"], f"{where}.target_kinds", TARGET_KINDS)
        if "target_kinds" in raw
        else default_targets
    )
    number_kind = str(raw.get("number_kind", "any"))
    if number_kind not in NUMBER_KINDS:
        raise InputError(f"must be one of {', '.join(sorted(NUMBER_KINDS))}", field=f"{where}.number_kind")
    return EventFilter(channels, outcomes, targets, number_kind)


def _window(value: object, where: str) -> Window:
    if value == "lifetime":
        return Window(lifetime=True)
    raw = _mapping(value, where)
    if len(raw) != 1:
        raise InputError(
            "give exactly one of calendar_days, hours, minutes (or write 'lifetime')", field=where
        )
    ((key, amount),) = raw.items()
    n = _int(amount, f"{where}.{key}", minimum=1)
    if key == "calendar_days":
        return Window(calendar_days=n)
    if key == "hours":
        return Window(rolling=timedelta(hours=n))
    if key == "minutes":
        return Window(rolling=timedelta(minutes=n))
    raise InputError(
        f"unknown window {key!r} (calendar_days, hours, minutes or lifetime)", field=f"{where}.{key}"
    )


def _scope(value: object, where: str) -> str:
    text = str(value)
    if text not in SCOPES:
        raise InputError(f"must be one of {', '.join(SCOPES)}, got {text!r}", field=where)
    return text


def _parse_rule(raw: Mapping[str, Any], where: str, base: Rule | None) -> Rule:
    kind = str(raw.get("kind") or (base.kind if base is not None else ""))
    if kind not in RULE_KEYS:
        raise InputError(
            f"unknown or missing kind {kind!r} (known: {', '.join(RULE_KEYS)})", field=f"{where}.kind"
        )
    if base is not None and base.kind != kind:
        raise InputError(f"rule {base.id} is a {base.kind} rule in the base profile", field=f"{where}.kind")
    unknown = sorted(set(raw) - RULE_KEYS[kind] - COMMON_RULE_KEYS)
    if unknown:
        raise InputError(
            f"unknown key(s) for a {kind} rule: {', '.join(unknown)}", field=f"{where}.{unknown[0]}"
        )
    r = _Reader(raw, where, base)
    rule_id = str(raw["id"])
    source = str(raw.get("source") or (base.source if base is not None else ""))
    chans = lambda v, w: expand_channels(_list(v, w), w)  # noqa: E731
    words = lambda v, w: _words(v, w)  # noqa: E731
    if kind == "hours":
        rule: Rule = HoursRule(
            rule_id, source, r.get("start", _clock), r.get("end", _clock), r.get("channels", chans)
        )
        assert isinstance(rule, HoursRule)
        if rule.end <= rule.start:
            raise InputError(
                "end must be after start (contact hours do not wrap midnight)", field=f"{where}.end"
            )
        return rule
    if kind == "quiet_days":
        calendar = raw.get("calendar", base.calendar if isinstance(base, QuietDaysRule) else None)
        if calendar is not None and str(calendar) not in KNOWN_CALENDARS:
            raise InputError(
                f"unknown calendar {calendar!r} (known: {', '.join(KNOWN_CALENDARS)})",
                field=f"{where}.calendar",
            )
        dates = r.get(
            "dates",
            lambda v, w: frozenset(parse_date(d, f"{w}[{i}]") for i, d in enumerate(_list(v, w))),
            frozenset(),
        )
        return QuietDaysRule(
            rule_id,
            source,
            r.get("enabled", _bool, False) if base is not None or "enabled" in raw else True,
            None if calendar is None else str(calendar),
            dates,
            r.get("channels", chans),
        )
    if kind in ("cap", "interval"):
        applies = r.get("applies_to", lambda v, w: _filter(v, w, with_outcomes=False))
        counts = r.get("counts", lambda v, w: _filter(v, w, with_outcomes=True))
        per = r.get("per", _scope, "debtor")
        if kind == "cap":
            return CapRule(
                rule_id, source, applies, counts, per, r.get("window", _window), r.get("max", _int)
            )
        if "minutes" in raw or "hours" in raw:
            key = "minutes" if "minutes" in raw else "hours"
            n = _int(raw[key], f"{where}.{key}", minimum=1)
            window = Window(rolling=timedelta(minutes=n) if key == "minutes" else timedelta(hours=n))
        elif isinstance(base, CapRule):
            window = base.window
        else:
            raise InputError("is required (or hours)", field=f"{where}.minutes")
        return CapRule(rule_id, source, applies, counts, per, window, 1, interval=True)
    if kind == "cooldown":
        return CooldownRule(
            rule_id,
            source,
            r.get("applies_to", lambda v, w: _filter(v, w, with_outcomes=False)),
            r.get("after", lambda v, w: _filter(v, w, with_outcomes=True)),
            r.get("per", _scope, "debtor"),
            r.get("days", lambda v, w: _int(v, w, minimum=1)),
        )
    if kind == "hold":
        flag = r.get("flag", lambda v, w: str(v))
        if flag not in HOLD_FLAGS:
            raise InputError(f"must be one of {', '.join(HOLD_FLAGS)}, got {flag!r}", field=f"{where}.flag")
        kinds = r.get(
            "kinds",
            lambda v, w: _words(v, w, {"contact", "credit_report"}),
            frozenset({"contact", "credit_report"}),
        )
        return HoldRule(rule_id, source, flag, r.get("exempt_message_types", words, frozenset()), kinds)
    if kind == "opt_out":
        return OptOutRule(rule_id, source, r.get("exempt_message_types", words, frozenset()))
    if kind == "third_party":
        return ThirdPartyRule(
            rule_id, source, r.get("require_unreachable", _bool, True), r.get("message_types", words)
        )
    if kind == "notice_first":
        return NoticeFirstRule(
            rule_id,
            source,
            r.get("notice_message_types", words),
            r.get("exempt_message_types", words, frozenset()),
        )
    if kind == "credit_report_notice":
        return CreditReportRule(
            rule_id,
            source,
            r.get("notice_message_types", words),
            r.get("days", lambda v, w: _int(v, w, minimum=0)),
        )
    if kind == "legal_document":
        return LegalDocumentRule(
            rule_id,
            source,
            r.get("message_types", words),
            r.get("require_engaged_firm", _bool, True),
            r.get("require_approval", _bool, True),
        )
    if kind == "workplace":
        return WorkplaceRule(rule_id, source, r.get("channels", chans))
    return TimeBarredRule(rule_id, source, r.get("message_types", words))


def parse_profile(raw: object, base: ComplianceProfile | None = None) -> ComplianceProfile:
    """Build a profile from its mapping; with `base` it is an overlay and must only tighten the base.

    Errors are InputError with the field path (`rules[2].max`), for the adapter to turn into file:line.
    """
    doc = _mapping(raw, "")
    unknown = sorted(set(doc) - PROFILE_KEYS)
    if unknown:
        raise InputError(f"unknown key(s): {', '.join(unknown)}", field=unknown[0])
    if not doc.get("name"):
        raise InputError("is required", field="name")
    name = str(doc["name"])
    extends = doc.get("extends")
    if extends is not None and base is None:
        raise InputError(f"extends {extends!r} but no base profile was given", field="extends")
    if base is not None and extends != base.name:
        raise InputError(f"the base profile is {base.name!r}, not {extends!r}", field="extends")
    title_raw = doc.get("title") or (dict(base.title) if base else {"en": name})
    title = (
        {str(k): str(v) for k, v in _mapping(title_raw, "title").items()}
        if not isinstance(title_raw, str)
        else {"en": title_raw}
    )

    zones: tuple[str, ...]
    if "unknown_timezones" in doc:
        zones = tuple(str(z) for z in _list(doc["unknown_timezones"], "unknown_timezones"))
        for i, z in enumerate(zones):
            try:
                zone(z)
            except InputError as err:
                raise InputError(err.message, field=f"unknown_timezones[{i}]") from None
        if base is not None and not set(zones) >= set(base.unknown_timezones):
            raise InputError(
                "an overlay may only add candidate zones to the base's list", field="unknown_timezones"
            )
    elif base is not None:
        zones = base.unknown_timezones
    else:
        raise InputError(
            "is required (the candidate zones when a debtor's zone is unknown)", field="unknown_timezones"
        )
    if not zones:
        raise InputError("must list at least one zone", field="unknown_timezones")

    templates = base.templates if base is not None else TemplateRequirements()
    if "templates" in doc:
        traw = _mapping(doc["templates"], "templates")
        bad = sorted(set(traw) - {"opt_out_electronic"})
        if bad:
            raise InputError(f"unknown key(s): {', '.join(bad)}", field=f"templates.{bad[0]}")
        new = TemplateRequirements(
            _bool(
                traw.get("opt_out_electronic", templates.opt_out_electronic), "templates.opt_out_electronic"
            )
        )
        for key, message in new.loosening(templates):
            raise InputError(f"{message}: an overlay may only tighten", field=f"templates.{key}")
        templates = new

    base_rules = {r.id: r for r in base.rules} if base is not None else {}
    rules: dict[str, Rule] = dict(base_rules)
    seen: set[str] = set()
    for i, item in enumerate(_list(doc.get("rules") or [], "rules")):
        where = f"rules[{i}]"
        item = _mapping(item, where)
        if not item.get("id"):
            raise InputError("is required", field=f"{where}.id")
        rule_id = str(item["id"])
        if rule_id in seen:
            raise InputError(f"duplicate rule id {rule_id!r}", field=f"{where}.id")
        seen.add(rule_id)
        prior = base_rules.get(rule_id)
        rule = _parse_rule(item, where, prior)
        if prior is not None:
            for key, message in rule.loosening(prior):
                raise InputError(
                    f"{message}: profile {name!r} may only tighten {base.name if base else ''} rule {rule_id}",
                    field=f"{where}.{key}",
                )
        rules[rule_id] = rule
    if not rules:
        raise InputError("a profile needs at least one rule", field="rules")
    lineage = (base.name, *base.lineage) if base is not None else ()
    if name in lineage:
        raise InputError(f"profile {name!r} extends itself", field="extends")
    return ComplianceProfile(
        name, title, tuple(rules.values()), zones, templates, base.name if base else None, lineage
    )


ProfileReader = Callable[[str, str | None], tuple[object, Callable[[InputError], InputError], str]]


def build_profile(
    ref: str, read: ProfileReader, *, _near: str | None = None, _seen: tuple[str, ...] = ()
) -> ComplianceProfile:
    """Resolve a profile and its `extends:` chain through `read`.

    `read(ref, near)` returns the raw mapping, a function that adds file and line to an error, and the
    place the next reference is relative to; the I/O lives with the caller, the rules stay here.
    """
    raw, locate, here = read(ref, _near)
    extends = raw.get("extends") if isinstance(raw, Mapping) else None
    base = None
    if extends is not None:
        if str(extends) in _seen or str(extends) == ref:
            raise locate(
                InputError(
                    f"profiles extend each other in a cycle: {' → '.join((*_seen, ref, str(extends)))}",
                    field="extends",
                )
            )
        try:
            base = build_profile(str(extends), read, _near=here, _seen=(*_seen, ref))
        except InputError as err:
            if err.file is None:  # the base could not be found: the error is on this file's `extends:`
                raise locate(InputError(err.message, field="extends")) from None
            raise
    try:
        return parse_profile(raw, base)
    except InputError as err:
        raise locate(err) from None
