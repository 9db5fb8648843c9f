"""Dates as people write them in files: YYYY-MM-DD, with the field named when one is wrong."""

from __future__ import annotations

from datetime import date

from arrears.domain.errors import InputError


def parse_date(value: object, field: str) -> date:
    """A `date` from a date or its ISO text; InputError naming `field` otherwise."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"not a date (YYYY-MM-DD): {value!r}", field=field) from None
