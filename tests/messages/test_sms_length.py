"""SMS encoding and segment counting: literal cases at every boundary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.errors import InputError
from arrears.domain.messages import (
    SmsEncoding,
    SmsTooLong,
    enforce_sms_limit,
    measure_sms,
    sms_encoding,
    sms_parts,
    sms_units,
)

HAN = "还"  # any CJK character: one UTF-16 code unit


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", SmsEncoding.GSM7, 0, 1),
        ("a" * 160, SmsEncoding.GSM7, 160, 1),
        ("a" * 161, SmsEncoding.GSM7, 161, 2),
        ("a" * 306, SmsEncoding.GSM7, 306, 2),
        ("a" * 307, SmsEncoding.GSM7, 307, 3),
        ("€" * 80, SmsEncoding.GSM7, 160, 1),  # € is in the extension table: two septets
        ("€" * 81, SmsEncoding.GSM7, 162, 2),
        ("[" + "a" * 159, SmsEncoding.GSM7, 161, 2),
        ("a" * 158 + "{}", SmsEncoding.GSM7, 162, 2),
        ("^~|\\", SmsEncoding.GSM7, 8, 1),
        ("¥£$@èÉ", SmsEncoding.GSM7, 6, 1),  # all in the basic table
        ("CN¥1,234.56", SmsEncoding.GSM7, 11, 1),
        (HAN * 70, SmsEncoding.UCS2, 70, 1),
        (HAN * 71, SmsEncoding.UCS2, 71, 2),
        (HAN * 134, SmsEncoding.UCS2, 134, 2),
        (HAN * 135, SmsEncoding.UCS2, 135, 3),
        (HAN * 201, SmsEncoding.UCS2, 201, 3),
        (HAN * 202, SmsEncoding.UCS2, 202, 4),
        ("a" * 69 + "é", SmsEncoding.GSM7, 70, 1),
        ("a" * 69 + "ç", SmsEncoding.UCS2, 70, 1),  # ç (small) is not GSM-7; only Ç is
        ("a" * 70 + "ç", SmsEncoding.UCS2, 71, 2),
        ("😀" * 35, SmsEncoding.UCS2, 70, 1),  # an emoji is a surrogate pair: two code units
        ("😀" * 36, SmsEncoding.UCS2, 72, 2),
        ("a😀", SmsEncoding.UCS2, 3, 1),
        ("“hi”", SmsEncoding.UCS2, 4, 1),  # curly quotes push English out of GSM-7
    ],
)
def test_encoding_units_and_segments(text: str, encoding: SmsEncoding, units: int, segments: int) -> None:
    length = measure_sms(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)
    assert length.characters == len(text)


def test_extension_character_is_never_split_across_parts() -> None:
    # 152 plain septets then €: the escape pair would straddle the 153-septet boundary, so € moves on.
    text = "a" * 152 + "€" + "b" * 10
    parts = sms_parts(text)
    assert [sms_units(p, SmsEncoding.GSM7) for p in parts] == [152, 12]
    assert "".join(parts) == text


def test_surrogate_pair_is_never_split_across_parts() -> None:
    text = HAN * 66 + "😀" + HAN * 10  # 66 + 2 + 10 = 78 code units
    parts = sms_parts(text)
    assert [len(p.encode("utf-16-le")) // 2 for p in parts] == [66, 12]
    assert measure_sms(text).segments == 2


def test_rare_case_where_boundary_pairs_add_a_segment() -> None:
    # 134 code units of emoji fit 2 x 67 on paper, but a pair cannot straddle: 33 per part -> 3 parts.
    text = "😀" * 67
    assert sms_units(text) == 134
    assert measure_sms(text).segments == 3


def test_ucs2_parts_are_67_code_units() -> None:
    parts = sms_parts(HAN * 135)
    assert [len(p) for p in parts] == [67, 67, 1]


def test_encoding_of_mixed_text() -> None:
    assert sms_encoding("Pay CN¥12.00 [ref]") is SmsEncoding.GSM7
    assert sms_encoding("Pay 还款") is SmsEncoding.UCS2


def test_limit_flags_and_raises() -> None:
    fits = measure_sms(HAN * 134, max_segments=2)
    assert not fits.over_limit
    assert enforce_sms_limit(fits) is fits
    over = measure_sms(HAN * 135, max_segments=2)
    assert over.over_limit
    assert over.to_dict() == {
        "encoding": "ucs2",
        "units": 135,
        "segments": 3,
        "characters": 135,
        "max_segments": 2,
        "over_limit": True,
    }
    with pytest.raises(SmsTooLong) as err:
        enforce_sms_limit(over, "zh-CN/sms/reminder")
    assert str(err.value) == (
        "field 'max_segments': zh-CN/sms/reminder: SMS needs 3 segments (ucs2, 135 units), the policy allows 2"
    )


def test_no_limit_is_never_over() -> None:
    assert not measure_sms(HAN * 1000).over_limit


def test_limit_below_one_is_bad_input() -> None:
    with pytest.raises(InputError, match="max_segments must be at least 1"):
        measure_sms("hi", max_segments=0)


SMS_ALPHABET = st.sampled_from([*"abc €[{}^", "还", "款", "😀", "é", "ç", "\n"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=SMS_ALPHABET, max_size=400))
def test_parts_rejoin_fit_and_agree_with_the_count(text: str) -> None:
    parts = sms_parts(text)
    assert "".join(parts) == text
    length = measure_sms(text)
    assert length.segments == len(parts)
    if len(parts) > 1:
        limit = 153 if length.encoding is SmsEncoding.GSM7 else 67
        assert all(sms_units(p, length.encoding) <= limit for p in parts)
        assert length.segments >= -(-length.units // limit)
