"""Policy files (YAML or JSON) → Policy. Every error names the file, the line and the field.

The shape is checked with pydantic (strict: a quoted "7" is not a day offset); the meaning — conditions,
ladders, segments, experiments — by the domain (arrears.domain.policy), whose field paths are turned
into lines with the document's line map.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from arrears.adapters.ledger_shapes import KEYS as LEDGER_KEYS
from arrears.adapters.ledger_shapes import LedgerShape
from arrears.adapters.shapes import Shape as _Shape
from arrears.adapters.shapes import keys_of, read_shape
from arrears.adapters.yamlfile import LocatedDocument, load_document
from arrears.domain.catalog import PRODUCTS
from arrears.domain.errors import InputError
from arrears.domain.expressions import Expression, ExpressionError, parse_condition
from arrears.domain.features import FeatureSchema
from arrears.domain.policy import (
    Arm,
    EarlyWarning,
    Experiment,
    Jump,
    Ladder,
    PointsRow,
    Policy,
    Segment,
    Step,
    policy_schema,
)
from arrears.domain.products import LedgerSettings

# `when: true` in YAML is a bool; a condition is kept as text either way
Condition = StrictStr | StrictBool


class StepShape(_Shape):
    id: StrictStr
    offset: StrictInt
    channel: StrictStr
    template: StrictStr
    tone: StrictStr
    when: Condition | None = None
    requires: list[StrictStr] = Field(default_factory=list)
    catch_up: StrictBool = False
    valid_for: int | None = Field(default=None, ge=1, le=366, strict=True)


class JumpStepShape(_Shape):
    channel: StrictStr
    template: StrictStr
    tone: StrictStr
    requires: list[StrictStr] = Field(default_factory=list)
    valid_for: int | None = Field(default=None, ge=1, le=366, strict=True)


class JumpShape(_Shape):
    id: StrictStr
    when: Condition
    segments: list[StrictStr] = Field(default_factory=list)
    step: JumpStepShape


class SegmentShape(_Shape):
    name: StrictStr
    description: StrictStr = ""
    when: Condition | None = None
    ladder: StrictStr | None = None
    pause: StrictBool = False


class PointsShape(_Shape):
    when: Condition
    points: StrictInt
    label: StrictStr | None = None


class LevelsShape(_Shape):
    medium: StrictInt = 30
    high: StrictInt = 60


class EarlyWarningShape(_Shape):
    points: list[PointsShape] = Field(default_factory=list)
    levels: LevelsShape = Field(default_factory=LevelsShape)


class ArmShape(_Shape):
    name: StrictStr
    weight: Any  # percent of the segment: 50 or 12.5
    ladder: StrictStr


class ExperimentShape(_Shape):
    name: StrictStr
    description: StrictStr = ""
    segment: StrictStr
    arms: list[ArmShape]


class PolicyShape(_Shape):
    name: StrictStr
    version: StrictStr | StrictInt
    description: StrictStr = ""
    compliance_profile: StrictStr = "cn"
    currency: StrictStr = "CNY"
    products: dict[StrictStr, LedgerShape | None] = Field(default_factory=dict)
    early_warning: EarlyWarningShape = Field(default_factory=EarlyWarningShape)
    segments: list[SegmentShape]
    ladders: dict[StrictStr, list[StepShape]]
    jumps: list[JumpShape] = Field(default_factory=list)
    experiments: list[ExperimentShape] = Field(default_factory=list)


_KEYS = LEDGER_KEYS + keys_of(
    StepShape,
    JumpShape,
    JumpStepShape,
    SegmentShape,
    PointsShape,
    LevelsShape,
    EarlyWarningShape,
    ArmShape,
    ExperimentShape,
    PolicyShape,
)


def _condition(value: str | bool, schema: FeatureSchema, where: str) -> Expression:
    text = ("true" if value else "false") if isinstance(value, bool) else value
    try:
        return parse_condition(text, schema)
    except ExpressionError as err:
        raise err.at(where) from None


def _weight_bp(value: object, where: str) -> int:
    """A weight in percent (50, 12.5) as basis points."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidOperation
        bp = Decimal(repr(value) if isinstance(value, float) else str(value)) * 100
    except InvalidOperation:
        raise InputError(
            f"weight must be a percentage such as 50 or 12.5, got {value!r}", field=where
        ) from None
    if not bp.is_finite() or bp != bp.to_integral_value():
        raise InputError(f"weight must have at most 2 decimals, got {value!r}", field=where)
    return int(bp)


def content_hash(data: object) -> str:
    """sha256 of the policy's content (key order and comments do not change it)."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def policy_from_data(data: object, source: str = "") -> Policy:
    """Build a Policy from parsed YAML / JSON; errors carry the field path (not yet the line)."""
    shape = read_shape(
        PolicyShape, data, _KEYS, "a policy file must be a mapping with name, version, segments and ladders"
    )

    products: dict[str, LedgerSettings] = {}
    for code, given in shape.products.items():
        base = PRODUCTS[code].settings if code in PRODUCTS else LedgerSettings(currency=shape.currency)
        products[code] = base if given is None else given.settings(base, path=f"products.{code}")
    schema = policy_schema(shape.currency, products)

    def ladder_step(s: StepShape, where: str) -> Step:
        condition = _condition(s.when, schema, f"{where}.when") if s.when is not None else None
        return Step(
            s.id,
            s.channel,
            s.template,
            s.tone,
            s.offset,
            condition,
            tuple(s.requires),
            s.catch_up,
            s.valid_for,
        )

    def jump_step(j: JumpShape) -> Step:
        return Step(
            j.id,
            j.step.channel,
            j.step.template,
            j.step.tone,
            requires=tuple(j.step.requires),
            valid_for=j.step.valid_for,
        )

    ews = shape.early_warning
    return Policy(
        name=shape.name,
        version=str(shape.version),
        description=shape.description,
        compliance_profile=shape.compliance_profile,
        currency=shape.currency,
        products=products,
        early_warning=EarlyWarning(
            rows=tuple(
                PointsRow(
                    _condition(p.when, schema, f"early_warning.points[{i}].when"),
                    p.points,
                    p.label or str(p.when),
                )
                for i, p in enumerate(ews.points)
            ),
            medium=ews.levels.medium,
            high=ews.levels.high,
        ),
        segments=tuple(
            Segment(
                name=s.name,
                description=s.description,
                condition=_condition(s.when, schema, f"segments[{i}].when") if s.when is not None else None,
                ladder=s.ladder or "",
                pause=s.pause,
            )
            for i, s in enumerate(shape.segments)
        ),
        ladders={
            name: Ladder(name, tuple(ladder_step(s, f"ladders.{name}[{j}]") for j, s in enumerate(steps)))
            for name, steps in shape.ladders.items()
        },
        jumps=tuple(
            Jump(
                step=jump_step(j),
                condition=_condition(j.when, schema, f"jumps[{i}].when"),
                segments=tuple(j.segments),
            )
            for i, j in enumerate(shape.jumps)
        ),
        experiments=tuple(
            Experiment(
                name=e.name,
                segment=e.segment,
                arms=tuple(
                    Arm(a.name, _weight_bp(a.weight, f"experiments[{i}].arms[{k}].weight"), a.ladder)
                    for k, a in enumerate(e.arms)
                ),
                description=e.description,
            )
            for i, e in enumerate(shape.experiments)
        ),
        content_hash=content_hash(data),
        source=source,
    )


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file; an InputError names the file and line of the first problem."""
    doc: LocatedDocument = load_document(path)
    try:
        return policy_from_data(doc.data, str(path))
    except InputError as err:
        raise doc.locate(err) from None
