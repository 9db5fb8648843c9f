"""A loans file's personal data checked column-wise by the domain's rules, never echoed in a message:
phone numbers for the loan's market (domain/phone_numbers.py), resident ID numbers of CN borrowers
(domain/resident_id.py), e-mail addresses (domain/email_addresses.py).

A million rows: the plain shapes are tested with the rules' own patterns in one vectorised pass (RE2 via
pyarrow, the ID numbers' digits with numpy); only the other values, each distinct one once, are parsed one by
one with the phonenumbers library.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.email_addresses import EMAIL_PATTERNS
from arrears.domain.phone_numbers import PHONE_REGION_OF_CURRENCY, plain_numbers, valid_phone_number
from arrears.domain.resident_id import ID_LENGTH, ID_SHAPE, valid_id_digits
from arrears.services.imports.row_checks import RowChecks, np_bool

# ID numbers of borrowers outside CN (passports, other national numbers): letters and digits only.
_OTHER_ID_NUMBER = r"^[0-9A-Za-z]{4,32}$"


def phone_regions(currency: pa.Array) -> pa.Array:
    """Per row, the region a phone number without a country code is read in (null: none, write +CC)."""
    known = pa.array(list(PHONE_REGION_OF_CURRENCY), pa.string())
    regions = pa.array(list(PHONE_REGION_OF_CURRENCY.values()), pa.string())
    return pc.take(regions, pc.index_in(currency, value_set=known))


def check_phones(rows: RowChecks, name: str, phone: pa.Array, region: pa.Array) -> None:
    """Flag phone numbers that are not valid for the row's region (or, with +CC, for any region)."""
    present = np_bool(pc.is_valid(phone))
    if not present.any():
        return
    ok = np.zeros(rows.n, dtype=bool)
    region_of = np.array(pc.fill_null(region, "").to_numpy(zero_copy_only=False), dtype=object)
    for code in pc.unique(pc.fill_null(region, "")).to_pylist():
        mine = present & (region_of == code)
        plain = plain_numbers(code) if code else None
        if plain is not None:
            fast = mine & np_bool(pc.match_substring_regex(phone, plain.shape))
            valid = np_bool(pc.match_substring_regex(phone, plain.general)) & np_bool(
                pc.match_substring_regex(phone, plain.types)
            )
            ok |= fast & valid
            mine &= ~fast
        rest = np.flatnonzero(mine)
        if rest.size:
            values = pc.take(phone, pa.array(rest)).to_pylist()
            verdict = {v: valid_phone_number(v, code or None) for v in set(values)}
            ok[rest] = [verdict[v] for v in values]
    rows.flag(
        present & ~ok,
        name,
        lambda i: (
            f"is not a valid phone number for {region_of[i]} (write +country code for another region)"
            if region_of[i]
            else "is not a valid phone number (write it with +country code)"
        ),
    )


def check_id_numbers(rows: RowChecks, name: str, id_number: pa.Array, region: pa.Array) -> None:
    """CN borrowers: resident ID numbers (province, birth date, check character); others: letters and digits."""
    present = np_bool(pc.is_valid(id_number))
    if not present.any():
        return
    cn = np_bool(pc.equal(region, "CN"))
    shaped = present & cn & np_bool(pc.match_substring_regex(id_number, ID_SHAPE))
    ok = np.zeros(rows.n, dtype=bool)
    idx = np.flatnonzero(shaped)
    if idx.size:
        chars = _bytes_of(pc.take(id_number, pa.array(idx)), ID_LENGTH)
        ok[idx] = valid_id_digits(chars, born_by=date.today())
    rows.flag(
        present & cn & ~ok,
        name,
        "is not a resident ID number (18 characters: region, birth date, sequence, check character)",
    )
    other = present & ~cn & ~np_bool(pc.match_substring_regex(id_number, _OTHER_ID_NUMBER))
    rows.flag(other, name, "is not an ID number (4 to 32 letters and digits)")


def _bytes_of(values: pa.Array, width: int) -> np.ndarray:
    """Strings of exactly `width` ASCII bytes each as an n × width matrix, straight from Arrow's buffers."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(len(values), width)


def check_emails(rows: RowChecks, name: str, email: pa.Array) -> None:
    """Flag values that are not e-mail addresses (the column is at most EMAIL_MAX_LENGTH long already)."""
    present = np_bool(pc.is_valid(email))
    ok = present.copy()
    for pattern in EMAIL_PATTERNS:
        ok &= np_bool(pc.match_substring_regex(email, pattern))
    rows.flag(present & ~ok, name, "is not an e-mail address")
