"""The `compliance check` document: profile name, debtor, history and the attempt, from plain mappings.

Every error names its field path (`history[2].at`), so the adapter can add the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from arrears.domain.compliance.channels import CHANNELS, OUTCOMES, TARGET_KINDS, expand_channels
from arrears.domain.compliance.clock import zone
from arrears.domain.compliance.model import Approval, Attempt, ContactEvent, Debtor, LawFirm
from arrears.domain.errors import InputError

DOCUMENT_KEYS = {"profile", "debtor", "history", "attempt", "name", "note", "expect"}
DEBTOR_KEYS = {
    "id",
    "timezone",
    "timezones",
    "cease",
    "opted_out",
    "disputed",
    "identity_theft",
    "hardship",
    "hardship_until",
    "unreachable",
    "validation_notice_sent_at",
    "bureau_notice_sent_at",
    "work_numbers",
    "employer_prohibits_contact",
    "time_barred",
    "represented_by_attorney",
    "deceased",
    "bankruptcy",
}
EVENT_KEYS = {"channel", "at", "outcome", "target", "target_kind", "message_type", "debt", "note"}
ATTEMPT_KEYS = (EVENT_KEYS - {"outcome"}) | {"kind", "law_firm", "approval"}


@dataclass(frozen=True, slots=True)
class CheckDocument:
    """A parsed check request."""

    profile: str
    debtor: Debtor
    history: tuple[ContactEvent, ...]
    attempt: Attempt
    expect: Mapping[str, Any] | None = None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError("must be a mapping", field=where)
    return value


def _check_keys(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise InputError(f"unknown key(s): {', '.join(unknown)}", field=prefix + unknown[0])


def parse_instant(value: object, where: str) -> datetime:
    """An ISO 8601 instant with an offset ("2026-03-08T21:59:00-05:00" or "...Z"); naive times are refused."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        raise InputError(f"needs a time and an offset, not just a date: {value}", field=where)
    else:
        text = str(value).strip()
        try:
            at = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise InputError(f"not an ISO 8601 instant: {value!r}", field=where) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"needs a UTC offset (e.g. +08:00 or Z): {value!s}", field=where)
    return at


def _bool(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(f"must be true or false, got {value!r}", field=f"{where}.{key}")
    return value


def _str_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InputError("must be a list", field=where)
    return [str(v) for v in value]


def _word(raw: Mapping[str, Any], key: str, where: str, allowed: frozenset[str], default: str | None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise InputError("is required", field=f"{where}.{key}")
    text = str(value)
    if text not in allowed:
        raise InputError(
            f"unknown {key} {text!r} (known: {', '.join(sorted(allowed))})", field=f"{where}.{key}"
        )
    return text


def parse_debtor(raw: object, where: str = "debtor") -> Debtor:
    """The debtor's zone(s) and flags."""
    d = _mapping(raw if raw is not None else {}, where)
    _check_keys(d, DEBTOR_KEYS, where)
    zones: list[str] = []
    for key in ("timezone", "timezones"):
        for i, name in enumerate(_str_list(d.get(key), f"{where}.{key}")):
            try:
                zone(name)
            except InputError as err:
                raise InputError(
                    err.message, field=f"{where}.{key}" + (f"[{i}]" if key == "timezones" else "")
                ) from None
            if name not in zones:
                zones.append(name)
    until = d.get("hardship_until")
    if until is not None and not isinstance(until, date):
        try:
            until = date.fromisoformat(str(until))
        except ValueError:
            raise InputError(f"not a date (YYYY-MM-DD): {until!r}", field=f"{where}.hardship_until") from None
    if isinstance(until, datetime):
        until = until.date()
    opted = _str_list(d.get("opted_out"), f"{where}.opted_out")
    return Debtor(
        id=str(d.get("id", "debtor")),
        timezones=tuple(zones),
        cease=_bool(d, "cease", where),
        opted_out=expand_channels(opted, f"{where}.opted_out"),
        disputed=_bool(d, "disputed", where),
        identity_theft=_bool(d, "identity_theft", where),
        hardship=_bool(d, "hardship", where) or until is not None,
        hardship_until=until,
        unreachable=_bool(d, "unreachable", where),
        validation_notice_sent_at=(
            parse_instant(d["validation_notice_sent_at"], f"{where}.validation_notice_sent_at")
            if d.get("validation_notice_sent_at") is not None
            else None
        ),
        bureau_notice_sent_at=(
            parse_instant(d["bureau_notice_sent_at"], f"{where}.bureau_notice_sent_at")
            if d.get("bureau_notice_sent_at") is not None
            else None
        ),
        work_numbers=frozenset(_str_list(d.get("work_numbers"), f"{where}.work_numbers")),
        employer_prohibits_contact=_bool(d, "employer_prohibits_contact", where),
        time_barred=_bool(d, "time_barred", where),
        represented_by_attorney=_bool(d, "represented_by_attorney", where),
        deceased=_bool(d, "deceased", where),
        bankruptcy=_bool(d, "bankruptcy", where),
    )


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def parse_event(raw: object, where: str) -> ContactEvent:
    """One history entry: channel, at, outcome, target ..."""
    e = _mapping(raw, where)
    _check_keys(e, EVENT_KEYS, where)
    if e.get("at") is None:
        raise InputError("is required", field=f"{where}.at")
    return ContactEvent(
        channel=_word(e, "channel", where, CHANNELS, None),
        at=parse_instant(e["at"], f"{where}.at"),
        outcome=_word(e, "outcome", where, OUTCOMES, "unknown"),
        target=str(e.get("target") or ""),
        target_kind=_word(e, "target_kind", where, TARGET_KINDS, "debtor"),
        message_type=_opt_str(e, "message_type"),
        debt=_opt_str(e, "debt"),
    )


def parse_attempt(raw: object, where: str = "attempt") -> Attempt:
    """The attempt to judge, with the legal-document facts when it is a lawyer's letter."""
    a = _mapping(raw, where)
    _check_keys(a, ATTEMPT_KEYS, where)
    if a.get("at") is None:
        raise InputError("is required", field=f"{where}.at")
    firm = None
    if a.get("law_firm") is not None:
        f = a["law_firm"]
        if isinstance(f, str):
            firm = LawFirm(f, engaged=False)
        else:
            f = _mapping(f, f"{where}.law_firm")
            _check_keys(f, {"name", "engaged"}, f"{where}.law_firm")
            firm = LawFirm(str(f.get("name") or ""), _bool(f, "engaged", f"{where}.law_firm"))
    approval = None
    if a.get("approval") is not None:
        p = _mapping(a["approval"], f"{where}.approval")
        _check_keys(p, {"ref", "approved_by", "approved_at"}, f"{where}.approval")
        approval = Approval(
            str(p.get("ref") or ""),
            str(p.get("approved_by") or ""),
            parse_instant(p["approved_at"], f"{where}.approval.approved_at")
            if p.get("approved_at")
            else None,
        )
    channel = _word(a, "channel", where, CHANNELS, None)
    kind = a.get("kind")
    attempt = Attempt(
        channel=channel,
        at=parse_instant(a["at"], f"{where}.at"),
        target=str(a.get("target") or ""),
        target_kind=_word(a, "target_kind", where, TARGET_KINDS, "debtor"),
        message_type=_opt_str(a, "message_type") or ("lawyer_letter" if channel == "lawyer_letter" else None),
        debt=_opt_str(a, "debt"),
        law_firm=firm,
        approval=approval,
    )
    if kind is not None and str(kind) != attempt.kind:
        raise InputError(
            f"kind {kind!r} does not fit channel {channel!r} (a {attempt.kind})", field=f"{where}.kind"
        )
    return attempt


def parse_check_document(raw: object, default_profile: str = "cn") -> CheckDocument:
    """The whole check request; the profile defaults to `cn`."""
    doc = _mapping(raw, "")
    _check_keys(doc, DOCUMENT_KEYS, "")
    if "attempt" not in doc:
        raise InputError("is required", field="attempt")
    history = doc.get("history") or []
    if not isinstance(history, list):
        raise InputError("must be a list", field="history")
    expect = doc.get("expect")
    return CheckDocument(
        profile=str(doc.get("profile") or default_profile),
        debtor=parse_debtor(doc.get("debtor")),
        history=tuple(parse_event(item, f"history[{i}]") for i, item in enumerate(history)),
        attempt=parse_attempt(doc["attempt"]),
        expect=_mapping(expect, "expect") if expect is not None else None,
    )
