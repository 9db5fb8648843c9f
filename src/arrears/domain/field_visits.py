"""Field visits (上门): who goes, when, and under which conditions.

A visit goes to the borrower's own postal address, never to a third party, and never to the workplace of
a borrower who asked not to be contacted there. It is planned inside the visit window of the field team
(default 09:00–18:00 local), cut to the hours the compliance profile allows in-person contact; a
profile may require two field agents and an audio recording (the cn profiles do, following the 2026
industry guideline on on-site collection), and then a visit's outcome is refused without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from arrears.domain.errors import InputError

VISIT_CHANNEL = "visit"
VISIT_MESSAGE_TYPE = "field_visit"
PLACES = ("home", "workplace")
# What a field agent reports → the contact outcome the compliance caps and KPIs count.
VISIT_OUTCOMES: Mapping[str, str] = {
    "met": "met",
    "promise_to_pay": "met",
    "paid": "met",
    "refused": "met",
    "not_home": "not_met",
    "moved": "not_met",
    "wrong_address": "not_met",
}


@dataclass(frozen=True, slots=True)
class VisitRules:
    """What a profile asks of a visit."""

    two_person: bool = False
    recording: bool = False
    window: tuple[time, time] = (time(9, 0), time(18, 0))


# The profiles' visit rules by profile name (a derived profile `extends` its base's rules).
PROFILE_RULES: Mapping[str, VisitRules] = {
    "cn": VisitRules(two_person=True, recording=True),
    "us-reg-f": VisitRules(),
}


def rules_for(profile_name: str, extends: str | None = None) -> VisitRules:
    """The visit rules of a profile: its own, else its base's, else none required."""
    for name in (profile_name, extends or ""):
        if name in PROFILE_RULES:
            return PROFILE_RULES[name]
    return VisitRules()


def visit_window(rules: VisitRules, allowed: tuple[time, time] | None) -> tuple[time, time]:
    """The local hours a visit may take place: the team's window cut to the profile's allowed hours."""
    start, end = rules.window
    if allowed is not None:
        start, end = max(start, allowed[0]), min(end, allowed[1])
    if start >= end:
        raise InputError("the profile's hours leave no time for a visit", field="window")
    return start, end


def team_for(region: str | None, teams: Mapping[str, str]) -> str:
    """The field team of a region (configured teams, else one team per region, else the central team)."""
    if region and region in teams:
        return teams[region]
    return f"field-{region}" if region else "field-central"


def check_report(
    rules: VisitRules,
    outcome: str,
    agents: tuple[str, ...],
    recording: str,
    place: str,
    avoid_workplace: bool,
) -> None:
    """A field agent's report, refused (InputError naming the field) when it breaks a rule."""
    if outcome not in VISIT_OUTCOMES:
        raise InputError(f"unknown outcome {outcome!r} (one of {', '.join(VISIT_OUTCOMES)})", field="outcome")
    if place not in PLACES:
        raise InputError(f"a visit is at {' or '.join(PLACES)}, not {place!r}", field="place")
    if place == "workplace" and avoid_workplace:
        raise InputError("the borrower asked not to be contacted at work: no visit there", field="place")
    if rules.two_person and len(set(agents)) < 2:
        raise InputError("the profile requires two field agents on a visit", field="agents")
    if not agents:
        raise InputError("name the field agent(s) who went", field="agents")
    if rules.recording and not recording.strip():
        raise InputError(
            "the profile requires an audio recording of the visit (its reference)", field="recording"
        )
