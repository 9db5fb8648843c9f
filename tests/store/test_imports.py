"""`arrears import loans|payments|events`: good files, every kind of bad row, --skip-bad, idempotency."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrears.services.imports import ImportRejected, import_file, read_table
from arrears.services.unit_of_work import UnitOfWork
from tests.store.conftest import LOANS, PAYMENTS, counts, write

HEADER = LOANS.splitlines()[0]
PAY_HEADER = "payment_id,loan_id,paid_on,amount,reverses,source"


def test_good_files_import_through_the_cli(store_url: str, files: dict[str, Path], cli) -> None:
    loans = cli("import", "loans", str(files["loans"]), "--json")
    assert loans.code == 0, loans.stderr
    summary = json.loads(loans.stdout)
    assert {k: summary[k] for k in ("rows", "written", "duplicates", "rejected", "loans", "borrowers")} == {
        "rows": 4,
        "written": 4,
        "duplicates": 0,
        "rejected": 0,
        "loans": 2,
        "borrowers": 2,
    }
    assert summary["seconds"] >= 0
    payments = json.loads(cli("import", "payments", str(files["payments"]), "--json").stdout)
    assert (payments["written"], payments["payments"], payments["reversals"]) == (2, 2, 0)
    events = cli("import", "events", str(files["events"]))
    assert events.code == 0
    for name, n in (("rows read", 2), ("written", 2), ("duplicates", 0), ("rejected", 0)):
        assert re.search(rf"│ {name}\s*│\s*{n} │", events.stdout), name
    after = counts(store_url)
    assert {k: after[k] for k in ("borrowers", "loans", "instalments", "payments", "account_events")} == {
        "borrowers": 2,
        "loans": 2,
        "instalments": 4,
        "payments": 2,
        "account_events": 2,
    }
    # schedule postings: principal on 4 instalments, interest on 3 (L2 has none); one per payment
    assert after["ledger_postings"] == 4 + 3 + 2
    assert (after["imports"], after["audit_log"]) == (3, 3)


def test_stored_borrower_and_events_keep_what_the_file_said(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        b1 = uow.borrowers.get("B1")
        assert b1 is not None
        assert (b1.name, b1.phone, b1.id_number, b1.timezone, b1.persona) == (
            "张三",
            "13812345678",
            "110101199003071233",
            "Asia/Shanghai",
            "forgetful",
        )
        b2 = uow.borrowers.get("B2")
        assert b2 is not None and (b2.timezone, b2.persona, b2.email) == (None, None, None)
        events = uow.events.for_loan("L2")
    assert [(e.id, e.kind, e.on.isoformat()) for e in events] == [
        ("E1", "autodebit_failed", "2026-02-15"),
        ("E2", "contact", "2026-02-17"),
    ]
    assert events[0].at is not None and events[0].at.isoformat() == "2026-02-15T01:00:00+00:00"
    assert events[1].detail == {"channel": "sms", "outcome": "delivered"}


def test_reimporting_writes_nothing_and_counts_duplicates(loaded: str, files: dict[str, Path], cli) -> None:
    before = counts(loaded)
    for kind, name in (
        ("loans", "loans"),
        ("payments", "payments"),
        ("payments", "reversal"),
        ("events", "events"),
    ):
        result = json.loads(cli("import", kind, str(files[name]), "--json").stdout)
        assert (result["written"], result["rejected"]) == (0, 0)
        assert result["duplicates"] == result["rows"]
    after = counts(loaded)
    # only the bookkeeping of the four imports is new
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"imports": 4, "audit_log": 4}


def test_parquet_files_import_like_csv(store_url: str, tmp_path: Path) -> None:
    loans = read_table(write(tmp_path, "l.csv", LOANS))
    pq.write_table(loans, tmp_path / "loans.parquet")
    typed = pa.table(
        {
            "payment_id": ["P1", "P2"],
            "loan_id": ["L1", "L2"],
            "paid_on": pa.array([date(2026, 2, 10), date(2026, 2, 20)], pa.date32()),
            "amount": pa.array([Decimal("353.33"), Decimal("500.00")], pa.decimal128(12, 2)),
        }
    )
    pq.write_table(typed, tmp_path / "payments.parquet")
    with UnitOfWork(store_url) as uow:
        assert import_file(uow, "loans", tmp_path / "loans.parquet").written == 4
        assert import_file(uow, "payments", tmp_path / "payments.parquet").written == 2
        loan = uow.loans.get("L2")
    assert [(p.id, p.amount) for p in loan.payments] == [("P2", 50000)]


# ------------------------------------------------------------------------------------------ bad rows

BAD_LOANS = [
    # (row to append, expected message part)
    (
        "L3,B3,no-such-product,CNY,1,2026-02-10,100.00,,,,,,,,,,,",
        "loans.csv:6: field 'product': unknown product 'no-such-product'",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-30,100.00,,,,,,,,,,,",
        "loans.csv:6: field 'due_date': bad date '2026-02-30' (use YYYY-MM-DD)",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,-100.00,,,,,,,,,,,",
        "loans.csv:6: field 'principal': negative amount '-100.00'",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.001,,,,,,,,,,,",
        "loans.csv:6: field 'principal': too many decimals in '100.001' (the currency has 2)",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,abc,,,,,,,,,,,",
        "loans.csv:6: field 'principal': not a decimal amount: 'abc'",
    ),
    (
        "L3,B3,baitiao-3,USD,1,2026-02-10,100.00,,,,,,,,,,,",
        "loans.csv:6: field 'currency': USD does not match product baitiao-3 (CNY)",
    ),
    (
        "L3,B3,baitiao-3,CNY,x,2026-02-10,100.00,,,,,,,,,,,",
        "loans.csv:6: field 'seq': not a whole number: 'x'",
    ),
    (
        "L3,B3,baitiao-3,CNY,1.5,2026-02-10,100.00,,,,,,,,,,,",
        "loans.csv:6: field 'seq': not a whole number: '1.5'",
    ),
    (",B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,,,,,,", "loans.csv:6: field 'loan_id': is required"),
    (
        "L2,B2,baitiao-30d,CNY,1,2026-02-16,800.00,,,,,,,,,,,",
        "loans.csv:6: field 'seq': duplicate in file: loan L2 seq 1 is also on row 5",
    ),
    (
        "L2,B9,baitiao-30d,CNY,2,2026-03-16,800.00,,,,,,,,,,,",
        "loans.csv:6: field 'borrower_id': loan L2 has borrower_id 'B9' here but 'B2' on row 5",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,,,Mars/Olympus,,,",
        "loans.csv:6: field 'timezone': unknown time zone 'Mars/Olympus'",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,phone?,,,,,,",
        "loans.csv:6: field 'phone': is not a valid phone number for CN",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,1399876,12345,,,,,",
        "loans.csv:6: field 'phone': is not a valid phone number for CN",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,12345,,,,,",
        "loans.csv:6: field 'id_number': is not a resident ID number",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,,zs@example,,,,",
        "loans.csv:6: field 'email': is not an e-mail address",
    ),
    (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,,,,,,robot",
        "loans.csv:6: field 'persona': unknown persona 'robot'",
    ),
]


def _each_case(
    cli, store_url: str, tmp_path: Path, kind: str, base: str, cases: list[tuple[str, str]]
) -> list[str]:
    """Import `base` plus each bad row in turn (one store: nothing is written); what went other than expected."""
    before = counts(store_url)
    wrong = []
    for row, message in cases:
        path = write(tmp_path, f"{kind}.csv", base + row + "\n")
        result = cli("import", kind, str(path), "--json")
        stderr = result.stderr.replace(str(tmp_path) + "/", "")
        summary = json.loads(result.stdout) if result.stdout else {}
        if result.code != 2 or message not in stderr or "Traceback" in stderr:
            wrong.append(f"{row!r}: exit {result.code}, stderr {stderr!r}")
        elif (summary.get("written"), summary.get("rejected")) != (0, 1):
            wrong.append(f"{row!r}: summary {summary}")
        elif counts(store_url) != before:
            wrong.append(f"{row!r}: the store changed")
    return wrong


def test_each_bad_loan_row_is_named_and_nothing_is_written(store_url: str, tmp_path: Path, cli) -> None:
    assert _each_case(cli, store_url, tmp_path, "loans", LOANS, BAD_LOANS) == []
    assert (
        "1 bad row(s) of 5; nothing was written" in cli("import", "loans", str(tmp_path / "loans.csv")).stderr
    )


def test_a_missing_column_is_reported_on_the_header(store_url: str, tmp_path: Path, cli) -> None:
    path = write(tmp_path, "loans.csv", "loan_id,borrower_id,product\nL1,B1,baitiao-3\n")
    result = cli("import", "loans", str(path))
    assert result.code == 2
    assert (
        "loans.csv:1: field 'currency': missing column(s) currency, seq, due_date, principal" in result.stderr
    )


BAD_PAYMENTS = [
    ("P9,L9,2026-02-11,10.00,,", "payments.csv:4: field 'loan_id': unknown loan 'L9'"),
    ("P9,L1,2026-13-01,10.00,,", "payments.csv:4: field 'paid_on': bad date '2026-13-01' (use YYYY-MM-DD)"),
    ("P9,L1,2026-02-11,-10.00,,", "payments.csv:4: field 'amount': negative amount '-10.00'"),
    ("P9,L1,2026-02-11,0.00,,", "payments.csv:4: field 'amount': must be more than zero"),
    (
        "P9,L1,2026-02-11,10.005,,",
        "payments.csv:4: field 'amount': too many decimals in '10.005' (the currency has 2)",
    ),
    (
        "P1,L1,2026-02-11,10.00,,",
        "payments.csv:4: field 'payment_id': duplicate in file: 'P1' is also on row 2",
    ),
    (
        "P9,L1,2026-01-01,10.00,,",
        "payments.csv:4: field 'paid_on': paid on 2026-01-01, before the loan was opened (2026-01-10)",
    ),
    ("R9,L1,2026-02-12,10.00,P404,", "payments.csv:4: field 'reverses': unknown payment 'P404'"),
    (
        "R9,L1,2026-02-12,10.00,P1,",
        "payments.csv:4: field 'amount': a reversal must equal the payment it reverses",
    ),
    (
        "R9,L2,2026-02-21,500.00,P1,",
        "payments.csv:4: field 'loan_id': payment 'P1' belongs to loan L1, not L2",
    ),
    (
        "R9,L1,2026-02-09,353.33,P1,",
        "payments.csv:4: field 'paid_on': reversed on 2026-02-09, before payment 'P1' was made",
    ),
]


def test_each_bad_payment_row_is_named_and_nothing_is_written(
    store_url: str, files: dict[str, Path], tmp_path: Path, cli
) -> None:
    assert cli("import", "loans", str(files["loans"])).code == 0
    assert _each_case(cli, store_url, tmp_path, "payments", PAYMENTS, BAD_PAYMENTS) == []


BAD_EVENTS = [
    ("E9,L1,teleported,2026-02-11,,", "events.csv:4: field 'kind': unknown event kind 'teleported'"),
    (
        "E9,L1,contact,2026-02-11,,{}",
        "events.csv:4: field 'detail': a contact event needs channel and outcome in detail",
    ),
    ("E9,L1,promise_made,2026-02-11,,[1]", "events.csv:4: field 'detail': must be a JSON object"),
    ("E9,L1,promise_made,2026-02-11,,{oops", "events.csv:4: field 'detail': not JSON"),
    ("E9,L1,promise_made,2026-02-11,2026-02-11T10:00:00,", "events.csv:4: field 'at': needs a UTC offset"),
    (
        "E1,L1,promise_made,2026-02-11,,",
        "events.csv:4: field 'event_id': duplicate in file: 'E1' is also on row 2",
    ),
    ("E9,L7,promise_made,2026-02-11,,", "events.csv:4: field 'loan_id': unknown loan 'L7'"),
]


def test_each_bad_event_row_is_named_and_nothing_is_written(
    store_url: str, files: dict[str, Path], tmp_path: Path, cli
) -> None:
    assert cli("import", "loans", str(files["loans"])).code == 0
    base = files["events"].read_text(encoding="utf-8")
    assert _each_case(cli, store_url, tmp_path, "events", base, BAD_EVENTS) == []


def test_errors_are_listed_up_to_twenty_with_a_count(
    store_url: str, files: dict[str, Path], tmp_path: Path, cli
) -> None:
    assert cli("import", "loans", str(files["loans"])).code == 0
    rows = "".join(f"X{i},L404,2026-02-11,1.00,,\n" for i in range(25))
    result = cli("import", "payments", str(write(tmp_path, "payments.csv", PAY_HEADER + "\n" + rows)))
    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if "unknown loan 'L404'" in line]
    assert len(lines) == 20
    assert lines[0].endswith("payments.csv:2: field 'loan_id': unknown loan 'L404'")
    assert "... and 5 more error(s)" in result.stderr
    assert "25 bad row(s) of 25; nothing was written" in result.stderr


def test_skip_bad_writes_good_rows_and_the_rejects_file(
    store_url: str, files: dict[str, Path], tmp_path: Path, cli
) -> None:
    # L3's second row is bad, so L3 is rejected whole; L4 is fine
    extra = (
        "L3,B3,baitiao-3,CNY,1,2026-02-10,100.00,,,,,,,,,,,\n"
        "L3,B3,baitiao-3,CNY,2,2026-03-10,1.234,,,,,,,,,,,\n"
        "L4,B4,baitiao-30d,CNY,1,2026-02-10,50.00,,,,,,,,,,,\n"
    )
    path = write(tmp_path, "loans.csv", LOANS + extra)
    result = cli("import", "loans", str(path), "--skip-bad", "--json")
    assert result.code == 1, result.stderr  # rows were rejected: exit 1 (0 only when every row is good)
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows", "written", "rejected", "loans")} == {
        "rows": 7,
        "written": 5,
        "rejected": 2,
        "loans": 3,
    }
    assert summary["rejects_file"] == f"{path}.rejects.csv"
    with open(summary["rejects_file"], encoding="utf-8", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [(r["loan_id"], r["seq"], r["reject_row"], r["reject_column"]) for r in rejects] == [
        ("L3", "1", "6", ""),
        ("L3", "2", "7", "principal"),
    ]
    assert rejects[0]["reason"] == "loan L3 has a bad row (row 7)"
    assert rejects[1]["reason"] == "principal: too many decimals in '1.234' (the currency has 2)"
    with UnitOfWork(store_url) as uow:
        assert uow.loans.exists("L4") and not uow.loans.exists("L3")


def test_a_stored_loan_imported_with_other_contents_is_a_bad_row(loaded: str, tmp_path: Path, cli) -> None:
    changed = LOANS.replace(
        "L2,B2,baitiao-30d,CNY,1,2026-02-15,800.00", "L2,B2,baitiao-30d,CNY,1,2026-02-15,900.00"
    )
    before = counts(loaded)
    result = cli("import", "loans", str(write(tmp_path, "loans.csv", changed)))
    assert result.code == 2
    assert (
        "loans.csv:5: field 'loan_id': loan L2 is already stored with different contents "
        "(seq 1 principal: stored 800.00, file 900.00)"
    ) in result.stderr
    assert counts(loaded) == before


def test_the_import_service_raises_with_every_error(store_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "loans.csv", HEADER + "\nL1,B1,nope,CNY,0,2026-02-10,1,,,,,,,,,,,\n")
    with UnitOfWork(store_url) as uow, pytest.raises(ImportRejected) as caught:
        import_file(uow, "loans", path)
    assert [(e.row, e.column) for e in caught.value.errors] == [(2, "product"), (2, "seq")]
    assert caught.value.errors[1].reason == "must be at least 1"


def test_a_missing_file_and_an_unknown_kind_are_input_errors(store_url: str, tmp_path: Path, cli) -> None:
    result = cli("import", "loans", str(tmp_path / "nope.csv"))
    assert result.code == 2
    assert "nope.csv: file not found" in result.stderr
    bad = write(tmp_path, "loans.xlsx", "x")
    assert "unknown file type (use .csv or .parquet)" in cli("import", "loans", str(bad)).stderr


def test_a_bom_is_fine_and_bytes_that_are_not_utf8_are_named_by_line(
    store_url: str, tmp_path: Path, cli
) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + LOANS.encode("utf-8"))
    assert json.loads(cli("import", "loans", str(bom), "--json").stdout)["written"] == 4
    latin = tmp_path / "latin.csv"
    latin.write_bytes((PAY_HEADER + "\nP1,L1,2026-02-10,1.00,,caf").encode() + b"\xe9\n")
    result = cli("import", "payments", str(latin))
    assert result.code == 2
    assert "latin.csv:2: not UTF-8 text" in result.stderr


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        (pa.array([1.5, 2.0, 3.0, 1.0]), "loans.parquet: field 'seq': holds floating-point numbers"),
        (
            pa.array([Decimal("1.5"), Decimal(2), Decimal(3), Decimal(1)], pa.decimal128(4, 1)),
            "loans.parquet:2: field 'seq': not a whole number: '1.5'",
        ),
    ],
)
def test_a_parquet_seq_that_is_not_a_whole_number_is_refused(
    store_url: str, tmp_path: Path, cli, seq: pa.Array, expected: str
) -> None:
    loans = read_table(write(tmp_path, "l.csv", LOANS))
    assert loans.num_rows == len(seq)
    pq.write_table(
        loans.set_column(loans.schema.get_field_index("seq"), "seq", seq), tmp_path / "loans.parquet"
    )
    result = cli("import", "loans", str(tmp_path / "loans.parquet"))
    assert result.code == 2
    assert expected in result.stderr.replace(str(tmp_path) + "/", "")
    assert "Traceback" not in result.stderr


def test_floating_point_amounts_are_refused(
    store_url: str, files: dict[str, Path], tmp_path: Path, cli
) -> None:
    assert cli("import", "loans", str(files["loans"])).code == 0
    table = pa.table({"payment_id": ["P1"], "loan_id": ["L1"], "paid_on": ["2026-02-10"], "amount": [353.33]})
    pq.write_table(table, tmp_path / "float.parquet")
    result = cli("import", "payments", str(tmp_path / "float.parquet"))
    assert result.code == 2
    assert "field 'amount': floating-point amounts are not accepted" in result.stderr
