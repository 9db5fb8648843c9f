"""The compliance report: what was decided and contacted over a period, and a replay that finds violations.

Decisions come from the outbox (the daily run's and the dispatcher's statuses and rule ids), contacts from
contact_attempts. The replay judges every recorded contact of the period with the engine's rules, against the
attempts recorded before it (ordered by instant, then by record id: a dispatch batch shares one instant)
and the debtor's flags as recorded at that instant (time zone, opt-outs made before it, a lawyer's letter's
approval). Any attempt the engine would not allow is a violation: something bypassed the dispatcher, a
receipt changed an outcome the caps count, or a rule was tightened since.

Days are local days in the profile's first time zone (cn: Asia/Shanghai).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from arrears.domain.activity import ContactRecord
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.decision import BLOCKED, DEFER, candidate_zones, make_facts, verdicts_at
from arrears.domain.compliance.facts import debtor_for
from arrears.domain.compliance.model import Attempt, ContactEvent, LawFirm
from arrears.domain.compliance.profile import ComplianceProfile
from arrears.domain.errors import InputError
from arrears.domain.masking import mask_email, mask_name, mask_phone
from arrears.services.unit_of_work import UnitOfWork

# The longest window a shipped profile's caps look back over (dispatch reads the same span).
LOOKBACK_DAYS = 35
# Outbox statuses by what compliance decided: the rest (awaiting_approval, cancelled) were not judged.
DECISION_OF_STATUS = {
    "pending": "allowed",
    "sent": "allowed",
    "failed": "allowed",
    "dead": "allowed",
    "deferred": "deferred",
    "blocked": "blocked",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A recorded contact the engine would not have allowed."""

    decision: str  # defer | block
    rules: tuple[str, ...]
    loan_id: str
    borrower_id: str
    borrower: str | None  # masked name
    channel: str
    target: str | None  # masked address
    outcome: str
    at: datetime  # in the debtor's zone
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rules": list(self.rules),
            "loan_id": self.loan_id,
            "borrower_id": self.borrower_id,
            "borrower": self.borrower,
            "channel": self.channel,
            "target": self.target,
            "outcome": self.outcome,
            "at": self.at.isoformat(),
            "reasons": self.reasons,
        }


@dataclass
class ComplianceReport:
    """Counts of decisions and contacts over [start, end], and the replay's violations."""

    start: date
    end: date
    profile: str
    zone: str
    decisions: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    by_channel: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_rule: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    contacts_by_outcome: Counter[str] = field(default_factory=Counter)
    contacts_by_channel: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    replayed: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def contacts(self) -> int:
        return sum(self.contacts_by_outcome.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `arrears compliance report --json`."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "profile": self.profile,
            "zone": self.zone,
            "decisions": {k: self.decisions.get(k, 0) for k in ("allowed", "deferred", "blocked")},
            "outbox": {
                "by_status": dict(sorted(self.statuses.items())),
                "by_channel": {c: dict(sorted(n.items())) for c, n in sorted(self.by_channel.items())},
                "by_rule": {r: dict(sorted(n.items())) for r, n in sorted(self.by_rule.items())},
            },
            "contacts": {
                "total": self.contacts,
                "by_outcome": dict(sorted(self.contacts_by_outcome.items())),
                "by_channel": {
                    c: dict(sorted(n.items())) for c, n in sorted(self.contacts_by_channel.items())
                },
            },
            "replay": {
                "checked": self.replayed,
                "violations": [v.to_dict() for v in self.violations],
            },
        }


def mask_target(channel: str, target: str | None) -> str | None:
    """A contact's address as logs and views may show it (letters already carry a masked name)."""
    if not target:
        return target
    if channel == "email":
        return mask_email(target)
    if channel in ("letter", "lawyer_letter", "visit"):
        return target
    return mask_phone(target)


def compliance_report(
    uow: UnitOfWork,
    profile: ComplianceProfile,
    start: date,
    end: date,
    lender: Mapping[str, Any] | None = None,
) -> ComplianceReport:
    """Count the period's decisions and contacts and replay its contacts through the rules.

    `lender` (the channels configuration's lender section) names the law firm a lawyer's letter without
    its own was sent under, as the dispatcher does.
    """
    if end < start:
        raise InputError(f"--to {end} is before --from {start}", field="--to")
    tz_name = profile.unknown_timezones[0]
    tz = zone(tz_name)
    lo = datetime.combine(start, time(0), tz)
    hi = datetime.combine(end + timedelta(days=1), time(0), tz)
    report = ComplianceReport(start, end, profile.name, tz_name)

    for d in uow.activity.decisions(start, end):
        report.statuses[d.status] += d.count
        report.by_channel[d.channel][d.status] += d.count
        decided = DECISION_OF_STATUS.get(d.status)
        if decided:
            report.decisions[decided] += d.count
        if d.status in ("deferred", "blocked"):
            for rule in filter(None, d.rules.split(",")):
                report.by_rule[rule][d.status] += d.count

    in_period = uow.activity.contacts(lo, hi)
    for a in in_period:
        report.contacts_by_outcome[a.outcome] += 1
        report.contacts_by_channel[a.channel][a.outcome] += 1
    _replay(uow, profile, report, in_period, lo, hi, lender or {})
    return report


def _replay(
    uow: UnitOfWork,
    profile: ComplianceProfile,
    report: ComplianceReport,
    in_period: list[ContactRecord],
    lo: datetime,
    hi: datetime,
    lender: Mapping[str, Any],
) -> None:
    if not in_period:
        return
    borrower_ids = sorted({a.borrower_id for a in in_period})
    # notices whatever their age: sent once, a validation notice stays sent
    history = uow.activity.contact_history(borrower_ids, lo - timedelta(days=LOOKBACK_DAYS), hi)
    borrowers = uow.activity.borrowers(borrower_ids)
    flags = uow.flags.for_borrowers(borrower_ids)  # cleared ones too: each replay reads those in force then
    approvals = uow.activity.approvals([a.outbox_id for a in in_period if a.outbox_id is not None])
    default_firm = LawFirm(str(lender.get("law_firm", "")), bool(lender.get("law_firm_engaged", False)))

    for borrower_id in borrower_ids:
        borrower = borrowers.get(borrower_id)
        tz_name = (borrower.timezone if borrower else None) or None
        events: list[ContactEvent] = []
        for a in history.get(borrower_id, ()):
            event = a.event()
            if a.at >= lo:
                approval = approvals.get(a.outbox_id) if a.outbox_id is not None else None
                attempt = Attempt(
                    channel=a.channel,
                    at=a.at.astimezone(UTC),
                    target=a.target,
                    message_type=a.message_type or None,
                    debt=a.loan_id,
                    law_firm=LawFirm(approval.law_firm, default_firm.engaged)
                    if approval is not None and approval.law_firm
                    else default_firm,
                    approval=approval.approval if approval is not None else None,
                )
                debtor = debtor_for(
                    borrower_id,
                    (tz_name,) if tz_name else (),
                    flags.get(borrower_id, ()),
                    a.at,
                    a.at.astimezone(zone(tz_name or profile.unknown_timezones[0])).date(),
                    a.loan_id,
                )
                # The rules broken at the attempt's own instant (decide() would add those met on
                # the way to the next allowed instant, which were not broken).
                broken = verdicts_at(make_facts(profile, debtor, events), attempt)
                report.replayed += 1
                if broken:
                    report.violations.append(
                        Violation(
                            BLOCKED if any(v.effect == BLOCKED for v in broken) else DEFER,
                            tuple(dict.fromkeys(v.rule for v in broken)),
                            a.loan_id,
                            borrower_id,
                            mask_name(borrower.name) if borrower else None,
                            a.channel,
                            mask_target(a.channel, a.target),
                            a.outcome,
                            a.at.astimezone(zone(candidate_zones(profile, debtor)[0])),
                            [f"{v.rule}: {v.en}" for v in broken],
                        )
                    )
            events.append(event)
    report.violations.sort(key=lambda v: (v.at, v.loan_id))
