"""The rendering port: the dispatcher fills a message template through a `Renderer` it is given (the
Jinja2 + Babel template library, `arrears.adapters.rendering`, wired by `arrears.bootstrap`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from arrears.domain.messages import RenderedMessage


class Renderer(Protocol):
    """Fills template `name` ("sms/reminder") for `language` with `context`; InputError / NotFound when
    it cannot."""

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
    ) -> RenderedMessage: ...
