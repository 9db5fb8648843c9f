"""The language of the lab's report: English (the messages as written) or Simplified Chinese, from the gettext
catalogue src/arrears/locale/zh_CN/LC_MESSAGES/lab.po (read with Babel; no compiled .mo to keep in step).

A message missing from the catalogue is shown in English and remembered in `missing`, so a test can hold the
catalogue complete by rendering a report in every language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from arrears.domain.errors import InputError

LANGUAGES = {"en": "en", "zh-cn": "zh-CN", "zh_cn": "zh-CN", "zh": "zh-CN", "zh-hans": "zh-CN"}
CATALOGUE_DIRS = {"zh-CN": "zh_CN"}
DOMAIN = "lab"


def language_code(name: str | None) -> str:
    """ "en" or "zh-CN" from what a user typed (None: English); anything else is bad input."""
    if name is None:
        return "en"
    code = LANGUAGES.get(name.strip().lower())
    if code is None:
        raise InputError(f"unknown language {name!r}: use en or zh-CN", field="--lang")
    return code


@cache
def _catalogue(code: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    folder = CATALOGUE_DIRS[code]
    path = resources.files("arrears") / "locale" / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=folder)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy}


@dataclass
class ReportLanguage:
    """Translates the report's messages; `t("{n} seeds", n=5)` formats after translating."""

    code: str = "en"
    missing: set[str] = field(default_factory=set)

    def t(self, message: str, **values: object) -> str:
        text = message
        if self.code != "en":
            text = _catalogue(self.code).get(message, "")
            if not text:
                self.missing.add(message)
                text = message
        return text.format(**values) if values else text


def report_language(name: str | None) -> ReportLanguage:
    return ReportLanguage(language_code(name))
