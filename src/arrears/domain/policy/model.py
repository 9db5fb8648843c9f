"""A collection policy as plain data: early warning, segments, ladders, jumps and experiments.

Read top to bottom like Kill Bill's overdue states: the first segment whose condition holds decides;
its ladder (or its experiment arm's ladder) says which step is due on which day; jumps are one-off
steps taken once per delinquency episode when their condition first holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from arrears.domain.catalog import PRODUCTS as CATALOG
from arrears.domain.errors import InputError
from arrears.domain.expressions import Expression
from arrears.domain.features import FeatureSchema, did_you_mean
from arrears.domain.products import DEFAULT_BUCKETS, LedgerSettings

CHANNELS = (
    "sms",
    "push",
    "email",
    "robocall",
    "agent_call",
    "letter",
    "lawyer_letter",
    "agency",
    "litigation",
    "credit_bureau_notice",
    "visit",  # a field visit (上门): a task for the field team of the borrower's region (services/visits.py)
    "freeze_line",  # freezes the borrower's credit line; the step's template (an SMS) tells the borrower
)
TONES = ("gentle", "regular", "firm", "legal")
# A lawyer's letter names a real, engaged firm and passes legal review before it is sent (DOMAIN.md);
# the same holds for going to court. A policy cannot plan either without the approval.
LEGAL_REVIEW = "legal_review"
NEEDS_LEGAL_REVIEW = frozenset({"lawyer_letter", "litigation"})
BASIS_POINTS = 10_000
# A message not sent within this many days of its plan day (of its approval, for a legal step) expires:
# its figures and deadlines would be stale (it is rendered at send time, but the step was chosen for then).
DEFAULT_VALID_DAYS = 3

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TEMPLATE = re.compile(r"^[a-z0-9_]+/[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class Step:
    """One treatment: a message or action through a channel, rendered from a template, in a tone."""

    id: str
    channel: str
    template: str  # e.g. "sms/reminder" → templates/<lang>/sms/reminder.j2
    tone: str
    offset: int | None = None  # days from the oldest unpaid due date; None for a jump's step
    condition: Expression | None = None
    requires: tuple[str, ...] = ()  # approvals needed before sending, e.g. ("legal_review",)
    catch_up: bool = False  # send late if the day was missed (the account jumped past it)
    valid_for: int | None = None  # days a planned message stays sendable (None: DEFAULT_VALID_DAYS)

    @property
    def valid_days(self) -> int:
        """Days the message may still go out: through local day plan day + valid_days − 1; a step that
        needs an approval counts them from the approval instead."""
        return self.valid_for if self.valid_for is not None else DEFAULT_VALID_DAYS


@dataclass(frozen=True, slots=True)
class Ladder:
    name: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """Who gets which ladder. `condition` None = everybody (only the last segment)."""

    name: str
    description: str = ""
    condition: Expression | None = None
    ladder: str = ""  # "" when paused
    pause: bool = False  # no collection actions at all (identity dispute, ...)


@dataclass(frozen=True, slots=True)
class PointsRow:
    condition: Expression
    points: int
    label: str


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    """A transparent points table: the score is the sum of the points of the rows that hold."""

    rows: tuple[PointsRow, ...] = ()
    medium: int = 30  # score ≥ medium → "medium"
    high: int = 60  # score ≥ high → "high"

    def level(self, score: int) -> str:
        if score >= self.high:
            return "high"
        return "medium" if score >= self.medium else "low"


@dataclass(frozen=True, slots=True)
class Jump:
    """A one-off step taken once per delinquency episode when its condition holds (e.g. agency at M2)."""

    step: Step  # its id is the jump's id
    condition: Expression
    segments: tuple[str, ...] = ()  # () = every segment that is not paused

    @property
    def id(self) -> str:
        return self.step.id


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight_bp: int  # share of the segment, in basis points
    ladder: str


@dataclass(frozen=True, slots=True)
class Experiment:
    """Champion / challenger: accounts of one segment split between ladders by a stable hash."""

    name: str
    segment: str
    arms: tuple[Arm, ...]
    description: str = ""


@dataclass(frozen=True)
class Policy:
    """A versioned collection strategy. Construction checks every cross-reference (InputError + field)."""

    name: str
    version: str
    segments: tuple[Segment, ...]
    ladders: Mapping[str, Ladder]
    description: str = ""
    compliance_profile: str = "cn"
    currency: str = "CNY"
    products: Mapping[str, LedgerSettings] = field(default_factory=dict)
    early_warning: EarlyWarning = field(default_factory=EarlyWarning)
    jumps: tuple[Jump, ...] = ()
    experiments: tuple[Experiment, ...] = ()
    content_hash: str = ""  # sha256 of the policy's content, recorded with every run
    source: str = ""  # the file it was read from

    def __post_init__(self) -> None:
        object.__setattr__(self, "ladders", MappingProxyType(dict(self.ladders)))
        object.__setattr__(self, "products", MappingProxyType(dict(self.products)))
        check_policy(self)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def experiment_for(self, segment: str) -> Experiment | None:
        return next((e for e in self.experiments if e.segment == segment), None)

    def templates(self) -> list[str]:
        """Every template the policy can send, sorted."""
        return sorted({s.template for s in self.all_steps().values()})

    def all_steps(self) -> dict[tuple[str, str], Step]:
        """Every step by (ladder, step id); a jump's step under ladder ""."""
        out = {(name, s.id): s for name, ladder in self.ladders.items() for s in ladder.steps}
        out.update({("", j.step.id): j.step for j in self.jumps})
        return out

    def warnings(self) -> list[str]:
        """Things that are allowed but probably not meant: ladders no segment or arm uses."""
        used = {s.ladder for s in self.segments} | {a.ladder for e in self.experiments for a in e.arms}
        return [
            f"ladder '{name}' is not used by any segment or experiment"
            for name in self.ladders
            if name not in used
        ]


def policy_schema(currency: str, products: Mapping[str, LedgerSettings]) -> FeatureSchema:
    """The features a policy's conditions may read, with the bucket names and product codes it knows."""
    # accounts of products the policy does not list keep the built-in (default) bucket names
    buckets = [
        *DEFAULT_BUCKETS.names(),
        *(n for settings in products.values() for n in settings.buckets.names()),
    ]
    return FeatureSchema.for_policy(currency, buckets, [*CATALOG, *products])


def _need(ok: bool, message: str, where: str) -> None:
    if not ok:
        raise InputError(message, field=where)


def _check_name(name: str, where: str) -> None:
    _need(bool(_NAME.match(name)), f"{name!r} is not a valid name (lower-case letters, digits, _ . -)", where)


def _check_new_name(name: str, seen: set[str], what: str, where: str) -> None:
    """A valid name not used before among `seen` (which it joins)."""
    _check_name(name, where)
    _need(name not in seen, f"duplicate {what} {name!r}", where)
    seen.add(name)


def _check_step(step: Step, where: str) -> None:
    _need(
        step.channel in CHANNELS,
        f"unknown channel {step.channel!r}{did_you_mean(step.channel, CHANNELS)} (use one of: {', '.join(CHANNELS)})",
        f"{where}.channel",
    )
    _need(
        step.tone in TONES,
        f"unknown tone {step.tone!r}{did_you_mean(step.tone, TONES)} (use one of: {', '.join(TONES)})",
        f"{where}.tone",
    )
    _need(
        bool(_TEMPLATE.match(step.template)),
        f"template must look like 'sms/reminder', got {step.template!r}",
        f"{where}.template",
    )
    for i, approval in enumerate(step.requires):
        _check_name(approval, f"{where}.requires[{i}]")
    _need(len(set(step.requires)) == len(step.requires), "lists an approval twice", f"{where}.requires")
    if step.channel in NEEDS_LEGAL_REVIEW:
        _need(
            LEGAL_REVIEW in step.requires,
            f"a {step.channel} step must require {LEGAL_REVIEW} (requires: [{LEGAL_REVIEW}])",
            f"{where}.requires",
        )


def _check_ladder_name(policy: Policy, name: str, where: str) -> None:
    _need(name in policy.ladders, f"unknown ladder {name!r}{did_you_mean(name, policy.ladders)}", where)


def check_policy(policy: Policy) -> None:
    """Raise InputError (with the field path) for anything that cannot be meant."""
    _check_name(policy.name, "name")
    _need(bool(policy.version.strip()), "version must not be empty", "version")
    _check_name(policy.compliance_profile, "compliance_profile")
    for code, settings in policy.products.items():
        _need(
            settings.currency == policy.currency,
            f"product currency {settings.currency} differs from the policy's {policy.currency}",
            f"products.{code}.currency",
        )

    ews = policy.early_warning
    for i, row in enumerate(ews.rows):
        own = row.condition.features & {"ews_score", "ews_level"}
        _need(
            not own,
            f"the points table cannot read {', '.join(sorted(own))}: it is what the table computes",
            f"early_warning.points[{i}].when",
        )
    _need(ews.medium <= ews.high, "the medium threshold must not exceed the high one", "early_warning.levels")

    _check_ladders(policy)
    _check_segments(policy)
    _check_jumps(policy)
    _check_experiments(policy)


def _check_ladders(policy: Policy) -> None:
    _need(bool(policy.ladders), "a policy needs at least one ladder", "ladders")
    for name, ladder in policy.ladders.items():
        where = f"ladders.{name}"
        _check_name(name, where)
        _need(bool(ladder.steps), "a ladder needs at least one step", where)
        seen: set[str] = set()
        for j, step in enumerate(ladder.steps):
            at = f"{where}[{j}]"
            _check_new_name(step.id, seen, "step id", f"{at}.id")
            _check_step(step, at)
            _need(
                isinstance(step.offset, int) and not isinstance(step.offset, bool),
                "offset must be a whole number of days",
                f"{at}.offset",
            )


def _check_segments(policy: Policy) -> None:
    _need(bool(policy.segments), "a policy needs at least one segment", "segments")
    names: set[str] = set()
    last = len(policy.segments) - 1
    for i, seg in enumerate(policy.segments):
        where = f"segments[{i}]"
        _check_new_name(seg.name, names, "segment", f"{where}.name")
        if seg.condition is None:
            _need(
                i == last,
                f"segment {seg.name!r} has no condition, so the segments after it can never match",
                f"{where}.when",
            )
        if seg.pause:
            _need(
                not seg.ladder,
                "a paused segment takes no ladder (pause means no collection actions)",
                f"{where}.ladder",
            )
        else:
            _need(bool(seg.ladder), "needs a ladder (or pause: true)", f"{where}.ladder")
            _check_ladder_name(policy, seg.ladder, f"{where}.ladder")
    _need(
        policy.segments[last].condition is None,
        "the last segment must have no condition (a catch-all), so every account gets a segment",
        f"segments[{last}].when",
    )


def _check_jumps(policy: Policy) -> None:
    step_ids = {s.id for ladder in policy.ladders.values() for s in ladder.steps}
    paused = {s.name for s in policy.segments if s.pause}
    known = {s.name for s in policy.segments}
    seen: set[str] = set()
    for i, jump in enumerate(policy.jumps):
        where = f"jumps[{i}]"
        _check_new_name(jump.id, seen, "jump id", f"{where}.id")
        _need(jump.id not in step_ids, f"jump id {jump.id!r} is also a ladder step id", f"{where}.id")
        _check_step(jump.step, where)
        for j, name in enumerate(jump.segments):
            _need(
                name in known,
                f"unknown segment {name!r}{did_you_mean(name, known)}",
                f"{where}.segments[{j}]",
            )
            _need(
                name not in paused,
                f"segment {name!r} is paused: it takes no actions",
                f"{where}.segments[{j}]",
            )


def _check_experiments(policy: Policy) -> None:
    known = {s.name: s for s in policy.segments}
    names: set[str] = set()
    covered: set[str] = set()
    for i, exp in enumerate(policy.experiments):
        where = f"experiments[{i}]"
        _check_new_name(exp.name, names, "experiment", f"{where}.name")
        seg = known.get(exp.segment)
        _need(
            seg is not None,
            f"unknown segment {exp.segment!r}{did_you_mean(exp.segment, known)}",
            f"{where}.segment",
        )
        _need(
            seg is not None and not seg.pause,
            f"segment {exp.segment!r} is paused: nothing to test",
            f"{where}.segment",
        )
        _need(
            exp.segment not in covered,
            f"segment {exp.segment!r} already has an experiment",
            f"{where}.segment",
        )
        covered.add(exp.segment)
        _need(len(exp.arms) >= 2, "an experiment needs at least two arms", f"{where}.arms")
        arm_names: set[str] = set()
        for j, arm in enumerate(exp.arms):
            at = f"{where}.arms[{j}]"
            _check_new_name(arm.name, arm_names, "arm", f"{at}.name")
            _need(arm.weight_bp > 0, "weight must be positive", f"{at}.weight")
            _check_ladder_name(policy, arm.ladder, f"{at}.ladder")
        total = sum(a.weight_bp for a in exp.arms)
        _need(
            total == BASIS_POINTS,
            f"arm weights must add up to 100 (they add up to {total / 100:g})",
            f"{where}.arms",
        )
