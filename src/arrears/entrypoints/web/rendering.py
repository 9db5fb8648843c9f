"""Jinja2 templates of the console, rendered in the viewer's language (`_` in templates is gettext)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from arrears.domain.money import format_minor
from arrears.entrypoints.web.i18n import language_of, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
NAV = (
    ("desk", "/desk", "Desk"),
    ("approvals", "/approvals", "Approvals"),
    ("outbox", "/outbox", "Operations"),
    ("strategy", "/strategy", "Strategy"),
    ("compliance", "/compliance", "Compliance"),
)
# A page's own script and styles only: no inline script, no CDN (it must work offline).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-src 'self'; object-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = lambda minor, currency="CNY": format_minor(int(minor), currency)
_env.filters["pct"] = lambda rate: "–" if rate is None else f"{float(rate) * 100:.1f}%"
_env.filters["shown"] = lambda value: "–" if value is None else value


def render(
    request: Request, template: str, *, who: Any = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page (or a fragment) in the viewer's language, with the console's security headers."""
    lang = who.lang if who is not None else language_of(request)
    catalog = translations(lang)
    html = _env.get_template(template).render(
        _=catalog.gettext,
        lang=lang,
        who=who,
        nav=[n for n in NAV if who is not None and who.may(n[0])],
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
