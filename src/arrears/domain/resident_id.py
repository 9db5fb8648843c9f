"""Chinese resident identity card numbers (居民身份证号码, GB 11643-1999): what makes one valid.

Eighteen characters: a six-digit administrative code whose first two digits are a province (GB/T 2260),
the birth date YYYYMMDD, a three-digit sequence, and a check character by ISO 7064 MOD 11-2 (0-9 or an
upper-case X for ten). `valid_id_number` says it for one value; `valid_id_digits` for many at once (a
matrix of their bytes), which the imports use on a million rows.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

# First two digits: provinces, autonomous regions, municipalities (GB/T 2260), plus 71 Taiwan and 81/82/83,
# used by residence permits for people from Hong Kong, Macao and Taiwan.
PROVINCE_PREFIXES = frozenset((
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
))  # fmt: skip

# ISO 7064 MOD 11-2 as GB 11643-1999 applies it: weights 2^(17-i) mod 11, check value mapped to a character.
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
ID_LENGTH = 18
# The shape: 17 digits and a check character (a regular expression both Python and RE2 read).
ID_SHAPE = r"^[0-9]{17}[0-9X]$"
EARLIEST_BIRTH = date(1900, 1, 1)

_SHAPE = re.compile(ID_SHAPE)
_PROVINCES = np.zeros(100, dtype=bool)
_PROVINCES[sorted(PROVINCE_PREFIXES)] = True
_CHECK_BYTES = np.frombuffer(ID_CHECK_CHARACTERS.encode("ascii"), dtype=np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are `first17`."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def valid_id_number(value: str, *, born_by: date | None = None) -> bool:
    """True for an 18-character resident ID number with a known province, a real birth date (from 1900,
    not after `born_by` when given) and a correct MOD 11-2 check character (upper-case X for ten)."""
    if not _SHAPE.match(value):
        return False
    chars = np.frombuffer(value.encode("ascii"), dtype=np.uint8).reshape(1, ID_LENGTH)
    return bool(valid_id_digits(chars, born_by=born_by)[0])


def valid_id_digits(chars: np.ndarray, *, born_by: date | None = None) -> np.ndarray:
    """Per row of `chars` (n × 18 ASCII bytes, each row already of the shape ID_SHAPE): whether it is a
    valid resident ID number (province, birth date, check character)."""
    digits = chars[:, :17].astype(np.int64) - ord("0")
    province = digits[:, 0] * 10 + digits[:, 1]
    ok = _PROVINCES[province]
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last = _MONTH_DAYS[np.where(month_ok, month, 0)] + (leap & (month == 2))
    ok &= month_ok & (day >= 1) & (day <= last) & (year >= EARLIEST_BIRTH.year)
    if born_by is not None:
        ok &= year * 10000 + month * 100 + day <= born_by.year * 10000 + born_by.month * 100 + born_by.day
    check = _CHECK_BYTES[(digits @ np.array(ID_WEIGHTS, dtype=np.int64)) % 11]
    return np.asarray(ok & (check == chars[:, 17]), dtype=bool)
