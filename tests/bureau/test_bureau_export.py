"""`arrears bureau export` end to end (SQLite and PostgreSQL): a Metro 2 file that passes the field-level
validator, with the statuses, amounts, dispute codes and pre-notice holds of a literal portfolio; the PBOC
layout; corrections on re-export; the set-based lines equal the per-loan ledger (the old path)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from arrears.adapters.policy_file import load_policy
from arrears.adapters.store.catalog import seed_products
from arrears.domain.bureau import cn_status, record_kind
from arrears.domain.ledger import compute_position
from arrears.domain.products import Product
from arrears.services import bureau
from arrears.services.cases import DEFAULTS
from arrears.services.disputes import open_dispute
from arrears.services.unit_of_work import UnitOfWork
from tests.bureau.metro2_validator import field, validate
from tests.conftest import CliResult

ROOT = Path(__file__).parents[2]
COLUMNS = "loan_id,borrower_id,product,currency,seq,due_date,principal,interest,opened_on,borrower_name,id_number,phone,address"
ADDRESSES = {
    "B1": '"12 Main St, Springfield, IL 62701"',
    "B2": '"4 Elm Ave Apt 2, Dayton, OH 45402"',
    "B3": '"99 Oak Rd, Austin, TX 73301-1234"',
    "B4": '"7 Pine Ct, Reno, NV 89501"',
}
PEOPLE = {
    "B1": "Mary Ann Smith,123456789,+1 217 555 0100",
    "B2": "John Doe,987654321,+1 937 555 0101",
    "B3": "Ann Lee,,",
    "B4": "Raj Patel,111223333,",
}


def loans_csv() -> str:
    rows = [COLUMNS]
    for loan, who in (("L1", "B1"), ("L2", "B2"), ("L3", "B3"), ("L4", "B4")):
        first = "2026-02-20" if loan == "L4" else "2026-01-10"
        dues = [first, "2026-03-20", "2026-04-20"] if loan == "L4" else [first, "2026-02-10", "2026-03-10"]
        for seq, due in enumerate(dues, start=1):
            rows.append(
                f"{loan},{who},us-personal-loan,USD,{seq},{due},300.00,10.00,2025-12-10,{PEOPLE[who]},{ADDRESSES[who]}"
            )
    return "\n".join(rows) + "\n"


PAYMENTS = """payment_id,loan_id,paid_on,amount
P1,L3,2026-01-09,310.00
P2,L3,2026-02-09,310.00
P3,L3,2026-03-09,310.00
P4,L1,2026-03-15,50.00
"""
# The bureau notice: for L1 on 1 March (30 days before the report day: enough for the 10-day rule), for L4 on
# 25 March (6 days: too late for March).
EVENTS = """event_id,loan_id,kind,on,detail
E1,L1,contact,2026-03-01,"{""template"": ""bureau_notice"", ""channel"": ""letter"", ""outcome"": ""delivered""}"
E2,L4,contact,2026-03-25,"{""template"": ""bureau_notice"", ""channel"": ""letter"", ""outcome"": ""delivered""}"
"""


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    return result


def setup(cli, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    for name, text in (("loans.csv", loans_csv()), ("payments.csv", PAYMENTS), ("events.csv", EVENTS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(cli("db", "upgrade"))
    policy = load_policy(ROOT / "policies" / "us-reg-f-example.yaml")  # its us-personal-loan product
    with UnitOfWork(store_url) as uow:
        seed_products(uow.connection, {c: Product(c, c, s) for c, s in policy.products.items()})
        uow.commit()
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    ok(cli("import", "payments", str(tmp_path / "payments.csv")))
    ok(cli("import", "events", str(tmp_path / "events.csv")))


def base_segments(text: str) -> dict[str, str]:
    return {field(r, 43, 30).strip(): r for r in text.splitlines()[1:-1]}


def test_metro2_file_passes_the_validator_with_the_month_as_the_ledger_has_it(
    cli,
    tmp_path: Path,
    store_url: str,  # type: ignore[no-untyped-def]
) -> None:
    setup(cli, tmp_path, store_url)
    with UnitOfWork(store_url) as uow:  # L4's borrower disputes the debt on 28 March
        open_dispute(
            uow, "L4", "dispute", "wrong_amount", "not my balance", date(2026, 3, 28), DEFAULTS.sla, "agent"
        )
        uow.commit()
    out = tmp_path / "2026-03.metro2"
    summary = json.loads(
        ok(cli("bureau", "export", "--month", "2026-03", "--format", "metro2", "--out", str(out),
               "--furnisher-id", "ACME0001", "--json")).stdout
    )  # fmt: skip
    assert summary == {
        "month": "2026-03", "format": "metro2", "records": 4, "negative": 1, "held": 2, "corrections": 0,
        "disputed": 1, "out": str(out),
    }  # fmt: skip
    text = out.read_text(encoding="ascii")
    assert validate(text) == []
    records = text.splitlines()
    assert [r[:4] for r in records] == ["0426"] * 6
    assert field(records[0], 5, 6) == "HEADER" and field(records[-1], 5, 7) == "TRAILER"
    base = base_segments(text)
    l1, l2, l3, l4 = base["L1"], base["L2"], base["L3"], base["L4"]
    # L1: 80 days late at 31 March, notice on 1 March → reported 78 (60-89 days), 930.00 + late fee - 50.00
    assert field(l1, 124, 2) == "78"
    assert field(l1, 190, 8) == "01102026"  # first delinquency: the 10 January instalment
    assert field(l1, 21, 20).strip() == "ACME0001"
    assert (field(l1, 232, 25).strip(), field(l1, 257, 20).strip()) == ("SMITH", "MARY ANN")
    assert field(l1, 298, 9) == "123456789" and field(l1, 315, 10) == "2175550100"
    assert (field(l1, 330, 32).strip(), field(l1, 394, 20).strip(), field(l1, 414, 2), field(l1, 416, 9).strip()) == (
        "12 MAIN ST", "SPRINGFIELD", "IL", "62701",
    )  # fmt: skip
    # balance and amount past due: 917.20 (loan explain's figure: 880.00 left of the three instalments after
    # 50.00 paid on 15 March, and 37.20 late fee), whole dollars with the cents truncated
    assert (int(field(l1, 155, 9)), int(field(l1, 164, 9))) == (917, 917)
    assert field(l1, 127, 24) == "2" + "B" * 23  # this month 60-89 days late; no earlier months reported
    assert (field(l1, 198, 8), field(l1, 206, 8), field(l1, 307, 8)) == ("00000000", "03152026", "00000000")
    assert int(field(l1, 93, 9)) == 900  # highest credit: the principal lent
    assert int(field(l1, 115, 9)) == 50  # paid in March
    assert field(l1, 182, 8) == "03312026"
    # L2: as late, but never told → held: reported current, nothing past due, no delinquency date
    assert (field(l2, 124, 2), int(field(l2, 164, 9)), field(l2, 190, 8)) == ("11", 0, "00000000")
    assert int(field(l2, 155, 9)) == 967  # 930.00 and 37.20 late fee
    # L3: paid in full → 13, zero balance
    assert (field(l3, 124, 2), int(field(l3, 155, 9)), field(l3, 126, 1)) == ("13", 0, "0")
    # L4: 39 days late, told 6 days before the report day (the rule asks 10) → held; disputed → XB
    assert (field(l4, 124, 2), field(l4, 153, 2)) == ("11", "XB")
    assert int(field(records[-1], 12, 9)) == 4
    assert int(field(records[-1], 84, 9)) == 2 and int(field(records[-1], 93, 9)) == 1  # two 11s, one 13


def test_re_export_marks_changed_records_as_corrections(cli, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    setup(cli, tmp_path, store_url)
    first = tmp_path / "a.metro2"
    ok(cli("bureau", "export", "--month", "2026-03", "--format", "metro2", "--out", str(first)))
    (tmp_path / "late.csv").write_text("payment_id,loan_id,paid_on,amount\nP9,L2,2026-03-31,930.00\n")
    ok(cli("import", "payments", str(tmp_path / "late.csv")))  # a payment booked late for March
    second = tmp_path / "b.metro2"
    summary = json.loads(
        ok(
            cli(
                "bureau", "export", "--month", "2026-03", "--format", "metro2", "--out", str(second), "--json"
            )
        ).stdout
    )
    assert summary["corrections"] == 1
    text = second.read_text(encoding="ascii")
    assert validate(text) == []
    corrected = {k: field(r, 20, 1) for k, r in base_segments(text).items()}
    assert corrected == {"L1": "0", "L2": "1", "L3": "0", "L4": "0"}


def test_cn_file_maps_the_pboc_account_record(cli, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    setup(cli, tmp_path, store_url)
    out = tmp_path / "2026-03.txt"
    ok(
        cli(
            "bureau",
            "export",
            "--month",
            "2026-03",
            "--format",
            "cn",
            "--out",
            str(out),
            "--furnisher-id",
            "B1234",
        )
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("H|B1234|20260331|") and lines[-1] == "T|4|1|2"
    rows = {r.split("|")[1]: r.split("|") for r in lines[1:-1]}
    l1 = dict(zip(bureau.CN_FIELDS, rows["L1"], strict=True))
    assert l1["account_type"] == "D1" and l1["opened_on"] == "20251210" and l1["due_on"] == "20260310"
    assert (l1["loan_amount"], l1["currency"], l1["repayment_periods"]) == ("900.00", "USD", "3")
    assert (l1["repayment_status"], l1["account_status"], l1["five_class"]) == ("3", "2", "2")
    assert (l1["id_type"], l1["id_number"], l1["name"]) == ("10", "123456789", "Mary Ann Smith")
    l2 = dict(zip(bureau.CN_FIELDS, rows["L2"], strict=True))
    assert (l2["repayment_status"], l2["overdue_amount"]) == ("N", "0")  # held until told
    l3 = dict(zip(bureau.CN_FIELDS, rows["L3"], strict=True))
    assert (l3["account_status"], l3["balance"]) == ("3", "0.00")


def test_bad_input_is_one_line(cli, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    setup(cli, tmp_path, store_url)
    for args, field_name in (
        (("--month", "2026-13", "--format", "metro2"), "month"),
        (("--month", "2026-03", "--format", "xml"), "--format"),
    ):
        result = cli("bureau", "export", *args, "--out", str(tmp_path / "x"))
        assert result.code == 2 and field_name in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "x").exists()


def test_set_based_lines_equal_the_per_loan_ledger(cli, tmp_path: Path, store_url: str) -> None:  # type: ignore[no-untyped-def]
    from arrears.sim.portfolio import generate_portfolio, load_portfolio

    ok(cli("db", "upgrade"))
    load_portfolio(generate_portfolio(150, 7, date(2026, 3, 31)), store_url)
    with UnitOfWork(store_url) as uow:
        lines = bureau.month_lines(uow, "2026-03", 10).to_pylist()
        as_of = date(2026, 3, 31)
        expected = []
        for record in uow.loans.stream_records():
            position = compute_position(record.loan, as_of)
            kind = record_kind(position.dpd, None, as_of, 10)  # the generator sends no bureau notices
            expected.append(
                (record.id, position.dpd, position.overdue.total, position.outstanding.total, kind,
                 cn_status(position.dpd) if kind != "held" else "N")
            )  # fmt: skip
    got = [
        (r["loan_id"], r["dpd"], r["overdue"], r["outstanding"], r["record"], r["cn_status"]) for r in lines
    ]
    assert sorted(got) == sorted(expected) and len(got) > 150
