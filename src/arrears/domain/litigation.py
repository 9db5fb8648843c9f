"""Litigation as a case: its stages, in order, and what each does to the collection ladder.

    referred → filed → hearing → judgment → enforcement → closed

A case moves forward only (a stage may be skipped: a settlement before the hearing closes the case). While a
case is filed and until it closes, the court and the lawyers speak for the lender: the account's own ladder
is held (a `litigation` fact on the debt, which the compliance profiles' litigation hold reads, so the run
and the dispatcher block the ladder's contacts with the same rule id), and an outside agency may not hold it.
Referred: the lawyers prepare the claim, the ladder goes on. Closed: the hold ends.
"""

from __future__ import annotations

from collections.abc import Mapping

from arrears.domain.errors import InputError

STAGES = ("referred", "filed", "hearing", "judgment", "enforcement", "closed")
# What each stage does to the account's ladder: continue, hold (contacts blocked by the litigation hold).
LADDER_EFFECT: Mapping[str, str] = {
    "referred": "continue",
    "filed": "hold",
    "hearing": "hold",
    "judgment": "hold",
    "enforcement": "hold",
    "closed": "continue",
}
COST_KINDS = ("court_fee", "lawyer_fee", "service_fee", "enforcement_fee", "other")
LITIGATION_FLAG = "litigation"


def check_stage(name: str) -> str:
    if name not in STAGES:
        raise InputError(f"unknown stage {name!r} (one of {', '.join(STAGES)})", field="stage")
    return name


def check_move(current: str, new: str) -> None:
    """A case moves forward only; InputError naming the field otherwise."""
    check_stage(new)
    if current == "closed":
        raise InputError("the case is closed", field="stage")
    if STAGES.index(new) <= STAGES.index(current):
        raise InputError(f"a case at {current} cannot go to {new}: stages only move forward", field="stage")


def holds_ladder(stage: str) -> bool:
    """Whether the account's ladder is held at this stage."""
    return LADDER_EFFECT[check_stage(stage)] == "hold"


def check_cost_kind(kind: str) -> str:
    if kind not in COST_KINDS:
        raise InputError(f"unknown cost {kind!r} (one of {', '.join(COST_KINDS)})", field="kind")
    return kind
