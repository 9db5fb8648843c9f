"""The language of the CLI's text output: English, or Simplified Chinese (zh-CN) when `--lang zh-CN` or the
user's locale (LC_ALL, LC_MESSAGES, LANG, as gettext reads them) asks for it."""

from __future__ import annotations

_chosen: str = "en"


def choose_language(lang: str | None) -> None:
    global _chosen
    _chosen = lang or "en"
