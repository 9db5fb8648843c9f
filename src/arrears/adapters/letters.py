"""Letters and lawyer's letters as PDF, with a Chinese font so the text survives printing and extraction.

reportlab embeds TrueType-outline fonts only: it refuses the CFF (PostScript-outline) flavour that
Debian's fonts-noto-cjk ships, so the first readable font of CJK_FONT_CANDIDATES wins (fonts-wqy-zenhei
is the one the project installs). Without any, the letter uses reportlab's built-in Adobe CID font
(STSong-Light / MSung-Light): the text is still real, extractable Unicode, but the glyphs are not
embedded and the reader's viewer supplies them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from arrears.adapters.rendering import library
from arrears.domain.errors import InputError
from arrears.domain.messages import MessageChannel, RenderedMessage

# (path, subfont index in a .ttc). Noto CJK stays listed so a reportlab that learns CFF picks it up;
# index 2 of NotoSansCJK-Regular.ttc is the Simplified Chinese face.
CJK_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
)
CID_FALLBACK: dict[str, str] = {"zh-TW": "MSung-Light"}
CID_DEFAULT = "STSong-Light"


@dataclass(frozen=True, slots=True)
class LetterFont:
    """The font a letter is set in, and whether its glyphs travel inside the PDF."""

    name: str
    path: str | None
    subfont_index: int
    embedded: bool


def _candidates() -> list[tuple[str, int]]:
    configured = os.environ.get("ARREARS_LETTER_FONT")  # "path" or "path#index"
    out: list[tuple[str, int]] = []
    if configured:
        path, _, index = configured.partition("#")
        out.append((path, int(index) if index.isdigit() else 0))
    out.extend(CJK_FONT_CANDIDATES)
    return out


@lru_cache(maxsize=8)
def _register_truetype(path: str, index: int) -> str | None:
    name = f"LetterCJK-{Path(path).stem}-{index}"
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
    except (TTFError, OSError):
        return None  # CFF outlines or an unreadable file: try the next candidate
    return name


@lru_cache(maxsize=4)
def letter_font(language: str = "zh-CN") -> LetterFont:
    """The first embeddable CJK font found (ARREARS_LETTER_FONT first), else a built-in CID font."""
    for path, index in _candidates():
        if Path(path).is_file():
            name = _register_truetype(path, index)
            if name:
                return LetterFont(name, path, index, embedded=True)
    cid = CID_FALLBACK.get(language, CID_DEFAULT)
    pdfmetrics.registerFont(UnicodeCIDFont(cid))
    return LetterFont(cid, None, 0, embedded=False)


# Kinsoku (禁则): Chinese closing punctuation never starts a line, opening brackets never end one.
NO_LINE_START = frozenset("，。；：、！？）」』】》〉’”…—·%,.;:!?)")
NO_LINE_END = frozenset("（「『【《〈‘“(")


def break_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Lay one line of text out in lines no wider than `width` (by `measure`), breaking between any two
    characters as Chinese does, but never before a closing mark nor after an opening one: the character
    before such a break moves down with it."""
    lines: list[str] = []
    current = ""
    for char in text:
        if not current or measure(current + char) <= width:
            current += char
            continue
        head, tail = current, char
        while head and (tail[0] in NO_LINE_START or head[-1] in NO_LINE_END):
            head, tail = head[:-1], head[-1] + tail
        if not head:  # no legal break in the line: the mark hangs past the width (burasage)
            current += char
            continue
        lines.append(head)
        current = tail
    if current:
        lines.append(current)
    return lines


def _paragraph_markup(
    text: str, width: float | None = None, measure: Callable[[str], float] | None = None
) -> str:
    if width is None or measure is None:
        return "<br/>".join(escape(line) for line in text.split("\n"))
    out = []
    for line in text.split("\n"):
        out.extend(break_lines(line, width, measure) or [""])
    return "<br/>".join(escape(line) for line in out)


def render_letter_pdf(message: RenderedMessage, *, font: LetterFont | None = None) -> bytes:
    """Set a rendered letter (subject as the title, body paragraphs split on blank lines) on A4."""
    if message.channel is not MessageChannel.LETTER:
        raise InputError(
            f"{message.template} is a {message.channel.value} message, not a letter", field="template"
        )
    face = font or letter_font(message.language)
    chinese = message.language.startswith("zh")
    body_style = ParagraphStyle(
        "letter-body",
        fontName=face.name,
        fontSize=11,
        leading=18,
        spaceAfter=8,
        wordWrap="CJK" if chinese else None,  # Chinese breaks between any two characters
    )
    title_style = ParagraphStyle(
        "letter-title", parent=body_style, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=14
    )
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        title=message.subject or message.template,
        subject=message.template,
        creator="arrears",
        invariant=1,  # same letter, same bytes: no creation timestamp or random document id
        # The canvas starts in the letter's font: its default, Helvetica (a base-14 font, never embedded),
        # would otherwise be listed in every page's resources.
        initialFontName=face.name,
    )
    story: list[Any] = []
    if message.subject:
        story.append(Paragraph(_paragraph_markup(message.subject), title_style))
    # Chinese is laid out here, line by line, so the kinsoku rule holds; reportlab's own CJK wrapping
    # lets a "，" or "。" start a line. The width leaves the frame's padding and 1 pt, so no laid-out line wraps again.
    width = doc.width - 13  # the frame pads 6 pt on either side
    measure = (lambda s: pdfmetrics.stringWidth(s, face.name, body_style.fontSize)) if chinese else None
    for block in message.body.split("\n\n"):
        if block.strip():
            story.append(
                Paragraph(_paragraph_markup(block.strip(), width if chinese else None, measure), body_style)
            )
    story.append(Spacer(1, 6 * mm))
    doc.build(story)
    return buffer.getvalue()


def render_letter(
    template_name: str, language: str, context: dict[str, Any], **options: Any
) -> tuple[RenderedMessage, bytes]:
    """Render a letter template ("letter/lawyer_letter") and set it as PDF."""
    message = library().render(template_name, language, context, **options)
    return message, render_letter_pdf(message)


def write_letter_pdf(message: RenderedMessage, path: str | Path) -> Path:
    """Write the PDF of a rendered letter to `path`; returns the path."""
    target = Path(path)
    target.write_bytes(render_letter_pdf(message))
    return target
