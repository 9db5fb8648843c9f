"""The envelope cipher and the key configuration, without a store."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.adapters.crypto import FileKeyProvider, PersonalDataCipher, UnreadableData
from arrears.domain.errors import InputError
from arrears.domain.personal_data import RetentionPeriods, normal_phone
from arrears.entrypoints.startup_checks import data_key_problems
from arrears.services.data_keys import DataKeys, data_keys, key_id, new_key

CIPHER = PersonalDataCipher(FileKeyProvider(DataKeys((new_key(),), new_key(), "test")))
fields = st.one_of(st.none(), st.text(max_size=80))


@settings(max_examples=150, deadline=None)
@given(
    borrower_id=st.text(min_size=1, max_size=20),
    name=fields,
    phone=fields,
    id_number=fields,
    email=fields,
    address=fields,
)
def test_what_is_sealed_opens_to_the_same_values(
    borrower_id: str,
    name: str | None,
    phone: str | None,
    id_number: str | None,
    email: str | None,
    address: str | None,
) -> None:
    values = {"name": name, "phone": phone, "id_number": id_number, "email": email, "address": address}
    sealed = CIPHER.seal(borrower_id, values)
    for field, value in values.items():
        assert (sealed[field] is None) == (value is None)
        if value is not None and len(value) >= 8:  # a short value may occur in base64 by chance
            assert value not in sealed[field]
    assert CIPHER.open(borrower_id, sealed) == values


@settings(max_examples=100, deadline=None)
@given(
    digits=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    style=st.sampled_from(["{}", "+86{}", "+86 {}", "0086{}", "86-{}"]),
)
def test_every_written_form_of_a_number_has_the_same_lookup_hash(digits: str, style: str) -> None:
    assert normal_phone(style.format(digits)) == digits
    assert CIPHER.lookup("phone", style.format(digits)) == CIPHER.lookup("phone", digits)


def test_a_ciphertext_moved_to_another_field_or_borrower_does_not_open() -> None:
    a = CIPHER.seal("B1", {"name": "张三", "phone": "13812345678"})
    b = CIPHER.seal("B2", {"name": "李四"})
    with pytest.raises(UnreadableData):
        CIPHER.open("B1", {**a, "name": a["phone"]})
    with pytest.raises(UnreadableData):
        CIPHER.open("B2", {**b, "data_key": a["data_key"]})


def test_a_retired_kek_still_unwraps_and_a_rewrap_moves_to_the_current_one() -> None:
    old, new, lookup = new_key(), new_key(), new_key()
    before = PersonalDataCipher(FileKeyProvider(DataKeys((old,), lookup, "t")))
    sealed = before.seal("B1", {"phone": "13812345678"})
    after = PersonalDataCipher(FileKeyProvider(DataKeys((new, old), lookup, "t")))
    assert after.open("B1", sealed)["phone"] == "13812345678"
    kid, wrapped = after.rewrap("B1", sealed["key_id"], sealed["data_key"])
    assert kid == key_id(new)
    only_new = PersonalDataCipher(FileKeyProvider(DataKeys((new,), lookup, "t")))
    assert only_new.open("B1", {**sealed, "key_id": kid, "data_key": wrapped})["phone"] == "13812345678"
    with pytest.raises(UnreadableData, match="retired kek"):
        only_new.open("B1", sealed)


def test_without_configured_keys_throwaway_development_keys_are_made_once(tmp_path: Path) -> None:
    env = {"ARREARS_DEV_DATA_KEY_FILE": str(tmp_path / "dev-keys")}
    first, second = data_keys(env), data_keys(env)
    assert first.development and first == second
    assert stat.S_IMODE((tmp_path / "dev-keys").stat().st_mode) == 0o600
    assert [p.setting for p in data_key_problems(env)] == ["data_key"]  # serve / dispatch refuse them
    assert data_key_problems({"ARREARS_DATA_KEY": "ab" * 32, "ARREARS_LOOKUP_KEY": "cd" * 32}) == []


def test_bad_key_settings_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "keys"
    bad.write_text("lookup " + "ab" * 32 + "\nkek 12345\n", encoding="utf-8")
    with pytest.raises(InputError, match="64 hex digits") as err:
        data_keys({"ARREARS_DATA_KEY_FILE": str(bad)})
    assert err.value.file == f"{bad}:2"
    with pytest.raises(InputError, match="look-up key"):
        data_keys({"ARREARS_DATA_KEY": "ab" * 32})


def test_retention_periods_read_days_months_and_years() -> None:
    periods = RetentionPeriods.parse({"identity": "5y", "contact": "36m", "case_notes": 90})
    assert (
        periods.days["identity"] == 1825
        and periods.days["contact"] == 1080
        and periods.days["case_notes"] == 90
    )
    with pytest.raises(InputError, match="unknown data kind"):
        RetentionPeriods.parse({"photos": "1y"})


def test_a_kms_style_provider_plugs_in_by_name() -> None:
    from arrears.adapters.crypto import cipher
    from tests.privacy.fake_kms import KMS

    env = {"ARREARS_DATA_KEY_PROVIDER": "tests.privacy.fake_kms:provider"}
    kms_cipher = cipher(env)
    sealed = kms_cipher.seal("B1", {"name": "张三"})
    assert sealed["key_id"] == "kms-key-1" and KMS.calls["wrap"] == 1
    assert kms_cipher.open("B1", sealed)["name"] == "张三" and KMS.calls["unwrap"] == 1
    assert data_key_problems(env) == []
    with pytest.raises(InputError, match="cannot load the key provider"):
        cipher({"ARREARS_DATA_KEY_PROVIDER": "tests.privacy.no_such_module:provider"})


def test_a_postal_address_is_masked_past_its_city() -> None:
    from arrears.domain.masking import mask_address
    from arrears.domain.records import Borrower

    assert mask_address("北京市朝阳区建国路1号") == "北京市朝阳区*****"
    assert mask_address(None) is None
    view = Borrower("B1", address="上海市浦东新区世纪大道100号").view()
    assert view["address"] == "上海市浦东新*********"
    assert (
        Borrower("B1", address="上海市浦东新区世纪大道100号").view(unmasked=True)["address"].endswith("100号")
    )
