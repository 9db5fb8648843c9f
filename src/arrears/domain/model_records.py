"""What the store keeps about risk models: registry entries, per-account scores and the lender's features."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One trained model: its file (path and content hash), what it predicts, when it learned, how it did."""

    id: str
    target: str
    family: str
    content_hash: str
    path: str
    created_at: datetime
    trained_from: date
    trained_to: date
    active: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    document: str = ""  # the model file's text


@dataclass(frozen=True, slots=True)
class AccountScore:
    """A model's probability for an account on a day, in basis points, with its top reason codes."""

    loan_id: str
    day: date
    target: str
    model_id: str
    score_bp: int
    reasons: str  # feature names, most weighty first, comma-separated


@dataclass(frozen=True, slots=True)
class LenderFeatureValue:
    """A lender-supplied feature value of a loan, holding from `as_of` on (internal integer: money in minor
    units, ratios in basis points, bools 0 / 1)."""

    loan_id: str
    name: str
    as_of: date
    type: str
    value: int
