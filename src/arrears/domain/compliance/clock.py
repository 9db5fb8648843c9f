"""Local wall-clock arithmetic that stays exact across midnight and daylight-saving changes.

Rules are written in the debtor's local time ("not before 08:00", "one calendar day") but decisions are
instants. These functions map between the two without ever producing a naive time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arrears.domain.errors import InputError


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; an unknown name is bad input."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from None


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant on the wall clock of `tz`."""
    return at.astimezone(tz).date()


def _wall(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(tz).replace(tzinfo=None)


def first_instant_at_or_after(wall: datetime, tz: ZoneInfo) -> datetime:
    """The earliest instant whose local wall time in `tz` is `wall` or later.

    An ambiguous wall time (autumn) gives its first occurrence; a wall time that does not exist (the
    spring gap) gives the instant the clocks jump, e.g. 02:30 on 2026-03-08 in New York → 03:00 EDT.
    The result is in UTC: two datetimes sharing a ZoneInfo compare by wall time, not as instants.
    """
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == naive:
        return first
    # In a gap: fold=1 lands before the jump and fold=0 after it; bisect for the jump itself.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if _wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local calendar day."""
    return first_instant_at_or_after(datetime.combine(day, time(0)), tz)


def at_local_time(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The first instant on `day` when the local clock shows `clock` or later."""
    return first_instant_at_or_after(datetime.combine(day, clock), tz)
