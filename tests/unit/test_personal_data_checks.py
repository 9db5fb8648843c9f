"""The domain's rules for personal data an import checks: phone numbers (phonenumbers, per region), CN
resident ID numbers (province, birth date, MOD 11-2 check character), e-mail syntax — with literal cases,
the vectorised shortcuts held to the one-by-one rules, and the synthetic identities the lab generates."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.email_addresses import EMAIL_PATTERNS, valid_email_address
from arrears.domain.phone_numbers import plain_numbers, valid_phone_number
from arrears.domain.resident_id import ID_SHAPE, id_check_character, valid_id_digits, valid_id_number
from arrears.sim.identities import MOBILE_PREFIXES, synthetic_identities


@pytest.mark.parametrize(
    ("text", "region", "valid"),
    [
        ("13812345678", "CN", True),  # China Mobile
        ("13998765432", "CN", True),
        ("138 1234 5678", "CN", True),
        ("+86 138-1234-5678", None, True),
        ("02166668888", "CN", True),  # a Shanghai landline
        ("010-12345678", "CN", True),
        ("1399876", "CN", False),  # too short: the docs' bad row
        ("12345", "CN", False),
        ("10000000000", "CN", False),
        ("13812345678", None, False),  # no region to read it in and no +86
        ("+1 212 555 0101", "CN", True),  # any region with its country code
        ("2125550101", "US", True),
        ("2125550101", "JP", False),
        ("1-800-FLOWERS", "US", False),  # letters are refused before the library reads them as digits
        ("138123456789012345", "CN", False),
    ],
)
def test_phone_numbers(text: str, region: str | None, valid: bool) -> None:
    assert valid_phone_number(text, region) is valid


CN_PLAIN = st.from_regex(r"\A1(?:[3-689][0-9]|7[0-8])[0-9]{8}\Z")


@settings(max_examples=500)
@given(CN_PLAIN)
def test_the_cn_shortcut_says_what_the_library_says(number: str) -> None:
    plain = plain_numbers("CN")
    assert plain is not None and re.match(plain.shape, number)
    fast = bool(re.match(plain.general, number) and re.match(plain.types, number))
    assert fast is valid_phone_number(number, "CN")


@pytest.mark.parametrize("prefix", range(130, 200))
def test_the_cn_shortcut_agrees_on_every_three_digit_prefix(prefix: int) -> None:
    plain = plain_numbers("CN")
    assert plain is not None
    rng = np.random.default_rng(prefix)
    for tail in rng.integers(0, 10**8, 20).tolist():
        number = f"{prefix}{tail:08d}"
        if not re.match(plain.shape, number):
            continue
        fast = bool(re.match(plain.general, number) and re.match(plain.types, number))
        assert fast is valid_phone_number(number, "CN"), number


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("110101199003071233", True),
        ("11010519491231002X", True),
        ("440305197910183275", True),
        ("110101199003071234", False),  # wrong check character
        ("11010519491231002x", False),  # the check character X is upper-case
        ("12345", False),  # the docs' bad row
        ("990105194912310023", False),  # no province 99
        ("110105194902300020", False),  # 30 February
        ("110105189912310023", False),  # born before 1900
        ("1101051949123100211", False),  # 19 characters
        ("11010519491231002A", False),
    ],
)
def test_resident_id_numbers(number: str, valid: bool) -> None:
    assert valid_id_number(number) is valid


def test_a_birth_date_after_the_day_is_not_valid() -> None:
    first17 = "11010120300101123"
    number = first17 + id_check_character(first17)
    assert valid_id_number(number) and not valid_id_number(number, born_by=date(2026, 3, 1))


PROVINCES = (
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83"
)


@given(
    st.integers(0, 10**17 - 1).map(lambda n: f"{n:017d}"),
    st.sampled_from("0123456789X"),
)
def test_the_vectorised_id_rule_is_the_one_by_one_rule(first17: str, check: str) -> None:
    number = first17 + check
    born = first17[6:14]
    try:
        real = date(int(born[:4]), int(born[4:6]), int(born[6:]))
    except ValueError:
        real = None
    expected = (
        first17[:2] in PROVINCES.split()
        and real is not None
        and real.year >= 1900
        and id_check_character(first17) == check
    )
    chars = np.frombuffer(number.encode(), dtype=np.uint8).reshape(1, 18)
    assert bool(valid_id_digits(chars)[0]) is expected is valid_id_number(number)
    assert re.match(ID_SHAPE, number)


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("zs@example.com", True),
        ("wei.li.12@example.org", True),
        ("o'brien+debt@mail.example.co.uk", True),
        ("a@b", False),
        ("a..b@example.com", False),
        (".a@example.com", False),
        ("a@-example.com", False),
        ("a@example.c", False),
        ("a b@example.com", False),
        ("张三@example.com", False),
        ("a@@example.com", False),
        ("x" * 65 + "@example.com", False),  # the local part is at most 64 characters
        ("a@" + "b" * 250 + ".com", False),  # the address at most 254
    ],
)
def test_email_addresses(address: str, valid: bool) -> None:
    assert valid_email_address(address) is valid
    if len(address) <= 254:
        assert all(re.match(p, address) for p in EMAIL_PATTERNS) is valid


def test_the_labs_synthetic_people_pass_every_check() -> None:
    people = synthetic_identities(
        np.random.default_rng(7),
        3000,
        date(2026, 3, 31),
        age={"mean": 35.0, "sd": 10.0, "min": 18.0, "max": 75.0},
        email_share=0.5,
    )
    assert all(valid_phone_number(p, "CN") for p in people.phone.to_pylist())
    assert all(valid_id_number(i, born_by=date(2026, 3, 31)) for i in people.id_number.to_pylist())
    assert all(valid_email_address(e) for e in people.email.to_pylist() if e is not None)
    for prefix in MOBILE_PREFIXES:
        assert valid_phone_number(f"{prefix}12345678", "CN"), prefix
