"""Collection strategies as data: the policy model, the per-account decision and its SQL."""

from arrears.domain.policy.model import (
    CHANNELS,
    TONES,
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
from arrears.domain.policy.sql import PolicySql, arm_bucket_sql
from arrears.domain.policy.treatment import Action, Check, Treatment, arm_bucket, assign_arm, decide

__all__ = [
    "CHANNELS",
    "TONES",
    "Action",
    "Arm",
    "Check",
    "EarlyWarning",
    "Experiment",
    "Jump",
    "Ladder",
    "PointsRow",
    "Policy",
    "PolicySql",
    "Segment",
    "Step",
    "Treatment",
    "arm_bucket",
    "arm_bucket_sql",
    "assign_arm",
    "decide",
    "policy_schema",
]
