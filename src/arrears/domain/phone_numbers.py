"""Phone numbers: valid for the borrower's market as the `phonenumbers` library (Google's libphonenumber
metadata) says, e.g. `13812345678` in CN but not `1399876`.

A number without a country code is read in the region of the loan's currency (CNY → CN, USD → US ...); one
written with `+` and its country code may be of any region (a borrower abroad). Letters are refused before
the library sees them (it would read 1-800-FLOWERS as digits).

`plain_numbers(region)` serves the imports, which check a million rows: for the region's numbers of one plain
shape (CN: 11 digits, no prefix the library would strip) validity is exactly whether two of the library's
own patterns match, which a vectorised regular-expression engine can test; the rest go one by one through
`valid_phone_number`. tests/unit/test_personal_data_checks.py holds the two to each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata

# The region a number without a country code is read in, by the loan's currency; EUR spans many regions,
# so its borrowers' numbers need their +country code.
PHONE_REGION_OF_CURRENCY: dict[str, str] = {
    "CNY": "CN",
    "USD": "US",
    "HKD": "HK",
    "TWD": "TW",
    "INR": "IN",
    "JPY": "JP",
    "KRW": "KR",
}
# What may be written: an optional +, digits and the usual separators (no letters, no extension).
PHONE_CHARACTERS = r"^\+?[0-9][0-9 ()./-]{3,30}$"

_CHARACTERS = re.compile(PHONE_CHARACTERS)
# CN numbers the parser leaves untouched: 11 digits from 13.., 14.., 15.., 16.., 170-178, 18.., 19.. (it
# strips 11xxx / 12xxx / 179xx as carrier codes and reads 00 as the international prefix).
_PLAIN_SHAPES = {"CN": (r"^1(?:[3-689][0-9]|7[0-8])[0-9]{8}$", 11)}


@dataclass(frozen=True, slots=True)
class PlainNumbers:
    """Numbers of `shape` are valid exactly when they match `general` and `types` (full matches; regular
    expressions both Python and RE2 read)."""

    shape: str
    general: str
    types: str


def valid_phone_number(text: str, region: str | None) -> bool:
    """True when `text` is a valid number: read in `region` unless it starts with +country code."""
    if not _CHARACTERS.match(text):
        return False
    if region is None and not text.startswith("+"):
        return False
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


@cache
def plain_numbers(region: str) -> PlainNumbers | None:
    """The region's plain numbers and the library's patterns that decide them (None: no such shortcut)."""
    if region not in _PLAIN_SHAPES:
        return None
    shape, length = _PLAIN_SHAPES[region]
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    general = metadata.general_desc
    if general is None or not general.national_number_pattern or length not in general.possible_length:
        return None
    descs = (
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        metadata.mobile,
    )
    types = [
        d.national_number_pattern
        for d in descs
        if d is not None
        and d.national_number_pattern
        and (not d.possible_length or length in d.possible_length)
    ]
    if not types:
        return None
    return PlainNumbers(
        shape=shape,
        general=f"^(?:{general.national_number_pattern})$",
        types=f"^(?:{'|'.join(f'(?:{t})' for t in types)})$",
    )
