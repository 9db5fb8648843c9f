"""No default secrets: what `arrears serve` and `arrears dispatch` check before they start.

The shipped configuration is an example: placeholder secrets (`change-me-…`) and a made-up lender
(示例消费金融, 示例律师事务所, 400-800-100x). Started for real with those, the API would accept tokens and
webhooks anyone can sign and dispatch would put a fictitious lender, law firm and hotline in front of
borrowers. So both commands refuse to start (bad input, exit 2, one line naming the setting) while a
required setting is missing, empty or still an example value — unless `--dev`, a development setup
bound to this machine: serve listens on loopback only, dispatch talks to channel peers on loopback only.

Required:
- serve: token_secret, webhook_secret, provider_secret (case-work config or ARREARS_*_SECRET) and the
  lender's identity (channels config `lender:` or ARREARS_LENDER_*): name, law_firm, hotline,
  dispute_contact, complaint_contact;
- dispatch: provider_secret (the providers sign the receipts, replies and IVR outcomes its messages
  bring back with it), the lender's identity (printed in every message), and no channel credential
  (email.password, sms.api_key, smpp.password, push / in_app / robocall api_key) left at a placeholder;
- both: the audit key (ARREARS_AUDIT_KEY or ARREARS_AUDIT_KEY_FILE, at least 32 characters): without it
  the audit chain would be keyed with the public development key, which anyone can recompute;
  and the personal-data keys (ARREARS_DATA_KEY_FILE, ARREARS_DATA_KEY or a KMS provider; docs/privacy.md):
  the development keys lie unprotected in the user's directory.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from arrears.adapters.casework_file import SECRET_ENV
from arrears.adapters.channels.config import DEFAULT_LENDER, ChannelsConfig
from arrears.adapters.crypto import provider as data_key_provider
from arrears.domain.errors import InputError
from arrears.services.audit_keys import KEY_ENV, KEY_FILE_ENV, MIN_KEY_CHARS, key_text, keyring
from arrears.services.cases import CaseworkConfig

SERVE_SECRETS = ("token_secret", "webhook_secret", "provider_secret")
DISPATCH_SECRETS = ("provider_secret",)
IDENTITY = ("name", "law_firm", "hotline", "dispute_contact", "complaint_contact")
# Channel credentials: optional (a gateway may allow by address), but never a placeholder.
CREDENTIALS = (
    ("email", "password"),
    ("sms", "api_key"),
    ("smpp", "password"),
    ("push", "api_key"),
    ("in_app", "api_key"),
    ("robocall", "api_key"),
)
# Where dispatch connects: with --dev every one must be on this machine.
ADDRESSES = (
    ("email", "host"),
    ("smpp", "host"),
    ("sms", "url"),
    ("sms", "batch_url"),
    ("push", "url"),
    ("in_app", "url"),
    ("robocall", "url"),
)
PLACEHOLDER_PREFIXES = ("change-me", "changeme", "change_me", "replace-me")
EXAMPLE_WORDS = ("示例", "example")  # 示例 = "example": the shipped lender, or an edit of it
NOT_SET = frozenset({"", "none", "null", "todo", "xxx"})
# The example values shipped in code and docs (docs/channels.md's channels.yaml, docs/api.md).
EXAMPLE_VALUES = frozenset(
    {str(DEFAULT_LENDER[k]) for k in IDENTITY}
    | {getattr(CaseworkConfig(), name) for name in SERVE_SECRETS}
    | {"key", "p", "pw", "u", "secret", "password", "…", "..."}
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
DEV_SERVE = (
    "development setup (--dev): example secrets, lender, development audit and data keys allowed, listening on "
    "loopback only — not for production"
)
DEV_DISPATCH = (
    "development setup (--dev): example secrets, lender, development audit and data keys allowed, channels on "
    "this machine only — not for production"
)
WHERE_SECRET = "the case-work config (--config FILE or ARREARS_CASEWORK_CONFIG) or {env}"
WHERE_LENDER = "channels.yaml `lender: {key}:` (--channels FILE or ARREARS_CHANNELS) or ARREARS_LENDER_{env}"
WHERE_CREDENTIAL = "channels.yaml `{section}: {key}:` or ARREARS_{env}"
WHERE_AUDIT_KEY = f"{KEY_ENV} or {KEY_FILE_ENV} (`arrears audit keygen` makes one)"
WHERE_DATA_KEY = "ARREARS_DATA_KEY_FILE (`arrears keys generate --file F` makes one) or ARREARS_DATA_KEY"


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting that keeps a command from starting for real."""

    setting: str  # as the configuration names it: token_secret, lender.name, sms.api_key
    reason: str  # "is not set", "is still the example's placeholder"
    where: str  # how to set it


def example_reason(value: Any) -> str | None:
    """Why a configured value cannot go to production (missing, empty, a placeholder), or None."""
    if value is None:
        return "is not set"
    text = str(value).strip()
    low = text.lower()
    if low in NOT_SET:
        return "is not set" if not text else f"is not set ({text!r})"
    if low.startswith(PLACEHOLDER_PREFIXES):
        return "is still a placeholder (change-me…)"
    if text in EXAMPLE_VALUES or low in EXAMPLE_VALUES:
        return f"is still the example's value {text!r}"
    if any(word in low for word in EXAMPLE_WORDS):
        return f"is still an example value {text!r}"
    return None


def secret_problems(casework: CaseworkConfig, names: Iterable[str]) -> list[Problem]:
    out = []
    for name in names:
        reason = example_reason(getattr(casework, name))
        if reason:
            out.append(Problem(name, reason, WHERE_SECRET.format(env=SECRET_ENV[name])))
    return out


def identity_problems(channels: ChannelsConfig) -> list[Problem]:
    out = []
    for key in IDENTITY:
        reason = example_reason(channels.lender.get(key))
        if reason:
            out.append(Problem(f"lender.{key}", reason, WHERE_LENDER.format(key=key, env=key.upper())))
    return out


def credential_problems(channels: ChannelsConfig) -> list[Problem]:
    """Channel credentials that are set but still a placeholder (an unset one is the provider's choice)."""
    out = []
    for section, key in CREDENTIALS:
        value = channels.section(section).get(key)
        if value is None or str(value) == "":
            continue
        reason = example_reason(value)
        if reason:
            env = f"{section}_{key}".upper()
            out.append(
                Problem(
                    f"{section}.{key}", reason, WHERE_CREDENTIAL.format(section=section, key=key, env=env)
                )
            )
    return out


def audit_key_problems(environ: Mapping[str, str] | None = None) -> list[Problem]:
    """The audit chain's key: set (not the development key), not a placeholder, long enough."""
    try:
        key = keyring(environ).current
    except InputError as err:
        return [Problem("audit_key", f"cannot be read ({err})", WHERE_AUDIT_KEY)]
    if key.development:
        return [
            Problem("audit_key", "is not set (the public development key would be used)", WHERE_AUDIT_KEY)
        ]
    reason = example_reason(key_text(key))
    if reason is None and len(key_text(key)) < MIN_KEY_CHARS:
        reason = f"is too short (at least {MIN_KEY_CHARS} characters)"
    return [Problem("audit_key", f"({key.source}) {reason}", WHERE_AUDIT_KEY)] if reason else []


def data_key_problems(environ: Mapping[str, str] | None = None) -> list[Problem]:
    """The personal-data keys: configured (not the development keys) and readable."""
    try:
        keys = data_key_provider(environ)
    except InputError as err:
        return [Problem("data_key", f"cannot be read ({err})", WHERE_DATA_KEY)]
    if keys.development:
        return [Problem("data_key", "is not set (the development keys would be used)", WHERE_DATA_KEY)]
    return []


def serve_problems(casework: CaseworkConfig, channels: ChannelsConfig) -> list[Problem]:
    return (
        secret_problems(casework, SERVE_SECRETS)
        + identity_problems(channels)
        + audit_key_problems()
        + data_key_problems()
    )


def dispatch_problems(casework: CaseworkConfig, channels: ChannelsConfig) -> list[Problem]:
    return (
        secret_problems(casework, DISPATCH_SECRETS)
        + identity_problems(channels)
        + credential_problems(channels)
        + audit_key_problems()
        + data_key_problems()
    )


def refuse(problems: Sequence[Problem]) -> None:
    """Bad input naming the first setting (and the others) in one line; nothing if all is set."""
    if not problems:
        return
    first, rest = problems[0], problems[1:]
    also = f"; also to set: {', '.join(p.setting for p in rest)}" if rest else ""
    raise InputError(
        f"refusing to start: {first.setting} {first.reason} — set it in {first.where}{also} "
        "(README: Configuration), or pass --dev for a development setup on 127.0.0.1"
    )


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_dev_host(host: str) -> None:
    """--dev serves this machine only."""
    if not is_loopback(host):
        raise InputError(
            f"--dev listens on loopback only (127.0.0.1, ::1, localhost), not {host!r}", field="--host"
        )


def remote_addresses(channels: ChannelsConfig) -> list[tuple[str, str]]:
    """(setting, address) of each configured channel peer that is not on this machine."""
    out = []
    for section, key in ADDRESSES:
        value = channels.section(section).get(key)
        if not value:
            continue
        text = str(value)
        host = urlsplit(text).hostname if "://" in text else text
        if not host or not is_loopback(host):
            out.append((f"{section}.{key}", text))
    return out


def check_dev_channels(channels: ChannelsConfig) -> None:
    """--dev dispatches to peers on this machine only (test servers), never to a real provider."""
    remote = remote_addresses(channels)
    if remote:
        setting, address = remote[0]
        raise InputError(
            f"--dev sends to channel peers on this machine only (127.0.0.1), not {address!r}", field=setting
        )


def serve_check(host: str, dev: bool, casework: CaseworkConfig, channels: ChannelsConfig) -> str | None:
    """Before `arrears serve`: the development line to print (--dev), or None; bad input otherwise."""
    if dev:
        check_dev_host(host)
        return DEV_SERVE
    refuse(serve_problems(casework, channels))
    return None


def dispatch_check(dev: bool, casework: CaseworkConfig, channels: ChannelsConfig) -> str | None:
    """Before `arrears dispatch`: the development line to print (--dev), or None; bad input otherwise."""
    if dev:
        check_dev_channels(channels)
        return DEV_DISPATCH
    refuse(dispatch_problems(casework, channels))
    return None


def unconfigured_summary(waiting: Mapping[str, int]) -> str:
    """ "sms (12 rows), email (3 rows)" for the rows left waiting on channels without an adapter."""
    return ", ".join(f"{name} ({n} row{'s' if n != 1 else ''})" for name, n in sorted(waiting.items()))
