"""The language of the CLI's text output: English, or Simplified Chinese (zh-CN) when `--lang zh-CN` or the
user's locale (the first of LC_ALL, LC_MESSAGES, LANG that is set, as gettext reads them) asks for it.

The translations are the gettext catalogue src/arrears/locale/zh_CN/LC_MESSAGES/cli.po (domain `cli`), read
with Babel when Chinese is chosen; English output never loads it. JSON output is never translated.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from arrears.domain.errors import InputError

LANGUAGES = ("en", "zh-CN")
CATALOGUES = Path(__file__).resolve().parents[2] / "locale"

_chosen = "en"


def choose_language(lang: str | None) -> None:
    """Use `lang` (--lang), else the locale of the environment; InputError for a language we lack."""
    global _chosen
    if lang is not None:
        normalised = _normalise(lang)
        if normalised is None:
            raise InputError(f"unknown language {lang!r} (use {' or '.join(LANGUAGES)})", field="--lang")
        _chosen = normalised
        return
    locale = next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(k)), "")
    _chosen = _normalise(locale) or "en"


def lang_first(args: list[str]) -> list[str]:
    """`args` with `--lang X` / `--lang=X` moved to the front, where the root command reads it: the option
    may then be given after the command too (`arrears kpi --lang zh-CN`). Nothing after `--` moves."""
    moved: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == "--lang" and i + 1 < len(args):
            moved += args[i : i + 2]
            i += 2
            continue
        (moved if arg.startswith("--lang=") else rest).append(arg)
        i += 1
    return moved + rest


def language() -> str:
    """The language text output is in now: en or zh-CN."""
    return _chosen


def _normalise(name: str) -> str | None:
    tag = name.split(".")[0].split("@")[0].replace("_", "-").lower()
    if tag in ("zh", "zh-cn", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    if tag in ("en", "c", "posix") or tag.startswith("en-"):
        return "en"
    return None if name else "en"


def _(message: str) -> str:
    """`message` in the chosen language (itself when the catalogue has no translation)."""
    if _chosen == "en":
        return message
    return _catalogue(_chosen).get(message) or message


@lru_cache(maxsize=2)
def _catalogue(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = CATALOGUES / lang.replace("-", "_") / "LC_MESSAGES" / "cli.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang.replace("-", "_"), domain="cli")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}
