"""Compliance profiles: a jurisdiction's contact rules as data, and the overlay that may only tighten.

A profile is a list of rules, each with a stable id (`cn.hours`, `regf.7in7`) and a kind saying how it
is evaluated. A profile may `extends:` a base: a rule with a base rule's id changes that rule's values,
a new id adds a rule. Every change is checked against the base and refused if it loosens it (later
hours, a bigger cap, fewer counted outcomes, a hold switched off ...). The YAML file and its line numbers
and the shape of its values are the adapter's business (adapters/profile_shapes.py); here a profile is
built from typed values, and errors name field paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from functools import partial
from typing import Any

from arrears.domain.compliance.channels import (
    describe_channels,
)
from arrears.domain.errors import InputError

HOLD_FLAGS = (
    "cease",
    "disputed",
    "identity_theft",
    "hardship",
    "represented_by_attorney",
    "deceased",
    "bankruptcy",
    "litigation",
    "address_returned",
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
    channels: frozenset[str] | None = None  # only these channels (None: every one)
    kind = "hold"

    def describe(self) -> str:
        exempt = ", ".join(sorted(self.exempt_message_types)) or "none"
        only = f" on {describe_channels(self.channels)}" if self.channels is not None else ""
        return f"hold while {self.flag}{only} ({'/'.join(sorted(self.kinds))}); exempt: {exempt}"

    def loosening(self, base: HoldRule) -> list[tuple[str, str]]:
        out = _exempt_loosening(self.exempt_message_types, base.exempt_message_types)
        if self.flag != base.flag:
            out.append(("flag", "changes the flag of the base hold"))
        if not self.kinds >= base.kinds:
            out.append(("kinds", "holds fewer kinds of action than the base"))
        if (base.channels is None and self.channels is not None) or (
            self.channels is not None and base.channels is not None and not self.channels >= base.channels
        ):
            out.append(("channels", "holds fewer channels than the base"))
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


# -------------------------------------------------------------------------------------------- building
# The constructor of each kind: what a rule of that kind means, given its typed values.
RULE_TYPES: dict[str, Callable[..., Rule]] = {
    "hours": HoursRule,
    "quiet_days": QuietDaysRule,
    "cap": CapRule,
    "interval": partial(CapRule, max=1, interval=True),  # a minimum interval is a cap of one
    "cooldown": CooldownRule,
    "hold": HoldRule,
    "opt_out": OptOutRule,
    "third_party": ThirdPartyRule,
    "notice_first": NoticeFirstRule,
    "credit_report_notice": CreditReportRule,
    "legal_document": LegalDocumentRule,
    "workplace": WorkplaceRule,
    "time_barred": TimeBarredRule,
}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One entry of a profile's `rules:` with typed values (channels expanded, windows built).

    A new rule gives every field of its kind; an entry with a base rule's id gives only what it changes.
    """

    id: str
    kind: str
    values: Mapping[str, Any]
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """What a profile file says, typed; what it leaves out (None) comes from the base profile."""

    name: str
    extends: str | None = None
    title: Mapping[str, str] | None = None
    unknown_timezones: tuple[str, ...] | None = None
    templates: Mapping[str, bool] = field(default_factory=dict)  # only the requirements the file sets
    rules: tuple[RuleSpec, ...] = ()


def build_profile(spec: ProfileSpec, base: ComplianceProfile | None = None) -> ComplianceProfile:
    """The profile a file describes; with `base` it is an overlay and must only tighten the base.

    Errors are InputError with the field path (`rules[2].max`), for the adapter to turn into file:line.
    """
    if spec.extends is not None and base is None:
        raise InputError(f"extends {spec.extends!r} but no base profile was given", field="extends")
    if base is not None and spec.extends != base.name:
        raise InputError(f"the base profile is {base.name!r}, not {spec.extends!r}", field="extends")
    lineage = (base.name, *base.lineage) if base is not None else ()
    if spec.name in lineage:
        raise InputError(f"profile {spec.name!r} extends itself", field="extends")
    return ComplianceProfile(
        spec.name,
        dict(spec.title or (base.title if base is not None else {"en": spec.name})),
        _rules(spec, base),
        _candidate_zones(spec.unknown_timezones, base),
        _templates(spec.templates, base),
        base.name if base is not None else None,
        lineage,
    )


def _candidate_zones(zones: tuple[str, ...] | None, base: ComplianceProfile | None) -> tuple[str, ...]:
    if zones is None:
        if base is None:
            raise InputError(
                "is required (the candidate zones when a debtor's zone is unknown)", field="unknown_timezones"
            )
        return base.unknown_timezones
    if base is not None and not set(zones) >= set(base.unknown_timezones):
        raise InputError(
            "an overlay may only add candidate zones to the base's list", field="unknown_timezones"
        )
    if not zones:
        raise InputError("must list at least one zone", field="unknown_timezones")
    return zones


def _templates(changes: Mapping[str, bool], base: ComplianceProfile | None) -> TemplateRequirements:
    before = base.templates if base is not None else TemplateRequirements()
    after = replace(before, **changes)
    loosened = after.loosening(before)
    if loosened:
        key, message = loosened[0]
        raise InputError(f"{message}: an overlay may only tighten", field=f"templates.{key}")
    return after


def _rules(spec: ProfileSpec, base: ComplianceProfile | None) -> tuple[Rule, ...]:
    base_rules = {r.id: r for r in base.rules} if base is not None else {}
    base_name = base.name if base is not None else ""
    rules: dict[str, Rule] = dict(base_rules)
    seen: set[str] = set()
    for i, entry in enumerate(spec.rules):
        where = f"rules[{i}]"
        if entry.id in seen:
            raise InputError(f"duplicate rule id {entry.id!r}", field=f"{where}.id")
        seen.add(entry.id)
        prior = base_rules.get(entry.id)
        try:
            rule = _rule(entry, prior)
        except InputError as err:
            raise InputError(err.message, field=f"{where}.{err.field}") from None
        loosened = rule.loosening(prior) if prior is not None else []
        if loosened:
            key, message = loosened[0]
            raise InputError(
                f"{message}: profile {spec.name!r} may only tighten {base_name} rule {entry.id}",
                field=f"{where}.{key}",
            )
        rules[entry.id] = rule
    if not rules:
        raise InputError("a profile needs at least one rule", field="rules")
    return tuple(rules.values())


def _rule(entry: RuleSpec, prior: Rule | None) -> Rule:
    """A new rule of the entry's kind, or the base rule with the entry's changes."""
    if prior is None:
        rule = RULE_TYPES[entry.kind](id=entry.id, source=entry.source or "", **entry.values)
    elif prior.kind != entry.kind:
        raise InputError(f"rule {prior.id} is a {prior.kind} rule in the base profile", field="kind")
    else:
        rule = replace(prior, source=entry.source or prior.source, **entry.values)
    if isinstance(rule, HoursRule) and rule.end <= rule.start:
        raise InputError("end must be after start (contact hours do not wrap midnight)", field="end")
    return rule
