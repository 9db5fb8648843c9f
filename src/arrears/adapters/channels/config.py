"""Channel and lender configuration: `channels.yaml` (ARREARS_CHANNELS names another file), then
environment variables `ARREARS_<SECTION>_<KEY>` (e.g. ARREARS_EMAIL_HOST, ARREARS_SMS_URL), then defaults.

A channel section without its address (email.host, sms.url or smpp.host, push.url, robocall.url) is not
configured: dispatch leaves that channel's rows waiting (status failed, retried) rather than guessing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arrears.adapters.channels import Channel, RateLimited, TokenBucket
from arrears.adapters.channels.config_shapes import SECTION_SHAPES, checked_section
from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError
from arrears.services.channels import close_channels as close_channels  # re-exported: the port's helper

CONFIG_ENV = "ARREARS_CHANNELS"
DEFAULT_FILE = "channels.yaml"
SECTIONS = tuple(SECTION_SHAPES)  # lender, retry, the channels, rate_limits, events

DEFAULT_LENDER: dict[str, Any] = {
    "name": "示例消费金融",
    "hotline": "400-800-1000",
    "dispute_contact": "400-800-1001",
    "complaint_contact": "400-800-1002",
    "pay_link": "https://pay.example.cn/r/{loan_id}",
    "contract_clause": {"zh-CN": "第8.2条", "zh-TW": "第8.2條", "en": "clause 8.2"},
    "law_firm": "示例律师事务所",
    "law_firm_engaged": True,
    "bureau_name": "中国人民银行征信中心",
    "agency_name": "示例催收服务有限公司",
    "agency_contact": "400-800-2000",
    "plan_instalments": 3,
}
DEFAULT_RETRY: dict[str, Any] = {"max_attempts": 5, "base_seconds": 60, "max_seconds": 3600, "jitter": 0.5}


@dataclass(frozen=True)
class ChannelsConfig:
    """Everything dispatch needs to know about the outside world."""

    lender: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_LENDER))
    retry: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "defaults"

    def section(self, name: str) -> dict[str, Any]:
        return self.sections.get(name, {})

    def contract_clause(self, language: str) -> str:
        clause = self.lender["contract_clause"]
        if isinstance(clause, dict):
            return str(clause.get(language) or clause.get("zh-CN") or next(iter(clause.values())))
        return str(clause)


def _env_overrides(sections: dict[str, dict[str, Any]], environ: dict[str, str]) -> None:
    """ARREARS_<SECTION>_<KEY> over the file's value, checked by the section's shape (an error names the
    variable); a variable naming no key of its section is not ours and is left alone."""
    given: dict[str, dict[str, str]] = {}
    for variable, value in environ.items():
        if not variable.startswith("ARREARS_") or variable == CONFIG_ENV:
            continue
        rest = variable[len("ARREARS_") :].lower()
        for section in sorted(SECTIONS, key=len, reverse=True):  # in_app before a shorter prefix
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                shape = SECTION_SHAPES[section]
                if key in shape.model_fields or shape.model_config.get("extra") == "allow":
                    sections.setdefault(section, {})[key] = value
                    given.setdefault(section, {})[key] = variable
                break
    for section, where in given.items():
        sections[section] = checked_section(section, sections[section], where=where)


def load_channels_config(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> ChannelsConfig:
    """Read the file (if any), apply environment overrides, fill defaults; unknown sections are bad input."""
    env = dict(os.environ if environ is None else environ)
    chosen = Path(path) if path else Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else Path(DEFAULT_FILE)
    sections: dict[str, dict[str, Any]] = {}
    source = "defaults"
    if chosen.exists():
        doc = load_document(chosen)
        data = doc.data or {}
        if not isinstance(data, dict):
            raise InputError("channels file must be a mapping", file=str(chosen), line=1)
        for name, value in data.items():
            if name not in SECTIONS:
                raise doc.locate(
                    InputError(f"unknown section {name!r} (known: {', '.join(SECTIONS)})", field=str(name))
                )
            if not isinstance(value, dict):
                raise doc.locate(InputError("must be a mapping", field=str(name)))
            try:
                sections[str(name)] = checked_section(str(name), dict(value))
            except InputError as err:
                raise doc.locate(err) from None
        source = str(chosen)
    elif path:
        raise InputError("channels file not found", file=str(chosen))
    _env_overrides(sections, env)
    lender = {**DEFAULT_LENDER, **sections.pop("lender", {})}
    retry = {**DEFAULT_RETRY, **sections.pop("retry", {})}
    for key in ("max_attempts", "base_seconds", "max_seconds"):
        try:
            retry[key] = int(retry[key])
        except (TypeError, ValueError):
            raise InputError(f"must be a whole number, got {retry[key]!r}", field=f"retry.{key}") from None
    retry["jitter"] = float(retry["jitter"])
    if isinstance(lender.get("law_firm_engaged"), str):
        lender["law_firm_engaged"] = lender["law_firm_engaged"].lower() in {"1", "true", "yes"}
    return ChannelsConfig(lender, retry, sections, source)


def _int(section: dict[str, Any], key: str, default: int) -> int:
    return int(section.get(key, default))


def build_channels(config: ChannelsConfig) -> dict[str, Channel]:
    """The configured channels by the policy's channel name (sms, email, push, in_app, robocall,
    lawyer_letter, letter, credit_bureau_notice, agent_call, agency, litigation), rate-limited as configured."""
    from arrears.adapters.channels.agent_tasks import AgentTaskChannel
    from arrears.adapters.channels.email import SmtpChannel
    from arrears.adapters.channels.http import HttpSmsChannel, IvrChannel, WebhookChannel
    from arrears.adapters.channels.letters import PdfLetterChannel
    from arrears.adapters.channels.smpp import SmppChannel

    out: dict[str, Channel] = {}
    email = config.section("email")
    if email.get("host"):
        out["email"] = SmtpChannel(
            str(email["host"]),
            _int(email, "port", 25),
            str(email.get("sender", "noreply@example.cn")),
            str(email.get("sender_name", config.lender["name"])),
            starttls=str(email.get("starttls", "false")).lower() in {"1", "true", "yes"},
            username=email.get("username"),
            password=email.get("password"),
        )
    sms, smpp = config.section("sms"), config.section("smpp")
    provider = str(sms.get("provider") or ("smpp" if smpp.get("host") and not sms.get("url") else "http"))
    if provider == "smpp" and smpp.get("host"):
        out["sms"] = SmppChannel(
            str(smpp["host"]),
            _int(smpp, "port", 2775),
            str(smpp.get("system_id", "arrears")),
            str(smpp.get("password", "")),
            str(smpp.get("source_addr", "arrears")),
        )
    elif sms.get("url"):
        out["sms"] = HttpSmsChannel(
            str(sms["url"]),
            sender=str(sms.get("sender", "")),
            api_key=sms.get("api_key"),
            batch_url=str(sms["batch_url"]) if sms.get("batch_url") else None,
            batch_size=_int(sms, "batch_size", 100),
        )
    for kind in ("push", "in_app"):
        section = config.section(kind)
        if section.get("url"):
            out[kind] = WebhookChannel(str(section["url"]), kind=kind, api_key=section.get("api_key"))
    robocall = config.section("robocall")
    if robocall.get("url"):
        out["robocall"] = IvrChannel(
            str(robocall["url"]),
            callback_url=str(robocall.get("callback_url", "")),
            api_key=robocall.get("api_key"),
        )
    letters = PdfLetterChannel(
        str(config.section("letters").get("folder", "out/letters")),
        signing_lawyer=str(config.lender.get("signing_lawyer") or ""),
        firm_registration=str(config.lender.get("firm_registration") or ""),
    )
    for name in ("letter", "lawyer_letter", "credit_bureau_notice"):
        out[name] = letters
    agents = AgentTaskChannel()
    for name in ("agent_call", "agency", "litigation", "visit"):
        out[name] = agents
    for name, rate in config.section("rate_limits").items():
        if name in out and not isinstance(out[name], AgentTaskChannel):
            out[name] = RateLimited(out[name], TokenBucket(float(rate), max(1, int(float(rate)))))
    if "sms" in out:  # the policy's freeze_line step tells the borrower by SMS (rate-limited as SMS)
        out["freeze_line"] = out["sms"]
    return out
