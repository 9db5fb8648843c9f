"""Kept for the imports not yet moved: the one-attempt decision lives in arrears.domain.compliance.decision.

("engine" here was a fourth meaning of the word, besides the daily-run engines, the store's SQLAlchemy
engine and `engine.plan.engine()`; issue 13 item 5.) Import from `decision` in new code.
"""

from arrears.domain.compliance.decision import (
    ALLOW,
    BLOCKED,
    DEFER,
    HORIZON,
    HORIZON_RULE,
    MAX_STEPS,
    ComplianceDecision,
    candidate_zones,
    decide,
    make_facts,
    verdicts_at,
)

__all__ = [
    "ALLOW",
    "BLOCKED",
    "DEFER",
    "HORIZON",
    "HORIZON_RULE",
    "MAX_STEPS",
    "ComplianceDecision",
    "candidate_zones",
    "decide",
    "make_facts",
    "verdicts_at",
]
