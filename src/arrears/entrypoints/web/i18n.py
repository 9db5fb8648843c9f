"""The console's languages: gettext catalogues (Babel .po, domain `console`) under arrears/locale, compiled
in memory when the app starts (a fresh clone needs no build step), and the user's choice in a cookie."""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
# Every language a catalogue exists for (the borrower's portal has zh-TW too).
LOCALES = {**LANGUAGES, "zh-TW": "zh_TW"}
DEFAULT = "zh-CN"
COOKIE = "arrears_lang"


@cache
def translations(lang: str, domain: str = "console") -> gettext.NullTranslations:
    """The catalogue of a language (zh-CN, en) and domain, read from its .po and compiled to .mo in memory."""
    po = LOCALE_DIR / LOCALES.get(lang, "en") / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=LOCALES.get(lang, "en"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language_of(request: Request) -> str:
    """The cookie's language, else the browser's first known one, else zh-CN."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT
