"""Message templates on disk, filled in a sandbox with localised amounts, dates and rates.

Templates live in `templates/<language>/<channel>/<type>.j2` (repo root). Each starts with a Jinja
comment holding its metadata, e.g. `{# type: reminder; channel: sms; tone: regular #}`. Policies name
a template "<channel>/<type>" ("sms/reminder"); the language comes from the borrower.

Rendering is sandboxed (templates are data that compliance staff edit, not code) and strict: a variable
the context lacks is an InputError naming it, never an empty gap in a message sent to a borrower.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_percent
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from arrears.domain.errors import InputError, NotFound
from arrears.domain.masking import mask_name
from arrears.domain.messages import (
    ELECTRONIC_CHANNELS,
    MessageChannel,
    MessageType,
    RenderedMessage,
    enforce_sms_limit,
    measure_sms,
    prepare_context,
)
from arrears.domain.money import format_minor

LANGUAGES: tuple[str, ...] = ("zh-CN", "zh-TW", "en")
BABEL_LOCALES: dict[str, str] = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "en": "en_US"}
# Traditional Chinese reads Simplified far better than English; everything else ends in English.
FALLBACK: dict[str, tuple[str, ...]] = {
    "zh-TW": ("zh-TW", "zh-CN", "en"),
    "zh-CN": ("zh-CN", "en"),
    "en": ("en",),
}
# Where the compliance profile does not say, electronic messages in English carry the opt-out
# (12 CFR 1006.6(e)); Chinese ones do not, as the cn profile does not require it for notices.
DEFAULT_OPT_OUT: dict[str, bool] = {"zh-CN": False, "zh-TW": False, "en": True}
# Channels whose template line breaks are layout only: their text is one paragraph on the handset.
ONE_PARAGRAPH_CHANNELS = frozenset({MessageChannel.SMS, MessageChannel.PUSH})
# Letters and e-mails are addressed by full name on the envelope; in the text the name stays masked
# like everywhere else, so a message left open on a screen discloses as little as it can.
MASKED_FIELDS: tuple[str, ...] = ("borrower_name", "contact_name")

TEMPLATE_SUFFIX = ".j2"
FRONT_MATTER = re.compile(r"\A\s*\{#(?P<body>.*?)#\}", re.DOTALL)
_UNDEFINED_NAME = re.compile(r"'(?P<name>[^']+)' is undefined|has no attribute '(?P<attr>[^']+)'")


def normalise_language(language: str) -> str:
    """ "zh_CN", "zh-Hans", "zh-SG" -> "zh-CN"; "zh-Hant", "zh-HK" -> "zh-TW"; "en-GB" -> "en"."""
    tag = language.strip().replace("_", "-").lower()
    if tag in {"zh-tw", "zh-hk", "zh-mo"} or tag.startswith("zh-hant"):
        return "zh-TW"
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return tag


def fallback_chain(language: str) -> tuple[str, ...]:
    """Languages to try in order for a requested language: itself, zh-TW -> zh-CN, then en."""
    lang = normalise_language(language)
    return FALLBACK.get(lang, (lang, "en") if lang != "en" else ("en",))


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """One template file and the metadata its front matter declares."""

    name: str  # "<channel>/<type>"
    language: str
    channel: MessageChannel
    type: MessageType
    path: Path
    tone: str | None = None
    metadata: Mapping[str, str] | None = None

    @property
    def loader_name(self) -> str:
        return f"{self.language}/{self.name}{TEMPLATE_SUFFIX}"


def parse_front_matter(source: str, file: str = "") -> dict[str, str]:
    """The `key: value` pairs (separated by ';' or new lines) of the leading Jinja comment."""
    match = FRONT_MATTER.match(source)
    if not match:
        raise InputError(
            "no front matter: the first lines must be {# type: ...; channel: ... #}", file=file, line=1
        )
    meta: dict[str, str] = {}
    for item in re.split(r"[;\n]", match.group("body")):
        if not item.strip():
            continue
        key, sep, value = item.partition(":")
        if not sep:
            raise InputError(f"front matter item {item.strip()!r} is not 'key: value'", file=file, line=1)
        meta[key.strip()] = value.strip()
    return meta


def default_root() -> Path:
    """ARREARS_TEMPLATES, else templates/ at the root of the source tree, else ./templates."""
    env = os.environ.get("ARREARS_TEMPLATES")
    if env:
        return Path(env)
    source_tree = Path(__file__).resolve().parents[3] / "templates"
    return source_tree if source_tree.is_dir() else Path("templates")


def _decimal_amount(minor: int, currency: str) -> Decimal:
    return Decimal(format_minor(minor, currency))


class TemplateLibrary:
    """The templates under one root, compiled once, rendered in a sandbox."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        if not self.root.is_dir():
            raise InputError("template folder not found", file=str(self.root))
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(self.root), encoding="utf-8"),
            undefined=StrictUndefined,
            autoescape=False,  # plain text everywhere; letters escape for PDF markup themselves
            trim_blocks=False,  # inline {% if %} must not eat the line break that separates sentences
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.env.filters.update(money=_money, date=_date, percent=_percent, mask=mask_name)
        self._index: dict[tuple[str, str], TemplateInfo] | None = None

    # --- discovery ------------------------------------------------------------------------------
    def templates(self) -> list[TemplateInfo]:
        """Every template under the root, sorted by language then name; bad front matter raises."""
        return sorted(self._catalogue().values(), key=lambda t: (t.language, t.name))

    def languages(self) -> list[str]:
        return sorted({t.language for t in self._catalogue().values()})

    def names(self) -> list[str]:
        """The "<channel>/<type>" names available in at least one language."""
        return sorted({t.name for t in self._catalogue().values()})

    def _catalogue(self) -> dict[tuple[str, str], TemplateInfo]:
        if self._index is None:
            index: dict[tuple[str, str], TemplateInfo] = {}
            for path in sorted(self.root.glob(f"*/*/*{TEMPLATE_SUFFIX}")):
                info = self._read_info(path)
                index[(info.language, info.name)] = info
            self._index = index
        return self._index

    def _read_info(self, path: Path) -> TemplateInfo:
        rel = path.relative_to(self.root)
        language, channel_dir, filename = rel.parts
        file = str(path)
        meta = parse_front_matter(path.read_text(encoding="utf-8"), file)
        type_name = filename[: -len(TEMPLATE_SUFFIX)]
        for key, expected in (("type", type_name), ("channel", channel_dir)):
            if meta.get(key) != expected:
                raise InputError(
                    f"front matter {key} is {meta.get(key)!r}, the path says {expected!r}",
                    file=file,
                    line=1,
                    field=key,
                )
        try:
            channel, mtype = MessageChannel(channel_dir), MessageType(type_name)
        except ValueError as exc:
            raise InputError(str(exc), file=file, line=1) from None
        return TemplateInfo(
            f"{channel.value}/{mtype.value}", language, channel, mtype, path, meta.get("tone"), meta
        )

    def find(self, name: str, language: str) -> TemplateInfo:
        """The template for `name` in `language`, or in the first fallback language that has it."""
        channel, _, type_name = name.partition("/")
        if not type_name:
            raise InputError(f"template name must be '<channel>/<type>', got {name!r}", field="template")
        if channel not in {c.value for c in MessageChannel}:
            known = ", ".join(c.value for c in MessageChannel)
            raise InputError(f"unknown channel {channel!r} in {name!r} (known: {known})", field="template")
        for lang in fallback_chain(language):
            info = self._catalogue().get((lang, name))
            if info is not None:
                return info
        raise NotFound(f"no template {name!r} in {' / '.join(fallback_chain(language))} under {self.root}")

    # --- rendering ------------------------------------------------------------------------------
    def render(
        self,
        name: str,
        language: str,
        context: Mapping[str, Any],
        *,
        currency: str | None = None,
        opt_out: bool | None = None,
        max_segments: int | None = None,
        over_limit: str = "raise",
    ) -> RenderedMessage:
        """Fill template `name` ("sms/reminder") for `language` with `context`.

        Amounts in the context are minor units (int; decimal strings are parsed), dates are dates,
        rates are decimals. `opt_out` comes from the compliance profile (default: by language).
        `max_segments` is the policy's SMS limit: over it, raise SmsTooLong (`over_limit="raise"`) or
        return the message with `sms.over_limit` true (`over_limit="flag"`).
        """
        if over_limit not in {"raise", "flag"}:
            raise InputError(f"over_limit must be 'raise' or 'flag', got {over_limit!r}", field="over_limit")
        info = self.find(name, language)
        cur = currency or str(context.get("currency") or "CNY")
        values = prepare_context(info.type, dict(context), cur)
        for key in MASKED_FIELDS:
            if values.get(key) is not None:
                values[key] = mask_name(str(values[key]))
        if opt_out is None:
            opt_out = (
                bool(context["opt_out"]) if "opt_out" in context else DEFAULT_OPT_OUT.get(info.language, True)
            )
        values.update(
            currency=cur,
            language=info.language,
            opt_out=opt_out and info.channel in ELECTRONIC_CHANNELS,
        )
        subject, body = self._fill(info, values)
        if info.channel in ONE_PARAGRAPH_CHANNELS:
            body = _one_paragraph(body, info.language)
        sms = None
        if info.channel is MessageChannel.SMS:
            sms = measure_sms(body, max_segments)
            if over_limit == "raise":
                enforce_sms_limit(sms, f"{info.language}/{info.name}")
        return RenderedMessage(
            template=info.name,
            language=info.language,
            channel=info.channel,
            type=info.type,
            body=body,
            subject=subject,
            tone=info.tone,
            requested_language=normalise_language(language),
            sms=sms,
            metadata=dict(info.metadata or {}),
        )

    def _fill(self, info: TemplateInfo, values: dict[str, Any]) -> tuple[str | None, str]:
        file = str(info.path)
        try:
            template = self.env.get_template(info.loader_name)
            if "body" in template.blocks:
                ctx = template.new_context(values)
                body = "".join(template.blocks["body"](ctx))
                subject = "".join(template.blocks["subject"](ctx)) if "subject" in template.blocks else None
            else:
                body, subject = template.render(values), None
        except UndefinedError as exc:
            match = _UNDEFINED_NAME.search(str(exc))
            var = (match.group("name") or match.group("attr")) if match else None
            raise InputError(f"missing variable {var or str(exc)!r}", file=file, field=var) from None
        except TemplateSyntaxError as exc:
            raise InputError(f"template syntax: {exc.message}", file=file, line=exc.lineno) from None
        except (SecurityError, OverflowError) as exc:  # the sandbox refuses unsafe access and huge ranges
            raise InputError(f"template not allowed by the sandbox: {exc}", file=file) from None
        except TemplateNotFound:
            raise NotFound(f"template file vanished: {file}") from None
        except TemplateError as exc:
            raise InputError(f"template error: {exc}", file=file) from None
        return (_clean_line(subject) if subject is not None else None), _clean_text(body)


def _clean_line(text: str) -> str:
    return " ".join(text.split())


def _clean_text(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank edges."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)


def _one_paragraph(text: str, language: str) -> str:
    # Chinese runs together without spaces; English words need one between template lines.
    joiner = "" if language.startswith("zh") else " "
    return joiner.join(line.strip() for line in text.splitlines() if line.strip())


# --- filters ----------------------------------------------------------------------------------------


# The filters run for every message sent (thousands a second): Babel parses the locale name and the
# pattern on every call, so locales are parsed once and each formatted value is kept. The outputs are
# pure functions of the cache keys, so the caches change no text.
FORMAT_CACHE = 16384


@cache
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


def _locale(ctx: Context) -> str:
    return BABEL_LOCALES.get(str(ctx.get("language")), "en_US")


@lru_cache(maxsize=FORMAT_CACHE)
def _format_money(minor: int, currency: str, locale: str) -> str:
    return str(format_currency(_decimal_amount(minor, currency), currency, locale=_babel_locale(locale)))


@lru_cache(maxsize=FORMAT_CACHE)
def _format_date(value: date, locale: str) -> str:
    return str(format_date(value, "medium", locale=_babel_locale(locale)))


@lru_cache(maxsize=FORMAT_CACHE)
def _format_percent(rate: str, locale: str) -> str:
    # Keyed by the decimal's text, not its value: 0.0005 and 0.00050 are equal but need not print alike.
    return str(format_percent(Decimal(rate), "#,##0.####%", locale=_babel_locale(locale)))


@pass_context
def _money(ctx: Context, minor: object, currency: str | None = None) -> str:
    """Minor units -> "¥1,234.56" (zh-CN), "CN¥1,234.56" (zh-TW, en) for CNY."""
    cur = currency or str(ctx.get("currency") or "CNY")
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise InputError(f"money filter needs minor units (int), got {minor!r}", field="money")
    return _format_money(minor, cur, _locale(ctx))


@pass_context
def _date(ctx: Context, value: object) -> str:
    """A date -> "2026年1月10日" (zh) / "Jan 10, 2026" (en)."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise InputError(f"date filter needs a date, got {value!r}", field="date")
    return _format_date(value, _locale(ctx))


@pass_context
def _percent(ctx: Context, value: object) -> str:
    """A rate -> percent with up to four decimals: 0.0005 -> "0.05%"."""
    rate = value if isinstance(value, Decimal) else Decimal(str(value))
    return _format_percent(str(rate), _locale(ctx))


@lru_cache(maxsize=8)
def library(root: str | None = None) -> TemplateLibrary:
    """The shared library for a root (default: `default_root()`); compiled templates are reused."""
    return TemplateLibrary(root)


def render(
    template_name: str,
    language: str,
    context: Mapping[str, Any],
    **options: Any,
) -> RenderedMessage:
    """Render with the default library: render("sms/reminder", "zh-CN", {...}). See TemplateLibrary.render."""
    return library().render(template_name, language, context, **options)
