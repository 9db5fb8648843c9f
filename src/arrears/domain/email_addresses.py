"""E-mail addresses: the syntax of RFC 5321 / 5322 as a collections system sends to (a dot-atom local part of
at most 64 characters, a domain of dot-separated labels ending in an alphabetic top-level label; at most 254
characters). Quoted local parts and address literals are refused; an internationalised domain is written in
its xn-- form. The patterns are regular expressions both Python and RE2 read, so the imports test a
million rows column-wise with the same rule.
"""

from __future__ import annotations

import re

EMAIL_MAX_LENGTH = 254
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# Every one must match.
EMAIL_PATTERNS: tuple[str, ...] = (
    rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$",
    r"^[^@]{1,64}@",  # the local part: at most 64 characters
)

_COMPILED = tuple(re.compile(p) for p in EMAIL_PATTERNS)


def valid_email_address(text: str) -> bool:
    """True when `text` is an e-mail address of the syntax above."""
    return len(text) <= EMAIL_MAX_LENGTH and all(p.match(text) for p in _COMPILED)
