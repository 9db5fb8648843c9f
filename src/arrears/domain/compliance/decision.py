"""`decide(profile, debtor, history, attempt)`: allow, defer to the exact next allowed instant, or block.

The decision on one attempt (the dispatcher's, authoritative); batch.py runs the same rules over a day's plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.model import Attempt, ContactEvent, Debtor
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.compliance.rules import BLOCK, Facts, Verdict, check

ALLOW, DEFER, BLOCKED = "allow", "defer", "block"
HORIZON = timedelta(days=400)  # beyond this a deferral is a block: no rule set waits a year and more
MAX_STEPS = 500
HORIZON_RULE = "engine.horizon"


@dataclass(frozen=True, slots=True)
class ComplianceDecision:
    """The verdict on one attempt: which rules decided, why (en / zh-CN), and when it may be made."""

    decision: str  # allow | defer | block
    rules: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    at: datetime
    next_allowed_at: datetime | None
    profile: str
    checked: tuple[str, ...]
    timezones: tuple[str, ...]
    # The instant each verdict was judged at (parallel to `verdicts`): the attempt's own, or a later instant
    # the search moved to because the rules before objected (a cap's next day can fall outside the hours).
    judged_at: tuple[datetime, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOW

    def reasons(self) -> dict[str, list[str]]:
        """Readable reasons, one per deciding rule, in English and Chinese."""
        return {
            "en": [f"{v.rule}: {v.en}" for v in self.verdicts],
            "zh-CN": [f"{v.rule}：{v.zh}" for v in self.verdicts],
        }

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of `arrears compliance check --json`."""
        tz = zone(self.timezones[0])
        return {
            "decision": self.decision,
            "rules": list(self.rules),
            "reasons": self.reasons(),
            "next_allowed_at": self.next_allowed_at.astimezone(tz).isoformat()
            if self.next_allowed_at
            else None,
            "at": self.at.isoformat(),
            "profile": self.profile,
            "timezones": list(self.timezones),
            "checked": list(self.checked),
            "details": [
                {
                    "rule": v.rule,
                    "effect": v.effect,
                    "until": v.until.astimezone(tz).isoformat() if v.until else None,
                    "en": v.en,
                    "zh-CN": v.zh,
                }
                for v in self.verdicts
            ],
        }


def candidate_zones(profile: ComplianceProfile, debtor: Debtor) -> tuple[str, ...]:
    """The debtor's candidate zones, or the profile's list when the zone is unknown."""
    return debtor.timezones or profile.unknown_timezones


def make_facts(profile: ComplianceProfile, debtor: Debtor, history: Iterable[ContactEvent]) -> Facts:
    """The sorted history and resolved zones every check reads."""
    zones: tuple[ZoneInfo, ...] = tuple(zone(z) for z in candidate_zones(profile, debtor))
    # Every instant is held in UTC: aware datetimes that share a ZoneInfo compare by wall clock, which
    # is wrong in the autumn hour that happens twice.
    events = sorted((replace(e, at=e.at.astimezone(UTC)) for e in history), key=lambda e: e.at)
    return Facts(profile, debtor, tuple(events), zones)


def verdicts_at(facts: Facts, attempt: Attempt) -> list[Verdict]:
    """Every rule's objection to the attempt at its own instant (empty: allowed then)."""
    out = []
    for rule in facts.profile.rules:
        verdict = check(rule, facts, attempt)
        if verdict is not None:
            out.append(verdict)
    return out


def decide(
    profile: ComplianceProfile, debtor: Debtor, history: Iterable[ContactEvent], attempt: Attempt
) -> ComplianceDecision:
    """Allow the attempt, defer it to the earliest instant every rule allows, or block it.

    The search starts at the attempt's instant and jumps to the latest `until` of the rules that object
    there; each rule's `until` is never past its own earliest allowed instant, so the first instant
    where nobody objects is the exact answer (bounded by HORIZON and MAX_STEPS).
    """
    if attempt.at.tzinfo is None or attempt.at.utcoffset() is None:
        raise ValueError("attempt.at must be timezone-aware")
    facts = make_facts(profile, debtor, history)
    names = candidate_zones(profile, debtor)
    asked = attempt
    attempt = attempt.moved_to(attempt.at.astimezone(UTC))
    checked = tuple(r.id for r in profile.rules)

    judged: dict[str, datetime] = {}

    def result(kind: str, verdicts: list[Verdict], when: datetime | None) -> ComplianceDecision:
        rules = tuple(dict.fromkeys(v.rule for v in verdicts))
        at = tuple(judged.get(v.rule, attempt.at) for v in verdicts)
        return ComplianceDecision(
            kind, rules, tuple(verdicts), asked.at, when, profile.name, checked, names, judged_at=at
        )

    first = verdicts_at(facts, attempt)
    judged.update((v.rule, attempt.at) for v in first)
    blocks = [v for v in first if v.effect == BLOCK]
    if blocks:
        return result(BLOCKED, blocks, None)
    if not first:
        return result(ALLOW, [], None)
    deciding: dict[str, Verdict] = {v.rule: v for v in first}
    current = first
    for _ in range(MAX_STEPS):
        candidate = max((v.until.astimezone(UTC) for v in current if v.until is not None), default=None)
        if candidate is None or candidate <= attempt.at or candidate - attempt.at > HORIZON:
            break
        current = verdicts_at(facts, attempt.moved_to(candidate))
        for v in current:
            judged.setdefault(v.rule, candidate)
        late_blocks = [v for v in current if v.effect == BLOCK]
        if late_blocks:
            for v in late_blocks:
                judged[v.rule] = candidate
            return result(BLOCKED, late_blocks, None)
        if not current:
            return result(DEFER, list(deciding.values()), candidate)
        for v in current:
            deciding.setdefault(v.rule, v)
    horizon = Verdict(
        HORIZON_RULE,
        BLOCK,
        None,
        f"no instant within {HORIZON.days} days satisfies every rule",
        f"{HORIZON.days} 天内没有满足全部规则的联系时间",
    )
    return result(BLOCKED, [*deciding.values(), horizon], None)
