"""The generated tables: deterministic, in the import layouts, internally consistent, with the documented shares."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.catalog import PRODUCTS
from arrears.domain.money import parse_minor
from arrears.sim.portfolio import (
    EVENT_COLUMNS,
    EVENT_KINDS,
    LOAN_COLUMNS,
    PAYMENT_COLUMNS,
    Portfolio,
    generate_portfolio,
    split_principal,
    write_portfolio,
)
from arrears.sim.portfolio_params import load_params
from tests.sim.conftest import AS_OF


def test_same_seed_same_tables_and_bytes(tmp_path: Path) -> None:
    a = generate_portfolio(500, 42, AS_OF)
    b = generate_portfolio(500, 42, AS_OF)
    for name in ("loans", "payments", "events"):
        assert getattr(a, name).equals(getattr(b, name))
    for fmt in ("parquet", "csv"):
        pa_files = write_portfolio(a, tmp_path / f"a-{fmt}", fmt)
        pb_files = write_portfolio(b, tmp_path / f"b-{fmt}", fmt)
        for name in ("loans", "payments", "events"):
            assert pa_files[name].read_bytes() == pb_files[name].read_bytes()


def test_different_seed_different_portfolio() -> None:
    a = generate_portfolio(500, 1, AS_OF)
    b = generate_portfolio(500, 2, AS_OF)
    assert not a.loans.equals(b.loans)
    assert not a.payments.equals(b.payments)
    assert a.loans.column("id_number")[0] != b.loans.column("id_number")[0]


def test_columns_are_the_import_layouts(small: Portfolio) -> None:
    assert tuple(small.loans.column_names) == LOAN_COLUMNS
    assert tuple(small.payments.column_names) == PAYMENT_COLUMNS
    assert tuple(small.events.column_names) == EVENT_COLUMNS
    assert small.loans.schema.field("due_date").type == pa.date32()
    assert small.loans.schema.field("principal").type == pa.string()
    assert set(small.loans.column("product").to_pylist()) <= set(PRODUCTS)
    assert set(small.loans.column("currency").to_pylist()) == {"CNY"}
    assert set(small.loans.column("persona").to_pylist()) <= {
        None,
        "forgetful",
        "hardship",
        "strategic",
        "fraud",
        "deceased",
    }


def test_zero_borrowers_is_an_empty_portfolio() -> None:
    empty = generate_portfolio(0, 1, AS_OF)
    assert (empty.loans.num_rows, empty.payments.num_rows, empty.events.num_rows) == (0, 0, 0)
    assert empty.counts()["loans"] == 0


def test_split_principal_sums_exactly() -> None:
    parts = split_principal(np.array([100000] * 3), np.array([3] * 3), np.array([1, 2, 3]))
    assert parts.tolist() == [33333, 33333, 33334]
    parts = split_principal(np.array([1001] * 12), np.array([12] * 12), np.arange(1, 13))
    assert parts.tolist() == [83] * 11 + [88]
    assert split_principal(np.array([5]), np.array([1]), np.array([1])).tolist() == [5]


def test_generated_schedules(big: Portfolio) -> None:
    loans = big.loans
    principal = np.asarray([parse_minor(v) for v in loans.column("principal").to_pylist()])
    interest = np.asarray([parse_minor(v) for v in loans.column("interest").to_pylist()])
    seq = loans.column("seq").to_numpy()
    ids = loans.column("loan_id").to_pylist()
    products = loans.column("product").to_pylist()
    by_loan: dict[str, list[int]] = {}
    for i, loan_id in enumerate(ids):
        by_loan.setdefault(loan_id, []).append(i)
    terms = load_params().loans.products
    for loan_id, rows in by_loan.items():
        n = terms[products[rows[0]]].instalments
        assert seq[rows].tolist() == list(range(1, n + 1)), loan_id
        parts = principal[rows]
        total = parts.sum()
        # even split, remainder (less than n fen) in the last instalment
        assert (parts[:-1] == total // n).all() and parts[-1] == total - (total // n) * (n - 1)
        assert 1000 <= total <= 3_000_000
        rate = interest[rows[0]] / total if n > 1 else 0.0
        assert (interest[rows] == interest[rows[0]]).all()
        assert (n == 1 and interest[rows[0]] == 0) or 0.0049 <= rate <= 0.0081
    due = loans.column("due_date").to_pylist()
    opened = loans.column("opened_on").to_pylist()
    assert all(o < d for o, d in zip(opened, due, strict=True))
    assert min(opened) >= AS_OF - timedelta(days=365) and max(opened) < AS_OF


def _loan(p: Portfolio, loan_id: str) -> tuple[list[dict], list[dict]]:
    rows = p.loans.filter(pc.equal(p.loans.column("loan_id"), loan_id)).to_pylist()
    pays = p.payments.filter(pc.equal(p.payments.column("loan_id"), loan_id)).to_pylist()
    return rows, pays


def test_loans_hand_checked() -> None:
    """Loans of seed 7 (20 borrowers) whose numbers can be checked by hand."""
    p = generate_portfolio(20, 7, AS_OF)
    rows, pays = _loan(p, "L0000000001")
    assert [(r["seq"], r["due_date"]) for r in rows] == [
        (1, date(2026, 3, 4)),
        (2, date(2026, 4, 4)),
        (3, date(2026, 5, 4)),
    ]
    assert rows[0]["product"] == "baitiao-3" and rows[0]["opened_on"] == date(2026, 2, 4)
    # ¥1,025.74 in three: 341.91 + 341.91 + 341.92; 0.75 % of 1,025.74 = 7.69305 → ¥7.69 on each
    assert [r["principal"] for r in rows] == ["341.91", "341.91", "341.92"]
    assert {r["interest"] for r in rows} == {"7.69"}
    # the first instalment paid by auto-debit on its due date; the others are not due by 2026-03-31
    assert [(x["paid_on"], x["amount"], x["source"]) for x in pays] == [
        (date(2026, 3, 4), "349.60", "autodebit")
    ]

    rows, pays = _loan(p, "L0000000012")
    assert rows[0]["product"] == "baitiao-30d" and rows[0]["persona"] == "forgetful"
    assert (rows[0]["due_date"], rows[0]["principal"], rows[0]["interest"]) == (
        date(2025, 7, 6),
        "1550.18",
        "0.00",
    )
    # 6 days late, past the 3 grace days: 6 × round(1550.18 × 0.05 %) = 6 × 0.78 = 4.68 late fee
    assert [(x["paid_on"], x["amount"], x["source"]) for x in pays] == [(date(2025, 7, 12), "1554.86", "app")]


def test_amounts_are_positive_two_decimal_strings(big: Portfolio) -> None:
    for table, column in ((big.loans, "principal"), (big.loans, "interest"), (big.payments, "amount")):
        values = table.column(column)
        assert pc.all(pc.match_substring_regex(values, r"^\d+\.\d\d$")).as_py()
    amounts = [parse_minor(v) for v in big.payments.column("amount").to_pylist()]
    assert min(amounts) > 0


def test_payments_within_the_loan_life(big: Portfolio) -> None:
    opened = dict(
        zip(big.loans.column("loan_id").to_pylist(), big.loans.column("opened_on").to_pylist(), strict=True)
    )
    for row in big.payments.select(["loan_id", "paid_on"]).to_pylist():
        assert opened[row["loan_id"]] < row["paid_on"] <= AS_OF
    for row in big.events.select(["loan_id", "on"]).to_pylist():
        assert opened[row["loan_id"]] < row["on"] <= AS_OF


def test_reversals_reference_earlier_payments_of_the_same_loan(big: Portfolio) -> None:
    rows = big.payments.to_pylist()
    by_id = {r["payment_id"]: r for r in rows}
    assert len(by_id) == len(rows)
    reversals = [r for r in rows if r["reverses"] is not None]
    assert len(reversals) > 100
    targets = [r["reverses"] for r in reversals]
    assert len(set(targets)) == len(targets)  # reversed at most once
    for r in reversals:
        original = by_id[r["reverses"]]
        assert original["reverses"] is None
        assert original["loan_id"] == r["loan_id"]
        assert original["amount"] == r["amount"]
        assert original["paid_on"] < r["paid_on"]
        assert r["source"] == "bank_return"
    position = {r["payment_id"]: i for i, r in enumerate(rows)}
    assert all(position[r["reverses"]] < position[r["payment_id"]] for r in reversals)


def test_events_are_known_kinds_with_json_detail(big: Portfolio) -> None:
    kinds = big.events.column("kind").to_pylist()
    assert set(kinds) == set(EVENT_KINDS)
    for text in big.events.column("detail").to_pylist()[:5000]:
        assert isinstance(json.loads(text), dict)
    ids = big.events.column("event_id").to_pylist()
    assert len(set(ids)) == len(ids)


def test_events_follow_the_persona(big: Portfolio) -> None:
    persona_of = dict(
        zip(big.loans.column("loan_id").to_pylist(), big.loans.column("persona").to_pylist(), strict=True)
    )
    by_kind: dict[str, Counter[str | None]] = {}
    for loan_id, kind in zip(
        big.events.column("loan_id").to_pylist(), kinds := big.events.column("kind").to_pylist(), strict=True
    ):
        by_kind.setdefault(kind, Counter())[persona_of[loan_id]] += 1
    assert set(by_kind["identity_dispute"]) == {"fraud"}
    assert set(by_kind["hardship_flag"]) == {"hardship"}
    assert set(by_kind["promise_broken"]) == {"strategic"}
    assert "fraud" not in by_kind["promise_made"]
    assert len(kinds) == big.events.num_rows


def test_shares_within_tolerance(big: Portfolio) -> None:
    counts = big.counts()
    assert counts["borrowers"] == 20_000
    first = big.loans.filter(pc.equal(big.loans.column("seq"), 1))
    borrowers = first.group_by("borrower_id", use_threads=False).aggregate(
        [("loan_id", "count"), ("persona", "first"), ("timezone", "first"), ("language", "first")]
    )
    n = borrowers.num_rows
    assert n == 20_000
    personas = Counter(borrowers.column("persona_first").to_pylist())
    expected = {
        None: 0.195,
        "forgetful": 0.55,
        "hardship": 0.15,
        "strategic": 0.08,
        "fraud": 0.02,
        "deceased": 0.005,
    }
    for name, share in expected.items():
        assert abs(personas[name] / n - share) < 0.012, (name, personas[name] / n)
    loans_each = Counter(borrowers.column("loan_id_count").to_pylist())
    for k, share in {1: 0.60, 2: 0.28, 3: 0.12}.items():
        assert abs(loans_each[k] / n - share) < 0.012
    zones = Counter(borrowers.column("timezone_first").to_pylist())
    assert abs(zones[None] / n - 0.03) < 0.005
    assert abs(zones["Asia/Shanghai"] / n - 0.96) < 0.01
    languages = Counter(borrowers.column("language_first").to_pylist())
    assert abs(languages["zh-CN"] / n - 0.93) < 0.01
    products = Counter(first.column("product").to_pylist())
    for code, share in {
        "baitiao-30d": 0.45,
        "baitiao-3": 0.25,
        "baitiao-6": 0.18,
        "baitiao-12": 0.12,
    }.items():
        assert abs(products[code] / first.num_rows - share) < 0.012
    assert counts["loans"] == first.num_rows


def test_purchase_sizes_follow_the_lognormal(big: Portfolio) -> None:
    principal = pc.cast(pc.replace_substring(big.loans.column("principal"), ".", ""), pa.int64())
    table = pa.table(
        {"loan_id": big.loans.column("loan_id"), "product": big.loans.column("product"), "p": principal}
    )
    totals = table.group_by(["loan_id", "product"]).aggregate([("p", "sum")])
    thirty = totals.filter(pc.equal(totals.column("product"), "baitiao-30d")).column("p_sum").to_numpy()
    # median ¥800 × 0.6 for the 30-day product; capped at ¥30,000 overall
    assert 45_000 < np.median(thirty) < 51_000
    assert totals.column("p_sum").to_numpy().max() <= 3_000_000


def test_two_hundred_thousand_borrowers_finish() -> None:
    started = time.perf_counter()
    p = generate_portfolio(200_000, 3, AS_OF)
    seconds = time.perf_counter() - started
    counts = p.counts()
    print(
        f"\n200k borrowers: {seconds:.2f} s, {counts['instalments']:,} instalments, "
        f"{counts['payments']:,} payments, {counts['events']:,} events"
    )
    assert counts["borrowers"] == 200_000
    assert counts["instalments"] > 600_000
