"""How each kind of rule judges one attempt at one instant.

Every check returns None (this rule allows it), a block, or a deferral with `until`: an instant before
which this rule certainly does not allow the attempt, and at which it may. The engine moves the attempt
to the latest such instant and asks every rule again, so the first instant where no rule objects is
exact as long as every `until` is never later than the true earliest instant of its rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from arrears.domain.compliance.channels import NOTICE_OUTCOMES, describe_channels
from arrears.domain.compliance.clock import at_local_time, local_date, start_of_day
from arrears.domain.compliance.model import Attempt, ContactEvent, Debtor
from arrears.domain.compliance.profile import (
    CapRule,
    ComplianceProfile,
    CooldownRule,
    CreditReportRule,
    EventFilter,
    HoldRule,
    HoursRule,
    LegalDocumentRule,
    NoticeFirstRule,
    OptOutRule,
    QuietDaysRule,
    Rule,
    ThirdPartyRule,
    TimeBarredRule,
    WorkplaceRule,
)

BLOCK, DEFER = "block", "defer"
MICROSECOND = timedelta(microseconds=1)
UNKNOWN = "unknown"  # the outcome of an attempt whose provider status could not be read


@dataclass(frozen=True, slots=True)
class Verdict:
    """One rule's objection to an attempt, with its reason in English and Chinese."""

    rule: str
    effect: str  # block | defer
    until: datetime | None
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Facts:
    """What every check reads: the profile, the debtor, the history (sorted by time) and the zones."""

    profile: ComplianceProfile
    debtor: Debtor
    history: tuple[ContactEvent, ...]
    zones: tuple[ZoneInfo, ...]


def _fmt(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).isoformat(timespec="minutes")


# ------------------------------------------------------------------------------------ matching helpers
def gates(f: EventFilter, attempt: Attempt, debtor: Debtor) -> bool:
    """Whether a rule whose `applies_to` is `f` gates this attempt."""
    return (
        attempt.kind == "contact"
        and attempt.channel in f.channels
        and attempt.target_kind in f.target_kinds
        and (f.number_kind == "any" or attempt.target in debtor.work_numbers)
    )


def counts(f: EventFilter, event: ContactEvent, debtor: Debtor, *, cap: bool = False) -> bool:
    """Whether a past event is one the filter counts.

    For a cap (`cap=True`) an event whose outcome is `unknown` (a provider's status we could not read)
    counts whatever outcomes the cap counts: it may have been any of them, and a cap must never
    undercount. A cooldown starts only on an outcome that is known.
    """
    return (
        event.channel in f.channels
        and (f.outcomes is None or event.outcome in f.outcomes or (cap and event.outcome == UNKNOWN))
        and event.target_kind in f.target_kinds
        and (f.number_kind == "any" or event.target in debtor.work_numbers)
    )


def same_scope(per: str, event: ContactEvent, attempt: Attempt) -> bool:
    """Whether an event falls in the attempt's scope: its number, its debt, or anything for the debtor.

    An event or attempt without a debt id belongs to every debt (the cautious reading).
    """
    if per == "number":
        return event.target == attempt.target
    if per == "debt":
        return attempt.debt is None or event.debt is None or event.debt == attempt.debt
    return True


def counted_events(
    facts: Facts, f: EventFilter, per: str, attempt: Attempt, *, cap: bool = False
) -> list[datetime]:
    """The instants of the events a cap (`cap=True`) or cooldown counts for this attempt, in time order."""
    return [
        e.at for e in facts.history if counts(f, e, facts.debtor, cap=cap) and same_scope(per, e, attempt)
    ]


# ----------------------------------------------------------------------------------------------- hours
def check_hours(rule: HoursRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if attempt.kind != "contact" or attempt.channel not in rule.channels:
        return None
    start, end = rule.start, rule.end
    preferred = facts.debtor.preferred_hours
    if preferred is not None and max(start, preferred[0]) < min(end, preferred[1]):
        start, end = max(start, preferred[0]), min(end, preferred[1])  # the debtor's hours, within the rule's
    until: datetime | None = None
    bad_zone = facts.zones[0]
    for tz in facts.zones:
        local = attempt.at.astimezone(tz)
        clock = local.time().replace(tzinfo=None)
        if start <= clock < end:
            continue
        day = local.date() if clock < start else local.date() + timedelta(days=1)
        nxt = at_local_time(day, start, tz)
        if until is None or nxt > until:
            until, bad_zone = nxt, tz
    if until is None:
        return None
    local = attempt.at.astimezone(bad_zone)
    span = f"{start:%H:%M}–{end:%H:%M}"
    many = len(facts.zones) > 1
    return Verdict(
        rule.id,
        DEFER,
        until,
        f"outside contact hours {span} in {bad_zone.key} (local time {local:%H:%M})"
        + (" — the debtor's time zone is uncertain, so every candidate zone must allow it" if many else ""),
        f"不在允许联系时段 {span}（{bad_zone.key} 当地时间 {local:%H:%M}）"
        + ("；债务人时区不确定，须在所有候选时区均为允许时段" if many else ""),
    )


# ------------------------------------------------------------------------------------------ quiet days
@lru_cache(maxsize=64)
def calendar_holidays(calendar: str, year: int) -> frozenset[date]:
    """Public holidays of a country calendar in one year (from the `holidays` package)."""
    import holidays  # a large package: loaded when a rule first needs a calendar

    return frozenset(holidays.country_holidays(calendar, years=year).keys())


def is_quiet(rule: QuietDaysRule, day: date) -> bool:
    """Whether `day` is a quiet day under the rule."""
    return day in rule.dates or (
        rule.calendar is not None and day in calendar_holidays(rule.calendar, day.year)
    )


def check_quiet_days(rule: QuietDaysRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if not rule.enabled or attempt.kind != "contact" or attempt.channel not in rule.channels:
        return None
    until: datetime | None = None
    first_quiet: date | None = None
    for tz in facts.zones:
        day = local_date(attempt.at, tz)
        if not is_quiet(rule, day):
            continue
        first_quiet = first_quiet or day
        nxt = day + timedelta(days=1)
        for _ in range(400):  # bounded: a calendar never has a year of consecutive holidays
            if not is_quiet(rule, nxt):
                break
            nxt += timedelta(days=1)
        start = start_of_day(nxt, tz)
        if until is None or start > until:
            until = start
    if until is None:
        return None
    return Verdict(
        rule.id,
        DEFER,
        until,
        f"{first_quiet} is a quiet day (public holiday) for {describe_channels(rule.channels)}",
        f"{first_quiet} 为法定节假日等静默日，不得进行此类联系",
    )


# ------------------------------------------------------------------------------------------------ caps
def _calendar_window_max(per_day: Counter[date], n: int, day: date) -> int:
    """The largest count over the n-day windows that contain `day`."""
    best = 0
    for first in range(-(n - 1), 1):
        start = day + timedelta(days=first)
        best = max(best, sum(per_day[start + timedelta(days=k)] for k in range(n)))
    return best


def _rolling_window_max(times: Sequence[datetime], width: timedelta, at: datetime) -> int:
    """The largest count over the windows [s, s + width) that contain `at`."""
    near = [e for e in times if at - width < e < at + width]
    starts = [at - width + MICROSECOND, *(e for e in near if e <= at)]
    return max(sum(1 for e in near if s <= e < s + width) for s in starts) if near else 0


def cap_count(rule: CapRule, facts: Facts, attempt: Attempt, tz: ZoneInfo) -> int:
    """Counted events sharing a window with the attempt (the worst such window); zone used for calendar days."""
    times = counted_events(facts, rule.counts, rule.per, attempt, cap=True)
    if rule.window.lifetime:
        return len(times)
    if rule.window.rolling is not None:
        return _rolling_window_max(times, rule.window.rolling, attempt.at)
    per_day = Counter(local_date(t, tz) for t in times)
    return _calendar_window_max(per_day, rule.window.calendar_days, local_date(attempt.at, tz))


def _cap_reason(rule: CapRule, count: int) -> tuple[str, str]:
    if rule.interval:
        gap = rule.window.describe().replace(" rolling", "")
        gap_zh = rule.window.describe_zh().replace("滚动 ", "").replace("内", "")
        return (
            f"less than {gap} since another {rule.counts.describe()} (per {rule.per})",
            f"距上一次同类联系不足 {gap_zh}（按{_scope_zh(rule.per)}）",
        )
    return (
        f"cap reached: {count} of at most {rule.max} {rule.counts.describe()} per {rule.per}, {rule.window.describe()}",
        f"已达上限：{rule.window.describe_zh()}每{_scope_zh(rule.per)}最多 {rule.max} 次（{rule.counts.describe()}），已有 {count} 次",
    )


def _scope_zh(per: str) -> str:
    return {"number": "号码", "debt": "笔债务", "debtor": "债务人"}[per]


def check_cap(rule: CapRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if not gates(rule.applies_to, attempt, facts.debtor):
        return None
    times = counted_events(facts, rule.counts, rule.per, attempt, cap=True)
    if rule.window.lifetime:
        if len(times) < rule.max:
            return None
        en, zh = _cap_reason(rule, len(times))
        return Verdict(rule.id, BLOCK, None, en, zh)
    if rule.window.rolling is not None:
        width = rule.window.rolling
        count = _rolling_window_max(times, width, attempt.at)
        if count < rule.max:
            return None
        until = None
        for candidate in sorted({e + width for e in times if e + width > attempt.at}):
            if _rolling_window_max(times, width, candidate) < rule.max:
                until = candidate
                break
        en, zh = _cap_reason(rule, count)
        return Verdict(rule.id, DEFER, until, en, zh)
    n = rule.window.calendar_days
    worst = 0
    until_cal: datetime | None = None
    for tz in facts.zones:
        per_day = Counter(local_date(t, tz) for t in times)
        day = local_date(attempt.at, tz)
        count = _calendar_window_max(per_day, n, day)
        if count < rule.max:
            continue
        worst = max(worst, count)
        last = max(per_day) if per_day else day
        nxt = day + timedelta(days=1)
        while nxt <= last + timedelta(days=n) and _calendar_window_max(per_day, n, nxt) >= rule.max:
            nxt += timedelta(days=1)
        start = start_of_day(nxt, tz)
        if until_cal is None or start > until_cal:
            until_cal = start
    if until_cal is None:
        return None
    en, zh = _cap_reason(rule, worst)
    return Verdict(rule.id, DEFER, until_cal, en, zh)


# ------------------------------------------------------------------------------------------- cooldowns
def check_cooldown(rule: CooldownRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if not gates(rule.applies_to, attempt, facts.debtor):
        return None
    past = [t for t in counted_events(facts, rule.after, rule.per, attempt) if t <= attempt.at]
    if not past:
        return None
    until: datetime | None = None
    for tz in facts.zones:
        day = local_date(attempt.at, tz)
        last_day = max(local_date(t, tz) for t in past)
        if day <= last_day + timedelta(days=rule.days - 1):
            start = start_of_day(last_day + timedelta(days=rule.days), tz)
            if until is None or start > until:
                until = start
    if until is None:
        return None
    last = max(past)
    tz0 = facts.zones[0]
    return Verdict(
        rule.id,
        DEFER,
        until,
        f"within {rule.days} days after a {rule.after.describe()} on {_fmt(last, tz0)[:10]} (that day is day one)",
        f"距 {_fmt(last, tz0)[:10]} 的联系（{rule.after.describe()}）不足 {rule.days} 天（当天计为第一天）",
    )


# ----------------------------------------------------------------------------------------------- holds
HOLD_TEXT = {
    "cease": ("the debtor asked to cease communication", "债务人已要求停止联系"),
    "disputed": (
        "the debt is disputed: collection is on hold until the dispute is resolved",
        "债务存在异议，处理完毕前暂停催收",
    ),
    "identity_theft": ("suspected identity theft: collection is on hold", "疑似身份冒用，暂停催收"),
    "hardship": ("an approved hardship plan holds collection contact", "已批准困难还款计划，暂停催收联系"),
    "represented_by_attorney": (
        "the debtor is represented by an attorney: contact the attorney, not the debtor",
        "债务人已委托律师：应联系其律师，不得直接联系债务人",
    ),
    "deceased": ("the debtor is deceased: no collection contact", "债务人已故，停止催收联系"),
    "bankruptcy": (
        "the debtor is in bankruptcy proceedings: collection is stayed",
        "债务人处于破产程序中，暂停催收",
    ),
    "litigation": (
        "a lawsuit is filed on the debt: the court process replaces the collection ladder",
        "该债务已进入诉讼程序，暂停常规催收",
    ),
    "address_returned": (
        "letters to this postal address came back undelivered: no letter until the address is updated",
        "寄往该地址的信函被退回，更新地址前不再寄送信函",
    ),
}


def check_hold(rule: HoldRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if attempt.kind not in rule.kinds or attempt.message_type in rule.exempt_message_types:
        return None
    if rule.channels is not None and attempt.channel not in rule.channels:
        return None
    debtor = facts.debtor
    if not bool(getattr(debtor, rule.flag)):
        return None
    en, zh = HOLD_TEXT[rule.flag]
    if rule.flag == "hardship" and debtor.hardship_until is not None:
        until: datetime | None = None
        for tz in facts.zones:
            if local_date(attempt.at, tz) <= debtor.hardship_until:
                start = start_of_day(debtor.hardship_until + timedelta(days=1), tz)
                until = start if until is None or start > until else until
        if until is None:
            return None
        return Verdict(
            rule.id,
            DEFER,
            until,
            f"{en} through {debtor.hardship_until}",
            f"{zh}（至 {debtor.hardship_until}）",
        )
    return Verdict(rule.id, BLOCK, None, en, zh)


def check_opt_out(rule: OptOutRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if (
        attempt.kind != "contact"
        or attempt.target_kind != "debtor"
        or attempt.channel not in facts.debtor.opted_out
        or attempt.message_type in rule.exempt_message_types
    ):
        return None
    return Verdict(
        rule.id,
        BLOCK,
        None,
        f"the debtor opted out of {attempt.channel}",
        f"债务人已退订 {attempt.channel} 渠道",
    )


def check_third_party(rule: ThirdPartyRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if attempt.target_kind != "third_party":
        return None
    if rule.require_unreachable and not facts.debtor.unreachable:
        return Verdict(
            rule.id,
            BLOCK,
            None,
            "third parties may be contacted only while the debtor cannot be reached",
            "仅在无法联系到债务人本人时方可联系第三方",
        )
    if attempt.message_type not in rule.message_types:
        allowed = ", ".join(sorted(rule.message_types))
        return Verdict(
            rule.id,
            BLOCK,
            None,
            f"a third party may receive only content that discloses no debt ({allowed}), not {attempt.message_type or 'an unspecified message'}",
            f"对第三方只能发送不披露债务信息的内容（{allowed}），不得发送 {attempt.message_type or '未声明类型的消息'}",
        )
    return None


# --------------------------------------------------------------------------------------------- notices
NOTICE_FIELDS = {
    "validation_notice": "validation_notice_sent_at",
    "bureau_notice": "bureau_notice_sent_at",
}


def notice_instants(facts: Facts, types: frozenset[str]) -> list[datetime]:
    """When notices of these types were sent: the debtor's recorded instants plus sent/delivered history."""
    out: list[datetime] = []
    for kind, attr in NOTICE_FIELDS.items():
        value = getattr(facts.debtor, attr)
        if kind in types and value is not None:
            out.append(value)
    out.extend(e.at for e in facts.history if e.message_type in types and e.outcome in NOTICE_OUTCOMES)
    return sorted(t.astimezone(UTC) for t in out)


def check_notice_first(rule: NoticeFirstRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if (
        attempt.kind != "contact"
        or attempt.target_kind != "debtor"
        or attempt.message_type in rule.notice_message_types
        or attempt.message_type in rule.exempt_message_types
    ):
        return None
    sent = notice_instants(facts, rule.notice_message_types)
    names = "/".join(sorted(rule.notice_message_types))
    if not sent:
        return Verdict(
            rule.id,
            BLOCK,
            None,
            f"send the {names} before other collection contact",
            f"须先发送{names}，方可进行其他催收联系",
        )
    if sent[0] <= attempt.at:
        return None
    return Verdict(
        rule.id,
        DEFER,
        sent[0],
        f"the {names} is sent only at {_fmt(sent[0], facts.zones[0])}",
        f"{names} 于 {_fmt(sent[0], facts.zones[0])} 才发出",
    )


def check_credit_report(rule: CreditReportRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if attempt.kind != "credit_report":
        return None
    sent = notice_instants(facts, rule.notice_message_types)
    names = "/".join(sorted(rule.notice_message_types))
    if not sent:
        return Verdict(
            rule.id,
            BLOCK,
            None,
            f"the borrower has not been notified ({names}) before negative credit reporting",
            f"报送不良信息前未告知借款人（{names}）",
        )
    first = sent[0]
    allowed = max(start_of_day(local_date(first, tz) + timedelta(days=rule.days), tz) for tz in facts.zones)
    if attempt.at >= allowed:
        return None
    return Verdict(
        rule.id,
        DEFER,
        allowed,
        f"negative reporting only {rule.days} days after the notice of {_fmt(first, facts.zones[0])[:10]}",
        f"须在 {_fmt(first, facts.zones[0])[:10]} 告知后满 {rule.days} 天方可报送不良信息",
    )


def check_legal_document(rule: LegalDocumentRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if attempt.message_type not in rule.message_types and attempt.channel not in rule.message_types:
        return None
    problems_en: list[str] = []
    problems_zh: list[str] = []
    firm = attempt.law_firm
    if rule.require_engaged_firm and (firm is None or not firm.name.strip()):
        problems_en.append("no law firm is named")
        problems_zh.append("未列明律师事务所")
    elif rule.require_engaged_firm and firm is not None and not firm.engaged:
        problems_en.append(f"law firm {firm.name} is not engaged")
        problems_zh.append(f"律师事务所 {firm.name} 未正式委托")
    approval = attempt.approval
    if rule.require_approval and (
        approval is None or not approval.ref.strip() or not approval.approved_by.strip()
    ):
        problems_en.append("no approval record (reference and approver)")
        problems_zh.append("缺少审批记录（编号及审批人）")
    if problems_en:
        return Verdict(
            rule.id,
            BLOCK,
            None,
            "legal document gate: " + "; ".join(problems_en),
            "法律文书校验未通过：" + "；".join(problems_zh),
        )
    if (
        rule.require_approval
        and approval is not None
        and approval.approved_at
        and approval.approved_at > attempt.at
    ):
        when = _fmt(approval.approved_at, facts.zones[0])
        return Verdict(
            rule.id,
            DEFER,
            approval.approved_at.astimezone(UTC),
            f"approved only at {when}",
            f"审批时间为 {when}",
        )
    return None


def check_workplace(rule: WorkplaceRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    debtor = facts.debtor
    if (
        attempt.kind != "contact"
        or not debtor.employer_prohibits_contact
        or attempt.target not in debtor.work_numbers
        or attempt.channel not in rule.channels
    ):
        return None
    return Verdict(
        rule.id,
        BLOCK,
        None,
        "the debtor's employer prohibits contact at work",
        "债务人单位禁止在工作场所联系",
    )


def check_time_barred(rule: TimeBarredRule, facts: Facts, attempt: Attempt) -> Verdict | None:
    if not facts.debtor.time_barred or attempt.message_type not in rule.message_types:
        return None
    return Verdict(
        rule.id,
        BLOCK,
        None,
        "the debt is time-barred: no suit or threat of suit",
        "债务已过诉讼时效：不得起诉或以诉讼相威胁",
    )


CHECKS: dict[type[Rule], Callable[[Any, Facts, Attempt], Verdict | None]] = {
    HoursRule: check_hours,
    QuietDaysRule: check_quiet_days,
    CapRule: check_cap,
    CooldownRule: check_cooldown,
    HoldRule: check_hold,
    OptOutRule: check_opt_out,
    ThirdPartyRule: check_third_party,
    NoticeFirstRule: check_notice_first,
    CreditReportRule: check_credit_report,
    LegalDocumentRule: check_legal_document,
    WorkplaceRule: check_workplace,
    TimeBarredRule: check_time_barred,
}


def check(rule: Rule, facts: Facts, attempt: Attempt) -> Verdict | None:
    """Judge one attempt at its instant by one rule."""
    return CHECKS[type(rule)](rule, facts, attempt)
