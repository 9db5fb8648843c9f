"""A borrower's compliance facts (cease, opt-outs, notices, holds ...) and the `Debtor` they make.

Facts are recorded one flag at a time, each with who set it, when, why and from where, and ended by a
clear that is recorded the same way. A flag may be limited to one channel (`--channel`), one debt
(`--debt`) or a last day (`--until`). `debtor_for` is the one place that turns the flags in force at an
instant into the `Debtor` every compliance decision reads: the daily run, the dispatcher, the API and the
history replay all call it, so the same facts give the same decision everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from arrears.domain.compliance.channels import CHANNEL_GROUPS, CHANNELS, expand_channels
from arrears.domain.compliance.model import Debtor
from arrears.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class FlagKind:
    """What a flag means and which of channel / debt / value / until it takes."""

    name: str
    en: str
    channel: str = "no"  # no | optional | required
    debt: bool = False  # may be limited to one debt
    value: str = ""  # what `value` holds, when the flag needs one ("" = none)
    until: bool = False


FLAG_KINDS: dict[str, FlagKind] = {
    k.name: k
    for k in (
        FlagKind("cease", "cease communication (all channels, or only --channel)", channel="optional"),
        FlagKind("opt_out", "opted out of a channel", channel="required"),
        FlagKind("consent", "consented to a channel (ends an earlier opt-out of it)", channel="required"),
        FlagKind("attorney", "represented by an attorney", value="the attorney's name or contact"),
        FlagKind("validation_notice", "validation notice sent", debt=True),
        FlagKind("bureau_notice", "credit-bureau notice sent", debt=True),
        FlagKind("work_number", "a number that rings at the workplace", value="the phone number"),
        FlagKind("employer_prohibits_contact", "the employer prohibits contact at work"),
        FlagKind("time_barred", "the debt is time-barred", debt=True),
        FlagKind("unreachable", "the debtor cannot be reached (third-party locate allowed)"),
        FlagKind("deceased", "the debtor is deceased"),
        FlagKind("bankruptcy", "in bankruptcy proceedings (automatic stay)"),
        FlagKind("dispute", "the debt is disputed", debt=True),
        FlagKind("identity_theft", "suspected identity theft", debt=True),
        FlagKind("hardship", "approved hardship hold", debt=True, until=True),
        FlagKind(
            "litigation",
            "a lawsuit is filed on the debt (the court process speaks)",
            debt=True,
            value="the case",
        ),
        FlagKind("address_returned", "letters to the postal address came back undelivered"),
        FlagKind(
            "preferred_hours",
            "contact only within these hours, local time (the debtor's choice)",
            value="HH:MM-HH:MM",
        ),
    )
}
FLAG_NAMES = tuple(FLAG_KINDS)


@dataclass(frozen=True, slots=True)
class BorrowerFlag:
    """One recorded fact about a borrower, in force from `effective_at` until cleared (or past `until`)."""

    borrower_id: str
    name: str
    effective_at: datetime
    channel: str = ""  # "" = every channel
    debt: str = ""  # "" = every debt of the borrower
    value: str = ""
    until: date | None = None  # last day in force (inclusive)
    set_by: str = ""
    reason: str = ""
    source: str = ""
    cleared_at: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        """Whether the flag was set by instant `at` and not yet cleared then."""
        return self.effective_at <= at and (self.cleared_at is None or self.cleared_at > at)

    def in_force_on(self, day: date) -> bool:
        """Whether `until` (a local calendar day) still covers `day`."""
        return self.until is None or day <= self.until

    def applies_to_debt(self, debt: str | None) -> bool:
        return not self.debt or debt is None or self.debt == debt


def check_flag(name: str, channel: str, debt: str, value: str, until: date | None) -> str:
    """Validate one flag's shape; returns the concrete channel (a group name is refused). Errors name the field."""
    kind = FLAG_KINDS.get(name)
    if kind is None:
        raise InputError(f"unknown flag {name!r} (known: {', '.join(FLAG_NAMES)})", field="flag")
    if channel:
        if kind.channel == "no":
            raise InputError(f"the {name} flag takes no channel", field="channel")
        if channel not in CHANNELS and channel not in CHANNEL_GROUPS:
            known = ", ".join(sorted(CHANNELS))
            raise InputError(f"unknown channel {channel!r} (known: {known})", field="channel")
    elif kind.channel == "required":
        raise InputError(f"the {name} flag needs a channel", field="channel")
    if debt and not kind.debt:
        raise InputError(f"the {name} flag is about the borrower, not one debt", field="debt")
    if kind.value and not value.strip():
        raise InputError(f"the {name} flag needs a value: {kind.value}", field="value")
    if until is not None and not kind.until:
        raise InputError(f"the {name} flag takes no end date", field="until")
    if name == "preferred_hours":
        parse_hours(value)
    return channel


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-12:00' → (09:00, 12:00), the first before the second (InputError naming the value otherwise)."""
    try:
        first, second = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise InputError("preferred hours look like 09:00-12:00", field="value") from None
    if not first < second:
        raise InputError("preferred hours must start before they end", field="value")
    return first, second


def _channels(flag: BorrowerFlag) -> frozenset[str]:
    return expand_channels([flag.channel], "channel")


def debtor_for(
    borrower_id: str,
    timezones: tuple[str, ...],
    flags: Sequence[BorrowerFlag],
    at: datetime,
    local_day: date,
    debt: str | None = None,
    *,
    disputed: bool = False,
    identity_theft: bool = False,
    hardship_until: date | None = None,
    hardship: bool = False,
    recorded: bool = False,
) -> Debtor:
    """The `Debtor` for a contact about `debt` at instant `at` (its local day `local_day`), from the flags.

    The keyword arguments add what the account's own records say (a dispute or hardship pause on the
    loan): a hold holds whichever of the two recorded it. Opt-outs and consents of one channel: the later
    one wins. A channel-limited cease is an opt-out of those channels. `recorded`: every fact recorded and
    not cleared by `at` counts, even one dated later (the dispatcher acts on what the store knows now;
    a replay of a past day passes False and sees only what was in force then).
    """
    if not flags and hardship_until is None:  # most debtors: no recorded fact (the fast path)
        return Debtor(
            id=borrower_id,
            timezones=timezones,
            disputed=disputed,
            identity_theft=identity_theft,
            hardship=hardship,
        )
    live = [
        f
        for f in flags
        if (f.cleared_at is None or f.cleared_at > at if recorded else f.in_force(at))
        and f.in_force_on(local_day)
        and f.applies_to_debt(debt)
    ]
    names = {f.name for f in live}
    opted: set[str] = set()
    latest: dict[str, tuple[datetime, str]] = {}
    for f in live:
        if f.name in ("opt_out", "consent"):
            for ch in _channels(f):
                if ch not in latest or f.effective_at >= latest[ch][0]:
                    latest[ch] = (f.effective_at, f.name)
        elif f.name == "cease" and f.channel:
            opted |= _channels(f)
    opted |= {ch for ch, (_, name) in latest.items() if name == "opt_out"}
    hardship_flags = [f for f in live if f.name == "hardship"]
    if hardship_flags:
        hardship = True
        ends = [f.until for f in hardship_flags]
        if any(e is None for e in ends):
            hardship_until = None
        else:
            flag_end = max(e for e in ends if e is not None)
            hardship_until = flag_end if hardship_until is None else max(hardship_until, flag_end)
    elif hardship_until is not None:
        hardship = True

    def first(name: str) -> datetime | None:
        found = [f.effective_at for f in live if f.name == name]
        return min(found) if found else None

    return Debtor(
        id=borrower_id,
        timezones=timezones,
        cease=any(f.name == "cease" and not f.channel for f in live),
        opted_out=frozenset(opted),
        disputed=disputed or "dispute" in names,
        identity_theft=identity_theft or "identity_theft" in names,
        hardship=hardship,
        hardship_until=hardship_until,
        unreachable="unreachable" in names,
        validation_notice_sent_at=first("validation_notice"),
        bureau_notice_sent_at=first("bureau_notice"),
        work_numbers=frozenset(f.value for f in live if f.name == "work_number"),
        employer_prohibits_contact="employer_prohibits_contact" in names,
        time_barred="time_barred" in names,
        represented_by_attorney="attorney" in names,
        deceased="deceased" in names,
        bankruptcy="bankruptcy" in names,
        litigation="litigation" in names,
        address_returned="address_returned" in names,
        preferred_hours=_preferred_hours(live),
    )


def _preferred_hours(live: Sequence[BorrowerFlag]) -> tuple[time, time] | None:
    """The debtor's latest preferred hours in force, if any."""
    chosen = [f for f in live if f.name == "preferred_hours"]
    return parse_hours(max(chosen, key=lambda f: f.effective_at).value) if chosen else None


def contact_address(channel: str, phone: str | None, email: str | None, postal: str) -> str:
    """Where an attempt on `channel` goes: the email address, the phone number, or (letters, visits) the
    postal identity. The run and the dispatcher address an attempt the same way, so per-number caps and
    the workplace rule see the same target at plan time and at send time."""
    if channel == "email":
        return email or ""
    if channel in ("sms", "robocall", "agent_call", "call", "freeze_line"):  # a line's freeze is told by SMS
        return phone or ""
    return postal
