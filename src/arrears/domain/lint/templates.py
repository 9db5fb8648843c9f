"""The template linter: prohibited language and required elements in message templates.

Pure: it reads template text and returns findings. Only what a borrower can receive is checked: Jinja
comments are ignored, Jinja code is ignored except the string literals it would print, and literal-only
rules (amounts, rates, personal data) look at the literal text alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from arrears.domain.lint.patterns import (
    CATEGORIES,
    DEBT_WORDS_EN,
    DEBT_WORDS_ZH,
    EN_NEGATION,
    NEGATABLE,
    OPT_OUT_TEXT,
    PATTERNS,
    ZH_NEGATION,
    Pattern,
)
from arrears.domain.lint.script import to_simplified
from arrears.domain.messages import AMOUNT_FIELDS, CONTEXT_SCHEMAS, ELECTRONIC_CHANNELS, MessageType

LANGUAGES = ("zh-CN", "zh-TW", "en")
JINJA_WORDS = frozenset(
    {
        "if", "elif", "else", "endif", "for", "endfor", "in", "not", "and", "or", "is", "defined", "none",
        "None", "true", "false", "True", "False", "set", "endset", "block", "endblock", "extends", "include",
        "import", "from", "as", "with", "endwith", "macro", "endmacro", "call", "endcall", "filter",
        "endfilter", "raw", "endraw", "loop", "recursive", "undefined", "super", "self", "caller",
    }
)  # fmt: skip
# What a third party may never see: the debt's facts and whose debt it is.
DISCLOSING_VARIABLES = frozenset(
    {*(f.split(".")[0] for f in AMOUNT_FIELDS), "lender_name", "days_past_due", "due_date", "pay_link",
     "contract_clause", "late_fee_daily_rate", "loan_ref", "plan_terms", "report_date", "bureau_name"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one template: where (line, 1-based columns, end exclusive), what and why."""

    file: str
    line: int
    column: int
    end_column: int
    category: str
    rule: str
    excerpt: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_column": self.end_column,
            "category": self.category,
            "rule": self.rule,
            "excerpt": self.excerpt,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class TemplateMeta:
    """What a template declares (front matter) or its path implies: type, channel, language, audience."""

    type: str | None
    channel: str | None
    language: str | None
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateText:
    """A template split into what is sent (`sent`), literal text only (`literal`) and the variables it reads."""

    original: str
    sent: str
    literal: str
    variables: frozenset[str]


_FRONT = re.compile(r"\A\s*\{#-?(.*?)-?#\}", re.DOTALL)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def read_front_matter(text: str) -> dict[str, str]:
    """`{# type: reminder; channel: sms; tone: regular #}` on the first lines → {"type": "reminder", ...}."""
    m = _FRONT.match(text)
    if not m:
        return {}
    out: dict[str, str] = {}
    for part in re.split(r"[;\n]", m.group(1)):
        key, sep, value = part.partition(":")
        if sep and key.strip():
            out[key.strip().lower()] = value.strip()
    return out


def template_meta(path: str, text: str) -> TemplateMeta:
    """Front matter first; otherwise the path layout templates/<language>/<channel>/<type>.j2."""
    front = read_front_matter(text)
    parts = re.split(r"[\\/]", path)
    language = front.get("language") or front.get("lang") or next((p for p in parts if p in LANGUAGES), None)
    stem = re.sub(r"(\.txt)?\.(j2|jinja2?|txt)$", "", parts[-1]) if parts else ""
    channel = front.get("channel") or (parts[-2] if len(parts) >= 2 and parts[-2] not in LANGUAGES else None)
    return TemplateMeta(front.get("type") or stem or None, channel, language, front.get("audience"))


def split_template(text: str) -> TemplateText:
    """Blank Jinja comments and code (keeping the string literals code would print), positions unchanged."""
    sent = list(text)
    literal = list(text)
    variables: set[str] = set()
    i = 0
    while True:
        start = min(
            (p for p in (text.find("{{", i), text.find("{%", i), text.find("{#", i)) if p >= 0), default=-1
        )
        if start < 0:
            break
        opener = text[start : start + 2]
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[opener]
        end = text.find(closer, start + 2)
        end = len(text) if end < 0 else end + 2
        body = text[start:end]
        keep: set[int] = set()
        if opener != "{#":
            for s in _STRING.finditer(body):
                keep.update(range(start + s.start() + 1, start + s.end() - 1))
            code = _STRING.sub(lambda m: " " * len(m.group(0)), body)
            for ident in _IDENT.finditer(code):
                before = code[: ident.start()].rstrip()
                if before.endswith(("|", ".")) or ident.group(0) in JINJA_WORDS:
                    continue
                variables.add(ident.group(0))
        for k in range(start, end):
            if text[k] != "\n":
                literal[k] = " "
                if k not in keep:
                    sent[k] = " "
        i = end
    return TemplateText(text, "".join(sent), "".join(literal), frozenset(variables))


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def excerpt(self, start: int, end: int, context: int = 12) -> str:
        line_start = self.starts[bisect_right(self.starts, start) - 1]
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        lo, hi = max(line_start, start - context), min(line_end, end + context)
        return ("…" if lo > line_start else "") + self.text[lo:hi].strip() + ("…" if hi < line_end else "")


def _negated(pattern: Pattern, searched: str, start: int) -> bool:
    if pattern.category not in NEGATABLE:
        return False
    before = searched[max(0, start - 30) : start]
    return bool((ZH_NEGATION if pattern.language == "zh" else EN_NEGATION).search(before))


def _finding(
    path: str, lines: _Lines, start: int, end: int, category: str, rule: str, message: str
) -> Finding:
    line, column = lines.where(start)
    end_line, end_column = lines.where(end)
    if end_line != line:  # a match never spans lines in practice; keep the span on its first line
        end_column = column + len(lines.text[start:end].split("\n")[0])
    return Finding(path, line, column, end_column, category, rule, lines.excerpt(start, end), message)


def prohibited_language(path: str, parts: TemplateText) -> list[Finding]:
    """Every prohibited phrase in what the template sends."""
    lines = _Lines(parts.original)
    sent_zh = to_simplified(parts.sent)
    literal_zh = to_simplified(parts.literal)
    out: list[Finding] = []
    seen: set[tuple[int, int, str]] = set()
    for pattern in PATTERNS:
        if pattern.language == "zh":
            searched = literal_zh if pattern.literal_only else sent_zh
        else:
            searched = parts.literal if pattern.literal_only else parts.sent
        for m in pattern.regex.finditer(searched):
            if not m.group(0).strip() or _negated(pattern, searched, m.start()):
                continue
            key = (m.start(), m.end(), pattern.category)
            if key in seen:
                continue
            seen.add(key)
            message = f"{CATEGORIES[pattern.category][0]}: {pattern.why}"
            out.append(_finding(path, lines, m.start(), m.end(), pattern.category, pattern.rule, message))
    return out


def required_elements(
    path: str, meta: TemplateMeta, parts: TemplateText, *, opt_out_required: bool
) -> list[Finding]:
    """Missing lender name, amount, dispute and complaint contacts, opt-out; disclosure to third parties."""
    lines = _Lines(parts.original)
    out: list[Finding] = []

    def missing(rule: str, message: str) -> None:
        out.append(Finding(path, 1, 1, 1, "missing_element", rule, "", message))

    try:
        kind = MessageType(meta.type) if meta.type else None
    except ValueError:
        kind = None
    if kind is None:
        known = ", ".join(t.value for t in MessageType)
        missing(
            "structure.unknown_type", f"unknown or undeclared message type {meta.type!r} (known: {known})"
        )
        out[-1] = Finding(path, 1, 1, 1, "structure", "structure.unknown_type", "", out[-1].message)
        return out
    schema = CONTEXT_SCHEMAS.get(kind)
    required = set(schema.required) if schema else set()
    used = parts.variables
    if "lender_name" in required and "lender_name" not in used:
        missing("missing.lender_name", "the lender's name ({{ lender_name }}) is missing")
    amounts = sorted(f for f in required if f in AMOUNT_FIELDS)
    if amounts and not used & set(amounts):
        missing(
            "missing.amount", f"the amount ({' or '.join('{{ ' + a + ' }}' for a in amounts)}) is missing"
        )
    for name, rule in (
        ("dispute_contact", "missing.dispute_contact"),
        ("complaint_contact", "missing.complaint_contact"),
    ):
        if name in required and name not in used:
            missing(
                rule, f"the {name.replace('_', ' ')} ({{{{ {name} }}}}) is missing: every message carries it"
            )
    if (
        opt_out_required
        and meta.channel in {c.value for c in ELECTRONIC_CHANNELS}
        and not OPT_OUT_TEXT.search(parts.sent)
        and not used & {"opt_out", "unsubscribe_link", "opt_out_text"}
    ):
        missing(
            "missing.opt_out",
            "electronic messages must tell how to opt out under this profile (e.g. 'Reply STOP to opt out')",
        )
    if kind == MessageType.THIRD_PARTY_LOCATE or meta.audience == "third_party":
        sent_zh = to_simplified(parts.sent)
        for regex, searched in ((DEBT_WORDS_ZH, sent_zh), (DEBT_WORDS_EN, parts.sent)):
            for m in regex.finditer(searched):
                out.append(
                    _finding(path, lines, m.start(), m.end(), "third_party_disclosure", "third_party.discloses_debt",
                             "a message to a third party must not reveal that a debt exists")
                )  # fmt: skip
        for name in sorted(used & DISCLOSING_VARIABLES):
            hit = re.search(r"\{\{[^}]*\b" + re.escape(name) + r"\b", parts.original)
            start, end = (hit.start(), hit.end()) if hit else (0, 0)
            out.append(
                _finding(path, lines, start, end, "third_party_disclosure", "third_party.discloses_debt",
                         f"a message to a third party must not carry {{{{ {name} }}}}: it reveals the debt or the lender")
            )  # fmt: skip
    return out


def lint_template(path: str, text: str, *, opt_out_required: bool | None = None) -> list[Finding]:
    """All findings for one template, sorted by position. `opt_out_required` None: decided by language."""
    meta = template_meta(path, text)
    parts = split_template(text)
    if opt_out_required is None:
        opt_out_required = meta.language == "en"
    findings = prohibited_language(path, parts) + required_elements(
        path, meta, parts, opt_out_required=opt_out_required
    )
    return sorted(findings, key=lambda f: (f.line, f.column, f.category, f.rule))


def count_by_category(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings each category has, in the order categories are listed."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for f in findings:
        counts[f.category] += 1
    return {k: v for k, v in counts.items() if v}
