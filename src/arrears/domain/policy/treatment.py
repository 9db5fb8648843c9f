"""What a policy decides for one account on one day, and why: the reference for every engine."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from arrears.domain.expressions import Expression
from arrears.domain.features import FeatureValue, format_feature_value
from arrears.domain.policy.model import BASIS_POINTS, Arm, Experiment, Policy, Step

ACTION_KINDS = ("step", "catch_up", "jump")  # the order actions are listed in


@dataclass(frozen=True, slots=True)
class Check:
    """A condition as explain shows it: the text, whether it held, and each elementary part."""

    name: str
    condition: str  # "" = no condition (always holds)
    held: bool
    parts: tuple[tuple[str, bool], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition,
            "held": self.held,
            "parts": [{"condition": text, "held": held} for text, held in self.parts],
        }


def check(name: str, condition: Expression | None, row: Mapping[str, FeatureValue]) -> Check:
    """Evaluate a condition (None = always) and record why."""
    if condition is None:
        return Check(name, "", True)
    return Check(name, condition.text, condition.holds(row), condition.trace(row))


@dataclass(frozen=True, slots=True)
class ScoreLine:
    label: str
    points: int
    check: Check


@dataclass(frozen=True, slots=True)
class Action:
    """A step due today: from the ladder on its day, late (catch_up), or a one-off jump."""

    kind: str  # step | catch_up | jump
    ladder: str  # "" for a jump
    step: Step
    position: int  # index in its ladder, or in the policy's jumps
    check: Check

    def to_dict(self) -> dict[str, Any]:
        s = self.step
        return {
            "kind": self.kind,
            "ladder": self.ladder,
            "step_id": s.id,
            "offset": s.offset,
            "channel": s.channel,
            "template": s.template,
            "tone": s.tone,
            "requires": list(s.requires),
            "catch_up": s.catch_up,
            "why": self.check.to_dict(),
        }


@dataclass(frozen=True)
class Treatment:
    """The decision for one account on one day. Strings are "" rather than null where nothing applies."""

    policy_id: str
    account_id: str
    features: Mapping[str, FeatureValue]  # as given, with ews_score and ews_level filled in
    ews_score: int
    ews_level: str
    ews_lines: tuple[ScoreLine, ...]
    segment: str
    segment_checks: tuple[Check, ...]  # the segments tried, in order; the last one matched
    paused: bool
    experiment: str
    arm: str
    ladder: str
    actions: tuple[Action, ...]

    @property
    def step(self) -> Step | None:
        """The first step due today, if any."""
        return self.actions[0].step if self.actions else None

    def to_dict(self, currency: str = "CNY") -> dict[str, Any]:
        """The shape of `arrears policy explain --json`; money as decimal strings, ratios as decimals."""
        return {
            "policy": self.policy_id,
            "account_id": self.account_id,
            "segment": self.segment,
            "paused": self.paused,
            "why": [c.to_dict() for c in self.segment_checks],
            "ews": {
                "score": self.ews_score,
                "level": self.ews_level,
                "lines": [
                    {"label": line.label, "points": line.points, **line.check.to_dict()}
                    for line in self.ews_lines
                ],
            },
            "experiment": self.experiment,
            "arm": self.arm,
            "ladder": self.ladder,
            "day_offset": self.features.get("day_offset"),
            "actions": [a.to_dict() for a in self.actions],
            "features": {name: format_feature_value(name, v, currency) for name, v in self.features.items()},
        }


def arm_bucket(experiment: str, account_id: str) -> int:
    """The account's place in an experiment, 0..9999: md5 of "experiment:account", first 8 hex digits.

    The same in SQL: md5() exists in DuckDB and Spark (see policy.sql.arm_bucket_sql).
    """
    digest = hashlib.md5(f"{experiment}:{account_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) % BASIS_POINTS


def assign_arm(experiment: Experiment, account_id: str) -> Arm:
    """The arm whose cumulative weight (basis points) first exceeds the account's bucket."""
    bucket = arm_bucket(experiment.name, account_id)
    cumulative = 0
    for arm in experiment.arms:
        cumulative += arm.weight_bp
        if bucket < cumulative:
            return arm
    return experiment.arms[-1]  # unreachable: weights add up to 10000


def decide(
    policy: Policy,
    account_id: str,
    features: Mapping[str, FeatureValue],
    history: Collection[str] = (),
) -> Treatment:
    """Segment, early-warning score, experiment arm and the steps due today for one account.

    `features` is a full feature row (the engines' internal representation); `history` holds the ids of
    the steps and jumps already sent in the current delinquency episode (since the oldest unpaid due
    date became what it is). A step is due when the ladder's offset equals day_offset, its condition
    holds and it is not in history; the latest missed catch_up steps are sent late; a jump fires once,
    the first day its condition holds. A paused segment gets nothing.
    """
    sent = frozenset(history)
    row = dict(features)
    ews = policy.early_warning
    lines = tuple(ScoreLine(r.label, r.points, check(r.label, r.condition, row)) for r in ews.rows)
    score = sum(line.points for line in lines if line.check.held)
    row["ews_score"], row["ews_level"] = score, ews.level(score)

    checks = []
    for segment in policy.segments:  # the last segment has no condition, so one always matches
        checks.append(check(segment.name, segment.condition, row))
        if checks[-1].held:
            break

    experiment, arm, ladder_name, actions = "", "", segment.ladder, []
    if not segment.pause:
        exp = policy.experiment_for(segment.name)
        if exp is not None:
            chosen = assign_arm(exp, account_id)
            experiment, arm, ladder_name = exp.name, chosen.name, chosen.ladder
        offset = int(row["day_offset"])
        steps = policy.ladders[ladder_name].steps
        for i, step in enumerate(steps):
            if step.offset == offset and step.id not in sent:
                c = check(step.id, step.condition, row)
                if c.held:
                    actions.append(Action("step", ladder_name, step, i, c))
        late = []
        for i, step in enumerate(steps):
            if step.catch_up and step.offset is not None and step.offset < offset and step.id not in sent:
                c = check(step.id, step.condition, row)
                if c.held:
                    late.append(Action("catch_up", ladder_name, step, i, c))
        if late:  # only the most recent missed day: earlier ones are superseded
            newest = max(a.step.offset or 0 for a in late)
            actions.extend(a for a in late if a.step.offset == newest)
        for i, jump in enumerate(policy.jumps):
            if (not jump.segments or segment.name in jump.segments) and jump.id not in sent:
                c = check(jump.id, jump.condition, row)
                if c.held:
                    actions.append(Action("jump", "", jump.step, i, c))

    return Treatment(
        policy_id=policy.id,
        account_id=account_id,
        features=row,
        ews_score=score,
        ews_level=str(row["ews_level"]),
        ews_lines=lines,
        segment=segment.name,
        segment_checks=tuple(checks),
        paused=segment.pause,
        experiment=experiment,
        arm=arm,
        ladder=ladder_name,
        actions=tuple(actions),
    )
