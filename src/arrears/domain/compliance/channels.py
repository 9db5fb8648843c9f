"""The words a compliance profile and a contact attempt are written in: channels, outcomes, targets.

Profiles name channel groups (`voice`, `electronic`, ...) so that a rule written for "calls" covers an
agent's call, a robocall and a plain `call` alike; `expand_channels` turns names into concrete channels.
"""

from __future__ import annotations

from collections.abc import Iterable

from arrears.domain.errors import InputError

VOICE = frozenset({"call", "agent_call", "robocall"})
ELECTRONIC = frozenset({"sms", "email", "push", "in_app"})
WRITTEN = frozenset({"letter", "lawyer_letter"})
IN_PERSON = frozenset({"visit"})
CONTACT_CHANNELS = VOICE | ELECTRONIC | WRITTEN | IN_PERSON
# Furnishing negative information to a credit bureau is not a contact but is gated all the same.
REPORT_CHANNELS = frozenset({"credit_bureau"})
CHANNELS = CONTACT_CHANNELS | REPORT_CHANNELS

CHANNEL_GROUPS: dict[str, frozenset[str]] = {
    "voice": VOICE,
    "electronic": ELECTRONIC,
    "written": WRITTEN,
    "in_person": IN_PERSON,
    "all": CONTACT_CHANNELS,
}

# What became of an attempt. `connected`: someone picked up; `conversation`: a right-party conversation
# about the debt (Reg F counts these for the 7-day quiet period).
VOICE_OUTCOMES = frozenset({"connected", "conversation", "no_answer", "busy", "voicemail", "failed"})
OUTCOMES = VOICE_OUTCOMES | frozenset(
    {"sent", "delivered", "read", "bounced", "returned", "met", "not_met", "unknown"}
)
# Outcomes that show a notice reached (or was handed to) the borrower.
NOTICE_OUTCOMES = frozenset({"sent", "delivered", "read", "conversation", "met"})

TARGET_KINDS = frozenset({"debtor", "third_party"})
NUMBER_KINDS = frozenset({"any", "work"})
SCOPES = ("number", "debt", "debtor")  # what a cap counts per: one phone number / one debt / the person

ATTEMPT_KINDS = frozenset({"contact", "credit_report"})


def expand_channels(names: Iterable[object], field: str) -> frozenset[str]:
    """Channel names and group names → the set of concrete channels; unknown names are bad input."""
    out: set[str] = set()
    for i, name in enumerate(names):
        text = str(name)
        if text in CHANNEL_GROUPS:
            out |= CHANNEL_GROUPS[text]
        elif text in CHANNELS:
            out.add(text)
        else:
            known = ", ".join(sorted(CHANNEL_GROUPS)) + "; " + ", ".join(sorted(CHANNELS))
            raise InputError(f"unknown channel {text!r} (known: {known})", field=f"{field}[{i}]")
    return frozenset(out)


def describe_channels(channels: frozenset[str]) -> str:
    """The shortest way to name a channel set: groups where a whole group is present."""
    if channels >= CONTACT_CHANNELS:
        rest = sorted(channels - CONTACT_CHANNELS)
        return ", ".join(["all", *rest])
    parts: list[str] = []
    left = set(channels)
    for group in ("voice", "electronic", "written", "in_person"):
        members = CHANNEL_GROUPS[group]
        if members <= left:
            parts.append(group)
            left -= members
    return ", ".join(parts + sorted(left))


def attempt_kind(channel: str) -> str:
    """`credit_report` for the bureau channel, `contact` for everything that reaches a person."""
    return "credit_report" if channel in REPORT_CHANNELS else "contact"
