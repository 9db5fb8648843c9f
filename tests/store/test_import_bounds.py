"""Bounds on what a loan may hold, so no sum the ledger makes can overflow 64 bits: one amount, a loan's
schedule, its payments in a file, its number of instalments (the portfolio's totals: tests/unit/test_exact_totals.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arrears.domain.money import MAX_AMOUNT_MINOR, MAX_LOAN_TOTAL_MINOR
from tests.store.conftest import counts, write

HEADER = "loan_id,borrower_id,product,currency,seq,due_date,principal,interest,fees,opened_on"


def _schedule(loan: str, amount: str, instalments: int, field: str = "principal") -> str:
    rows = []
    for seq in range(1, instalments + 1):
        year, month = 2026 + (seq - 1) // 12, (seq - 1) % 12 + 1
        values = {"principal": "1.00", "interest": "", "fees": ""} | {field: amount}
        rows.append(
            f"{loan},B{loan},baitiao-12,CNY,{seq},{year}-{month:02d}-10,"
            f"{values['principal']},{values['interest']},{values['fees']},2025-12-01"
        )
    return "\n".join([HEADER, *rows, ""])


@pytest.fixture(autouse=True)
def _store(store_url: str) -> None:
    counts(store_url)  # the store exists (an import does not create one)


def test_sixty_instalments_of_a_quadrillion_are_bad_rows_naming_the_field(
    store_url: str, tmp_path: Path, cli
) -> None:
    path = write(tmp_path, "loans.csv", _schedule("LH", "999999999999999.99", 60))
    result = cli("import", "loans", str(path))
    assert result.code == 2
    assert (
        f"{path}:2: field 'principal': amount too large: (18 characters, not shown) (at most 10000000000.00)"
    ) in result.stderr
    assert "60 bad row(s) of 60; nothing was written" in result.stderr
    assert counts(store_url)["loans"] == 0


@pytest.mark.parametrize("field", ["principal", "interest", "fees"])
def test_one_amount_over_the_bound_is_a_bad_row_and_the_bound_itself_is_not(
    store_url: str, tmp_path: Path, cli, field: str
) -> None:
    largest = f"{MAX_AMOUNT_MINOR // 100}.00"
    over = f"{MAX_AMOUNT_MINOR // 100}.01"
    assert (
        cli("import", "loans", str(write(tmp_path, "ok.csv", _schedule("L1", largest, 1, field)))).code == 0
    )
    bad = cli("import", "loans", str(write(tmp_path, "bad.csv", _schedule("L2", over, 1, field))))
    assert bad.code == 2
    # a long number is not quoted: a phone or an ID number shifted into an amount column would be
    assert f"field '{field}': amount too large: (14 characters, not shown) (at most {largest})" in bad.stderr


def test_a_loan_whose_instalments_add_up_past_the_bound_is_rejected_whole(
    store_url: str, tmp_path: Path, cli
) -> None:
    each = MAX_AMOUNT_MINOR // 100  # the largest amount, 11 times: over the loan bound of 10 of them
    path = write(tmp_path, "loans.csv", _schedule("LB", f"{each}.00", 11))
    result = cli("import", "loans", str(path), "--json")
    assert result.code == 2
    errors = json.loads(result.stdout)["errors"]
    assert len(errors) == 11 and {e["column"] for e in errors} == {None}
    assert errors[0]["reason"] == (
        f"loan LB: its instalments add up to {11 * each}.00, more than a loan may hold ({MAX_LOAN_TOTAL_MINOR // 100}.00)"
    )
    ten = write(tmp_path, "ten.csv", _schedule("LT", f"{each}.00", 10))
    assert cli("import", "loans", str(ten)).code == 0


def test_a_seq_past_the_most_instalments_a_loan_may_have_is_a_bad_row(
    store_url: str, tmp_path: Path, cli
) -> None:
    text = _schedule("LS", "1.00", 1).replace(",1,2026-01-10,", ",1201,2026-01-10,")
    result = cli("import", "loans", str(write(tmp_path, "loans.csv", text)))
    assert result.code == 2
    assert "field 'seq': must be at most 1200" in result.stderr


def test_payments_to_one_loan_in_a_file_are_bounded_by_what_a_loan_may_hold(
    store_url: str, tmp_path: Path, cli
) -> None:
    assert cli("import", "loans", str(write(tmp_path, "loans.csv", _schedule("LP", "100.00", 1)))).code == 0
    largest = f"{MAX_AMOUNT_MINOR // 100}.00"
    payments = ["payment_id,loan_id,paid_on,amount"]
    payments += [f"P{i},LP,2026-02-01,{largest}" for i in range(11)]
    result = cli("import", "payments", str(write(tmp_path, "payments.csv", "\n".join(payments) + "\n")))
    assert result.code == 2
    assert (
        "field 'amount': payments to loan LP in this file add up to more than a loan may hold"
        in result.stderr
    )
    assert counts(store_url)["payments"] == 0
    ok = "\n".join(payments[:11]) + "\n"  # ten of them: exactly the bound
    assert cli("import", "payments", str(write(tmp_path, "ten.csv", ok))).code == 0


def test_payments_to_one_loan_across_files_are_bounded_by_what_a_loan_may_hold(
    store_url: str, tmp_path: Path, cli
) -> None:
    """Ten files of one payment at the largest amount each reach the bound; an eleventh is a bad row, and
    the store is as it was."""
    assert cli("import", "loans", str(write(tmp_path, "loans.csv", _schedule("LX", "100.00", 1)))).code == 0
    largest = f"{MAX_AMOUNT_MINOR // 100}.00"
    for i in range(10):
        one = write(
            tmp_path, f"p{i}.csv", f"payment_id,loan_id,paid_on,amount\nP{i},LX,2026-02-01,{largest}\n"
        )
        assert cli("import", "payments", str(one)).code == 0
    assert counts(store_url)["payments"] == 10  # 10 × 10^12 = MAX_LOAN_TOTAL_MINOR: within the bound
    before = counts(store_url)
    more = write(tmp_path, "p10.csv", "payment_id,loan_id,paid_on,amount\nP10,LX,2026-02-02,0.01\n")
    result = cli("import", "payments", str(more))
    assert result.code == 2
    assert (
        "field 'amount': payments to loan LX (stored and in this file) add up to more than a loan may hold"
        in result.stderr
    )
    assert counts(store_url) == before
