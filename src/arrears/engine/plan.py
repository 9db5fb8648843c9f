"""Kept for the modules that still import it: the engines' output is arrears.engine.evaluation ("plan" is
also a repayment plan), and the engines by name are arrears.engine.evaluators.evaluator (`engine` here).
New code imports those."""

from __future__ import annotations

from arrears.engine.evaluation import (
    ACCIDENTAL,
    ACTION_SCHEMA,
    ASSIGNMENT_SCHEMA,
    HISTORY_SCHEMA,
    Evaluation,
    Evaluator,
    accidental_legal_actions,
    count_by,
    empty_history,
    kind_rank,
    normalise,
    sent_steps,
)
from arrears.engine.evaluators import evaluator as engine

EngineFn = Evaluator

__all__ = [
    "ACCIDENTAL",
    "ACTION_SCHEMA",
    "ASSIGNMENT_SCHEMA",
    "HISTORY_SCHEMA",
    "EngineFn",
    "Evaluation",
    "accidental_legal_actions",
    "count_by",
    "empty_history",
    "engine",
    "kind_rank",
    "normalise",
    "sent_steps",
]
