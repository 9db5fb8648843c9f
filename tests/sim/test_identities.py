"""Synthetic identities: valid-looking, unique, never deliverable, and ID numbers with a correct checksum."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.sim.identities import (
    EMAIL_DOMAINS,
    MOBILE_PREFIXES,
    SURNAMES,
    id_check_character,
    synthetic_identities,
    valid_id_number,
)

AGE = {"mean": 33, "sd": 9, "min": 20, "max": 65}
AS_OF = date(2026, 3, 31)


def people(seed: int, count: int):
    return synthetic_identities(np.random.default_rng(seed), count, AS_OF, age=AGE, email_share=0.7)


# The worked example of GB 11643-1999 and variations of it.
@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("11010519491231002X", True),
        ("110105194912310021", False),  # wrong check character
        ("11010519491231002x", False),  # ten is an upper-case X
        ("1101051949123100X", False),  # 17 characters
        ("110105194902300029", False),  # 30 February
        ("990105194912310029", False),  # no province 99
        ("11010518991231002X", False),  # born before 1900
        ("11010519491231００2X", False),  # full-width digits
    ],
)
def test_valid_id_number_examples(number: str, valid: bool) -> None:
    assert valid_id_number(number) is valid


def test_check_character_of_the_standard_example() -> None:
    assert id_check_character("11010519491231002") == "X"
    assert id_check_character("44030519791018327") == "5"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_generated_id_number_is_valid(seed: int) -> None:
    ids = people(seed, 200).id_number.to_pylist()
    assert all(valid_id_number(i) for i in ids)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), position=st.integers(0, 17), digit=st.integers(0, 9))
def test_changing_one_character_invalidates_an_id_number(seed: int, position: int, digit: int) -> None:
    number = people(seed, 1).id_number[0].as_py()
    new = str(digit)
    if number[position] == new:
        new = str((digit + 1) % 10)
    changed = number[:position] + new + number[position + 1 :]
    assert valid_id_number(number)
    assert not valid_id_number(changed)


def test_phones_are_unique_eleven_digit_mobiles_with_real_prefixes() -> None:
    phones = people(3, 50_000).phone.to_pylist()
    assert len(set(phones)) == 50_000
    assert all(len(p) == 11 and p.isdigit() and p[:3] in MOBILE_PREFIXES for p in phones)


def test_id_numbers_are_unique_and_births_match_the_age_range() -> None:
    ids = people(4, 50_000)
    numbers = ids.id_number.to_pylist()
    assert len(set(numbers)) == 50_000
    births = ids.birth_date.to_pylist()
    assert min(births) >= date(1961, 3, 1) and max(births) <= date(2006, 4, 1)
    assert all(n[6:14] == b.strftime("%Y%m%d") for n, b in zip(numbers[:1000], births[:1000], strict=True))


def test_names_and_emails() -> None:
    ids = people(5, 10_000)
    surnames = {s[0] for s in SURNAMES}
    names = ids.name.to_pylist()
    assert all(n[:1] in surnames or n[:2] in surnames for n in names)
    assert all(2 <= len(n) <= 4 for n in names)
    emails = [e for e in ids.email.to_pylist() if e is not None]
    assert 0.68 < len(emails) / 10_000 < 0.72
    assert len(set(emails)) == len(emails)
    assert all(e.split("@")[1] in EMAIL_DOMAINS for e in emails)
    assert set(ids.region.to_pylist()) <= {
        f"CN-{c}"
        for c in [
            "BJ",
            "TJ",
            "HE",
            "SX",
            "LN",
            "JL",
            "HL",
            "SH",
            "JS",
            "ZJ",
            "AH",
            "FJ",
            "JX",
            "SD",
            "HA",
            "HB",
            "HN",
            "GD",
            "GX",
            "HI",
            "CQ",
            "SC",
            "GZ",
            "YN",
            "SN",
            "GS",
        ]
    }


def test_masking_hides_what_it_should() -> None:
    masking = pytest.importorskip("arrears.domain.masking")
    ids = people(6, 1)
    phone, number, name = ids.phone[0].as_py(), ids.id_number[0].as_py(), ids.name[0].as_py()
    assert masking.mask_phone(phone) == phone[:3] + "****" + phone[7:]
    assert masking.mask_id_number(number) == number[:3] + "*" * 11 + number[14:]
    masked = masking.mask_name(name)
    assert masked[0] == name[0] and "*" in masked and name[1:] not in masked
