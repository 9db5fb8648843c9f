"""Personal data checked as docs/import-formats.md says — phone numbers for the loan's market, CN resident
ID numbers, e-mail syntax — through `arrears import loans`, bad rows named without their values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.store.conftest import LOANS, counts, write

HEADER = LOANS.splitlines()[0]
ROW = "L9,B9,{product},{currency},1,2026-02-15,800.00,,,2026-01-16,王五,{phone},{id_number},{email},,,,"


def _file(tmp_path: Path, **values: str) -> Path:
    fields = {"product": "baitiao-30d", "currency": "CNY", "phone": "", "id_number": "", "email": ""} | values
    return write(tmp_path, "loans.csv", f"{HEADER}\n{ROW.format(**fields)}\n")


@pytest.fixture(autouse=True)
def _store(store_url: str) -> None:
    counts(store_url)  # the store exists (an import does not create one)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("phone", "1399876", "is not a valid phone number for CN (write +country code for another region)"),
        ("phone", "10000000000", "is not a valid phone number for CN (write +country code for another region)"),
        ("phone", "138-1234-567x", "is not a valid phone number for CN (write +country code for another region)"),
        ("id_number", "12345", "is not a resident ID number (18 characters: region, birth date, sequence, check character)"),
        ("id_number", "110101199003071234", "is not a resident ID number (18 characters: region, birth date, sequence, check character)"),
        ("email", "zs@example", "is not an e-mail address"),
        ("email", "zs@@example.com", "is not an e-mail address"),
    ],
)  # fmt: skip
def test_a_bad_phone_id_number_or_email_is_a_bad_row_that_does_not_echo_it(
    store_url: str, tmp_path: Path, cli, column: str, value: str, reason: str
) -> None:
    path = _file(tmp_path, **{column: value})
    result = cli("import", "loans", str(path))
    assert result.code == 2
    assert f"{path}:2: field '{column}': {reason}" in result.stderr
    assert value not in result.stderr + result.stdout
    assert counts(store_url)["borrowers"] == 0


def test_good_personal_data_imports(store_url: str, tmp_path: Path, cli) -> None:
    path = _file(tmp_path, phone="+1 212 555 0101", id_number="11010519491231002X", email="ww@example.org")
    result = cli("import", "loans", str(path), "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["borrowers"] == 1


def test_skip_bad_lists_the_bad_rows_of_a_gbk_file_and_writes_the_good_ones(
    store_url: str, tmp_path: Path, cli
) -> None:
    text = LOANS.replace("13998765432", "1399876").replace("\n", "\r\n")
    path = tmp_path / "loans.csv"
    path.write_bytes(text.encode("gbk"))
    result = cli("import", "loans", str(path), "--encoding", "auto", "--skip-bad")
    assert result.code == 1
    assert f"{path}:5: field 'phone': is not a valid phone number for CN" in result.stderr
    assert "1399876" not in result.stderr
    assert counts(store_url)["loans"] == 1  # L1 written, L2 rejected


def test_personal_data_shifted_into_another_column_is_not_quoted(store_url: str, tmp_path: Path, cli) -> None:
    # "1,000.00" unquoted adds a field and a truncated last line drops one: every value from the interest
    # column on moves one column right, the e-mail address into `timezone` (found by the importer fuzzing)
    row = "L9,B9,baitiao-30d,CNY,1,2026-02-15,800.00,1,000.00,,2026-01-16,王五,13812345678,11010519491231002X,ww@example.org,Asia/Shanghai,Beijing,zh"
    result = cli("import", "loans", str(write(tmp_path, "loans.csv", f"{HEADER}\n{row}")))
    assert result.code == 2
    assert "field 'timezone': unknown time zone (14 characters, not shown)" in result.stderr
    for value in ("王五", "13812345678", "11010519491231002X", "ww@example.org"):
        assert value not in result.stderr
