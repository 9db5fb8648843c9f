"""Import files as people's tools write them: line endings, byte-order marks, GBK from Chinese Excel, NUL
bytes, rows with a field too many — accepted as the same rows, or one line naming file and line (exit 2),
never a traceback, never a row's content on stderr; and --skip-bad's exit codes."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.store.conftest import LOANS, counts

EXPECTED = {"rows": 4, "written": 4, "loans": 2, "borrowers": 2, "rejected": 0}
PERSONAL = ("13812345678", "110101199003071233", "zs@example.com", "张三", "李四", "13998765432")


@pytest.fixture(autouse=True)
def _store(store_url: str) -> None:
    counts(store_url)  # the store exists (an import does not create one)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _summary(stdout: str) -> dict[str, object]:
    summary = json.loads(stdout)
    return {k: summary[k] for k in EXPECTED}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("lf", LOANS.encode()),
        ("crlf", LOANS.replace("\n", "\r\n").encode()),
        ("cr", LOANS.replace("\n", "\r").encode()),
        ("mixed", LOANS.replace("\n", "\r", 2).replace("\n", "\r\n", 1).encode()),
        ("utf8-bom", codecs.BOM_UTF8 + LOANS.encode()),
        ("utf16-le-bom", LOANS.encode("utf-16")),  # the BOM comes first
        ("utf16-be-bom", codecs.BOM_UTF16_BE + LOANS.encode("utf-16-be")),
        ("utf32-bom", LOANS.encode("utf-32")),
    ],
)
def test_line_endings_and_byte_order_marks_read_as_the_same_rows(
    store_url: str, tmp_path: Path, cli, name: str, data: bytes
) -> None:
    result = cli("import", "loans", str(_write(tmp_path, f"{name}.csv", data)), "--json")
    assert result.code == 0, result.stderr
    assert _summary(result.stdout) == EXPECTED
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(store_url) as uow:
        b1 = uow.borrowers.get("B1")
        assert b1 is not None and b1.name == "张三"


def test_a_gbk_file_from_chinese_excel_needs_its_encoding_named_or_detected(
    store_url: str, tmp_path: Path, cli
) -> None:
    path = _write(tmp_path, "loans.csv", LOANS.replace("\n", "\r\n").encode("gbk"))
    refused = cli("import", "loans", str(path))
    assert refused.code == 2
    assert refused.stderr.strip().endswith(
        f"{path}:2: not UTF-8 text (name the encoding with --encoding, e.g. gbk, or use --encoding auto)"
    )
    assert "Traceback" not in refused.stderr
    assert counts(store_url)["loans"] == 0
    for encoding in ("gbk", "GB18030", "auto"):
        result = cli("import", "loans", str(path), "--encoding", encoding, "--json")
        assert result.code == 0, result.stderr
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(store_url) as uow:
        b2 = uow.borrowers.get("B2")
        assert b2 is not None and b2.name == "李四"


def test_bad_rows_of_a_gbk_file_are_listed_as_in_a_utf8_one(store_url: str, tmp_path: Path, cli) -> None:
    bad = LOANS.replace("2026-02-15,800.00", "2026-02-30,800.00")
    path = _write(tmp_path, "loans.csv", bad.encode("gbk"))
    result = cli("import", "loans", str(path), "--encoding", "auto")
    assert result.code == 2
    assert f"{path}:5: field 'due_date': bad date '2026-02-30' (use YYYY-MM-DD)" in result.stderr


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (LOANS.encode("gbk"), "utf-8", ":2: not UTF-8 text"),
        (LOANS.encode() + b"\xff\xfe\xfa\n", "auto", ":6: neither UTF-8 nor GB18030 (GBK) text"),
        (LOANS.encode().replace(b"L2,B2", b"L2\x00,B2"), "utf-8", ":5: holds a NUL byte"),
        (LOANS.encode("utf-16-le"), "utf-8", ":1: holds a NUL byte"),  # UTF-16 without its BOM
        (LOANS.encode(), "ebcdic", "field 'encoding': unknown encoding 'ebcdic'"),
        (b"", "utf-8", ": empty file: no header row"),
        (b"\x00\x00\x00", "utf-8", ":1: holds a NUL byte"),
    ],
)
def test_files_that_are_not_text_are_one_line_naming_file_and_line(
    store_url: str, tmp_path: Path, cli, data: bytes, encoding: str, message: str
) -> None:
    before = counts(store_url)
    result = cli("import", "loans", str(_write(tmp_path, "loans.csv", data)), "--encoding", encoding)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert counts(store_url) == before


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_a_row_with_a_field_too_many_names_its_line_and_never_echoes_the_row(
    store_url: str, tmp_path: Path, cli, line_end: str
) -> None:
    lines = LOANS.splitlines()
    lines[1] += ",extra"  # the row with the name, phone, ID number and e-mail
    lines[3] = lines[3][: lines[3].index(",2026-04-10")]  # and one with too few
    path = _write(tmp_path, "loans.csv", line_end.join([*lines, ""]).encode())
    result = cli("import", "loans", str(path))
    assert result.code == 2
    assert (
        f"{path}:2: 19 field(s), the header has 18 (a comma inside a value needs quotes) (1 more such row(s))"
        in (result.stderr)
    )
    assert not [p for p in PERSONAL if p in result.stderr + result.stdout]
    assert counts(store_url)["loans"] == 0


def test_skip_bad_exits_0_when_every_row_is_good_and_1_when_rows_were_rejected(
    store_url: str, tmp_path: Path, cli
) -> None:
    good = _write(tmp_path, "good.csv", LOANS.encode())
    assert cli("import", "loans", str(good), "--skip-bad").code == 0
    bad = LOANS.replace("L2,B2,baitiao-30d,CNY,1,2026-02-15", "L3,B3,baitiao-30d,CNY,1,2026-02-31")
    path = _write(tmp_path, "some.csv", bad.encode())
    some = cli("import", "loans", str(path), "--skip-bad")
    assert some.code == 1
    assert re.search(r"│ rows read\s*│\s*4 │", some.stdout) and re.search(r"│ written\s*│\s*0 │", some.stdout)
    assert re.search(r"│ rejected\s*│\s*1 │", some.stdout)
    assert f"{path}:5: field 'due_date': bad date '2026-02-31' (use YYYY-MM-DD)" in some.stderr
    every = _write(tmp_path, "every.csv", LOANS.replace(",CNY,", ",XYZ,").encode())
    result = cli("import", "loans", str(every), "--skip-bad", "--json")
    assert result.code == 1
    assert json.loads(result.stdout)["rejected"] == 4
    unreadable = _write(tmp_path, "nul.csv", b"loan_id\x00\n")
    assert cli("import", "loans", str(unreadable), "--skip-bad").code == 2


@pytest.mark.parametrize(
    ("values", "type_name"),
    [
        (pa.array([[1, 2]]), "list<element: int64>"),
        (pa.array([{"a": 1}]), "struct<a: int64>"),
        (pa.array([b"\xff\xfe"], pa.binary()), "binary"),
    ],
)
def test_a_parquet_column_that_is_not_text_is_refused_naming_it(
    store_url: str, tmp_path: Path, cli, values: pa.Array, type_name: str
) -> None:
    path = tmp_path / "payments.parquet"
    table = pa.table({"payment_id": values, "loan_id": ["L1"], "paid_on": ["2026-01-01"], "amount": ["1.00"]})
    pq.write_table(table, path)
    result = cli("import", "payments", str(path))
    assert result.code == 2
    assert (
        f"{path}: field 'payment_id': holds {type_name} values, which cannot be read as text" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_an_ignored_parquet_list_column_goes_to_the_rejects_file_as_text(
    store_url: str, tmp_path: Path, cli
) -> None:
    path = tmp_path / "payments.parquet"
    pq.write_table(
        pa.table(
            {
                "payment_id": ["P1"],
                "loan_id": ["L404"],
                "paid_on": ["2026-01-01"],
                "amount": ["1.00"],
                "x": [[1]],
            }
        ),
        path,
    )
    result = cli("import", "payments", str(path), "--skip-bad")
    assert result.code == 1
    assert (
        Path(f"{path}.rejects.csv")
        .read_text()
        .splitlines()[1]
        .startswith('"P1","L404","2026-01-01","1.00","[1]"')
    )
