"""The compliance engine: jurisdiction profiles as data and a pure `decide` over contact history.

`decide(profile, debtor, history, attempt)` is what the dispatcher calls, authoritatively, for one
attempt; `decide_batch` runs the same rules over a whole day's planned contacts for the daily run.
"""

from typing import TYPE_CHECKING, Any

from arrears.domain.compliance.decision import ALLOW, BLOCKED, DEFER, ComplianceDecision, decide
from arrears.domain.compliance.model import Approval, Attempt, ContactEvent, Debtor, LawFirm
from arrears.domain.compliance.profile import ComplianceProfile, ProfileSpec, RuleSpec, build_profile
from arrears.domain.compliance.rules import Verdict

if TYPE_CHECKING:
    from arrears.domain.compliance.batch import (
        BatchDecision,
        ContactSummary,
        PlannedContact,
        decide_batch,
        summarise,
    )

# The batch rules work over numpy arrays; they are loaded when first asked for, so that a command judging one
# attempt (or only reading a record) does not import numpy.
_BATCH = ("BatchDecision", "ContactSummary", "PlannedContact", "decide_batch", "summarise")


def __getattr__(name: str) -> Any:
    if name in _BATCH:
        from arrears.domain.compliance import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALLOW",
    "BLOCKED",
    "DEFER",
    "Approval",
    "Attempt",
    "BatchDecision",
    "ComplianceDecision",
    "ComplianceProfile",
    "ContactEvent",
    "ContactSummary",
    "Debtor",
    "LawFirm",
    "PlannedContact",
    "ProfileSpec",
    "RuleSpec",
    "Verdict",
    "build_profile",
    "decide",
    "decide_batch",
    "summarise",
]
