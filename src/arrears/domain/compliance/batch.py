"""The same rules over a whole day's planned contacts, for the daily run.

The daily run does not load every account's history: it counts, per account and per cap or cooldown
rule, the events that rule counts (in SQL, from the snapshot) and hands those summaries here.
`summarise` is the reference for those counts: the engine's SQL must give the same numbers.

History-independent rules (hours, quiet days, holds, opt-outs, third parties, notices, legal gate ...)
are judged once per distinct situation, not once per row, and the caps are compared as one NumPy
matrix. A deferral gets its exact next_allowed_at when only history-independent rules object; when a
cap or cooldown objects, the row is marked `needs_history` and the dispatcher's `decide` (which sees
the events) computes the instant. With a history wholly in the past, a cap that allows an attempt at
the planned instant allows it at any later instant too, which is what makes that split exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from arrears.domain.compliance.decision import (
    ALLOW,
    BLOCKED,
    DEFER,
    HORIZON,
    MAX_STEPS,
    ComplianceDecision,
    candidate_zones,
    make_facts,
)
from arrears.domain.compliance.model import Attempt, ContactEvent, Debtor
from arrears.domain.compliance.profile import CapRule, ComplianceProfile, CooldownRule
from arrears.domain.compliance.rules import (
    BLOCK,
    Facts,
    Verdict,
    cap_count,
    check,
    counts,
    gates,
    same_scope,
)


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """Per-rule facts about one account's history, as of the planned instant.

    counts: cap rule id → the largest number of counted events sharing a window with the attempt.
    last_event: cooldown rule id → the latest counted event at or before the attempt.
    notices: the notice events (validation / bureau notices) the notice rules read.
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    last_event: Mapping[str, ContactEvent] = field(default_factory=dict)
    notices: tuple[ContactEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """One row of the daily run: an account's planned attempt with its debtor and contact summary."""

    account_id: str
    debtor: Debtor
    attempt: Attempt
    summary: ContactSummary


@dataclass(frozen=True, slots=True)
class BatchDecision:
    """The decision on one planned contact; `needs_history` when only `decide` can date the deferral."""

    account_id: str
    decision: ComplianceDecision
    needs_history: bool


NOTICE_TYPES = frozenset({"validation_notice", "bureau_notice"})


def lookback(profile: ComplianceProfile) -> timedelta | None:
    """How far back a history must reach for every cap and cooldown of the profile (None: all of it).

    A calendar window of N days reaches N − 1 local days back; two days more cover the zone offsets. A
    lifetime cap that counts only third-party contacts needs no debtor history."""
    days = 1
    for rule in profile.rules:
        if isinstance(rule, CapRule):
            if rule.window.lifetime:
                if "debtor" in rule.counts.target_kinds:
                    return None
            elif rule.window.rolling is not None:
                days = max(days, rule.window.rolling.days + 1)
            else:
                days = max(days, rule.window.calendar_days)
        elif isinstance(rule, CooldownRule):
            days = max(days, rule.days)
    return timedelta(days=days + 2)


def summarise(
    profile: ComplianceProfile, debtor: Debtor, history: Sequence[ContactEvent], attempt: Attempt
) -> ContactSummary:
    """The reference summary of a history for one planned attempt (what the engine's SQL computes)."""
    facts = make_facts(profile, debtor, history)
    attempt = attempt.moved_to(attempt.at.astimezone(UTC))
    totals: dict[str, int] = {}
    last: dict[str, ContactEvent] = {}
    for rule in profile.rules:
        if isinstance(rule, CapRule):
            totals[rule.id] = max(cap_count(rule, facts, attempt, tz) for tz in facts.zones)
        elif isinstance(rule, CooldownRule):
            matching = [
                e
                for e in facts.history
                if counts(rule.after, e, debtor) and same_scope(rule.per, e, attempt) and e.at <= attempt.at
            ]
            if matching:
                last[rule.id] = max(matching, key=lambda e: e.at)
    notices = tuple(e for e in facts.history if e.message_type in NOTICE_TYPES)
    return ContactSummary(totals, last, notices)


def _static_key(row: PlannedContact) -> tuple[object, ...]:
    """Everything a history-independent rule reads. The target is reduced to "is it a work number"
    (only the workplace rule reads it); the debt id is read by no such rule."""
    a, d = row.attempt, row.debtor
    return (
        d.timezones, d.cease, d.opted_out, d.disputed, d.identity_theft, d.hardship, d.hardship_until,
        d.unreachable, d.validation_notice_sent_at, d.bureau_notice_sent_at, d.employer_prohibits_contact,
        d.time_barred, d.represented_by_attorney, d.deceased, d.bankruptcy, d.litigation, d.address_returned, a.target in d.work_numbers, a.channel, a.at, a.target_kind, a.message_type, a.kind,
        a.law_firm, a.approval, row.summary.notices,
    )  # fmt: skip


def _static_verdicts(facts: Facts, attempt: Attempt, history_rules: frozenset[str]) -> list[Verdict]:
    out = []
    for rule in facts.profile.rules:
        if rule.id in history_rules:
            continue
        verdict = check(rule, facts, attempt)
        if verdict is not None:
            out.append(verdict)
    return out


def _search(
    facts: Facts, attempt: Attempt, history_rules: frozenset[str]
) -> tuple[str, list[Verdict], datetime | None]:
    """`decide`'s search over the history-independent rules only."""
    attempt = attempt.moved_to(attempt.at.astimezone(UTC))
    first = _static_verdicts(facts, attempt, history_rules)
    blocks = [v for v in first if v.effect == BLOCK]
    if blocks:
        return BLOCKED, blocks, None
    if not first:
        return ALLOW, [], None
    deciding = {v.rule: v for v in first}
    current = first
    for _ in range(MAX_STEPS):
        candidate = max((v.until.astimezone(UTC) for v in current if v.until is not None), default=None)
        if candidate is None or candidate <= attempt.at or candidate - attempt.at > HORIZON:
            break
        current = _static_verdicts(facts, attempt.moved_to(candidate), history_rules)
        if any(v.effect == BLOCK for v in current):
            return BLOCKED, [v for v in current if v.effect == BLOCK], None
        if not current:
            return DEFER, list(deciding.values()), candidate
        for v in current:
            deciding.setdefault(v.rule, v)
    return BLOCKED, list(deciding.values()), None


def decide_batch(profile: ComplianceProfile, planned: Sequence[PlannedContact]) -> list[BatchDecision]:
    """Decide every planned contact with the same rules as `decide`, from summaries instead of histories."""
    caps = [r for r in profile.rules if isinstance(r, CapRule)]
    cooldowns = [r for r in profile.rules if isinstance(r, CooldownRule)]
    history_rules = frozenset(r.id for r in (*caps, *cooldowns))
    n = len(planned)
    # Cap matrix: a row objects to a cap when it is gated by it and its count has reached the maximum.
    counts = np.zeros((n, len(caps)), dtype=np.int64)
    gated = np.zeros((n, len(caps)), dtype=bool)
    maxima = np.array([c.max for c in caps], dtype=np.int64)
    for i, row in enumerate(planned):
        for j, cap in enumerate(caps):
            gated[i, j] = gates(cap.applies_to, row.attempt, row.debtor)
            counts[i, j] = row.summary.counts.get(cap.id, 0)
    reached = gated & (counts >= maxima) if caps else gated
    row_hit: np.ndarray = np.asarray(reached.any(axis=1), dtype=bool)
    any_hit = [bool(x) for x in row_hit] if caps else [False] * n
    static_cache: dict[tuple[object, ...], tuple[str, list[Verdict], datetime | None]] = {}
    out: list[BatchDecision] = []
    checked = tuple(r.id for r in profile.rules)
    for i, row in enumerate(planned):
        key = _static_key(row)
        hit: list[int] = np.flatnonzero(reached[i]).tolist() if any_hit[i] else []
        cooling = [
            (rule, row.summary.last_event[rule.id]) for rule in cooldowns if rule.id in row.summary.last_event
        ]
        # Facts are built only when a rule needs them: most rows hit the cache and no cap.
        facts = (
            make_facts(profile, row.debtor, row.summary.notices)
            if hit or cooling or key not in static_cache
            else None
        )
        if key not in static_cache:
            assert facts is not None
            static_cache[key] = _search(facts, row.attempt, history_rules)
        kind, static, when = static_cache[key]
        at_utc = row.attempt.moved_to(row.attempt.at.astimezone(UTC)) if facts is not None else row.attempt
        history_verdicts: list[Verdict] = []
        for j in hit:
            cap = caps[j]
            assert facts is not None
            verdict = check(cap, _capped_facts(facts, cap, row), at_utc)
            if verdict is not None:
                history_verdicts.append(replace(verdict, until=None))
        for rule, event in cooling:
            assert facts is not None
            verdict = check(
                rule, replace(facts, history=(replace(event, at=event.at.astimezone(UTC)),)), at_utc
            )
            if verdict is not None:
                history_verdicts.append(verdict)
        zones = candidate_zones(profile, row.debtor)
        if kind == BLOCKED:
            decision = ComplianceDecision(
                BLOCKED, _ids(static), tuple(static), row.attempt.at, None, profile.name, checked, zones
            )
            out.append(BatchDecision(row.account_id, decision, False))
            continue
        blocks = [v for v in history_verdicts if v.effect == BLOCK]
        if blocks:
            decision = ComplianceDecision(
                BLOCKED, _ids(blocks), tuple(blocks), row.attempt.at, None, profile.name, checked, zones
            )
            out.append(BatchDecision(row.account_id, decision, False))
        elif history_verdicts:
            verdicts = [*history_verdicts, *static]
            decision = ComplianceDecision(
                DEFER, _ids(verdicts), tuple(verdicts), row.attempt.at, None, profile.name, checked, zones
            )
            out.append(BatchDecision(row.account_id, decision, True))
        else:
            decision = ComplianceDecision(
                kind, _ids(static), tuple(static), row.attempt.at, when, profile.name, checked, zones
            )
            out.append(BatchDecision(row.account_id, decision, False))
    return out


def _ids(verdicts: Sequence[Verdict]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.rule for v in verdicts))


def _capped_facts(facts: Facts, cap: CapRule, row: PlannedContact) -> Facts:
    """Facts whose history reproduces the summary's count for one cap, so the cap's own check explains it."""
    count = row.summary.counts.get(cap.id, 0)
    filler = ContactEvent(
        channel=next(iter(sorted(cap.counts.channels))),
        at=row.attempt.at.astimezone(UTC),
        outcome=next(iter(sorted(cap.counts.outcomes))) if cap.counts.outcomes else "unknown",
        target=row.attempt.target
        if cap.counts.number_kind == "any"
        else next(iter(sorted(row.debtor.work_numbers)), ""),
        target_kind=next(iter(sorted(cap.counts.target_kinds))),
        debt=row.attempt.debt,
    )
    return replace(facts, history=tuple(filler for _ in range(count)))
