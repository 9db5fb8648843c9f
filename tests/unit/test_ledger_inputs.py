"""Ledger input rules found in review: instalment numbers, bucket tables, waivers, delinquent days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.ledger_shapes import parse_ledger_settings
from arrears.adapters.loan_document import parse_loan_document
from arrears.domain.errors import InputError
from arrears.domain.ledger import WaiverTooLarge, compute_position, waivable_late_fee
from arrears.domain.loans import Loan, Pause, Payment, Waiver
from arrears.domain.products import DEFAULT_BUCKETS, Bucket, BucketTable

ROOT = Path(__file__).parents[2]


def _doc(**extra: Any) -> dict[str, Any]:
    return {"instalments": [{"due": "2026-01-10", "principal": "800.00", "interest": "200.00"}], **extra}


def _waiver(**row: Any) -> dict[str, Any]:
    return {
        "date": "2026-01-20",
        "amount": "1.00",
        "user": "agent1",
        "approver": "sup1",
        "reason": "r",
        **row,
    }


# ------------------------------------------------------------------------------- instalment numbers


@pytest.mark.parametrize("bad", [1.5, 2.0, "1.5", "abc", True, None, "", [1]])
def test_an_instalment_seq_that_is_not_a_whole_number_is_bad_input(bad: object) -> None:
    doc = _doc()
    doc["instalments"][0]["seq"] = bad
    with pytest.raises(InputError, match="whole number") as err:
        parse_loan_document(doc)
    assert err.value.field == "instalments[0].seq"


@pytest.mark.parametrize("bad", [1.5, "abc", False, "2.0"])
def test_a_waiver_seq_that_is_not_a_whole_number_is_bad_input(bad: object) -> None:
    with pytest.raises(InputError, match="whole number") as err:
        parse_loan_document(_doc(waivers=[_waiver(seq=bad)]))
    assert err.value.field == "waivers[0].seq"


@pytest.mark.parametrize("bad", [0, -1])
def test_a_seq_below_one_is_bad_input(bad: int) -> None:
    with pytest.raises(InputError, match="at least 1") as err:
        parse_loan_document(_doc(waivers=[_waiver(seq=bad)]))
    assert err.value.field == "waivers[0].seq"


def test_whole_number_seqs_are_read_as_written() -> None:
    doc = _doc()
    doc["instalments"][0]["seq"] = 7
    doc["instalments"].append({"due": "2026-02-10", "principal": "1.00", "seq": "8"})
    loan = parse_loan_document(doc | {"waivers": [_waiver(seq=" 8 ")]})
    assert [i.seq for i in loan.instalments] == [7, 8]
    assert loan.waivers[0].instalment_seq == 8
    assert [i.seq for i in parse_loan_document(_doc()).instalments] == [1]  # by position when left out


def test_a_waiver_on_an_instalment_that_does_not_exist_is_bad_input() -> None:
    with pytest.raises(InputError, match="no instalment 2") as err:
        parse_loan_document(_doc(waivers=[_waiver(seq=2)]))
    assert err.value.field == "waivers[0].seq"


# ------------------------------------------------------------------------------------ bucket tables


def test_a_bucket_table_whose_last_bucket_is_closed_is_refused_at_load() -> None:
    rows = [{"name": "M0", "min": 0, "max": 0}, {"name": "M1", "min": 1, "max": 30}]
    with pytest.raises(InputError, match="last bucket must be open-ended") as err:
        parse_ledger_settings({"buckets": rows})
    assert err.value.field == "buckets[1].max"
    with pytest.raises(InputError) as err:
        parse_ledger_settings({"buckets": {"basis": "delinquent_days", "table": rows}}, path="products.p1")
    assert err.value.field == "products.p1.buckets[1].max"
    with pytest.raises(InputError) as err:
        parse_loan_document(_doc(buckets=rows))
    assert err.value.field == "buckets[1].max"


def test_a_bucket_table_built_in_code_must_end_open_too() -> None:
    with pytest.raises(InputError, match=r"last bucket \(M1\) must be open-ended"):
        BucketTable((Bucket("M0", 0, 0), Bucket("M1", 1, 30)))
    with pytest.raises(InputError):
        BucketTable(())


def test_every_day_count_has_a_bucket() -> None:
    rows = [{"name": "current", "min": 0, "max": 0}, {"name": "late", "min": 1}]
    table = parse_ledger_settings({"buckets": rows}).buckets
    assert [table.classify(d, d) for d in (0, 1, 10_000)] == ["current", "late", "late"]
    assert DEFAULT_BUCKETS.classify(100_000, 0) == "M7+"


def test_a_policy_product_with_a_closed_last_bucket_is_refused(tmp_path: Path) -> None:
    from arrears.adapters.policy_file import load_policy

    text = (ROOT / "policies" / "segmented.yaml").read_text(encoding="utf-8")
    closed = "buckets: [{name: M0, min: 0, max: 0}, {name: M1, min: 1, max: 30}]"
    old = 'baitiao-3: {grace_days: 3, late_fee: {daily_rate: "0.0005"}}'
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, f"baitiao-3: {{grace_days: 3, {closed}}}"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert err.value.field == "products.baitiao-3.buckets[1].max"
    assert "open-ended" in err.value.message


def test_the_shipped_policies_load() -> None:
    from arrears.adapters.policy_file import load_policy

    for path in sorted((ROOT / "policies").glob("*.yaml")):
        policy = load_policy(path)
        for settings in policy.products.values():
            assert settings.buckets.buckets[-1].max_days is None


# ------------------------------------------------------------------------------------ delinquent days


def _one_instalment(grace: int, pauses: tuple[Pause, ...] = ()) -> Loan:
    loan = parse_loan_document(_doc(grace_days=grace))
    return Loan("L", loan.instalments, pauses=pauses, settings=loan.settings)


@pytest.mark.parametrize(
    ("pause", "as_of", "dpd", "paused", "delinquent"),
    [
        # due 10 Jan, 5 grace days (11–15 Jan)
        (None, "2026-01-25", 15, 0, 10),  # max(0, DPD − grace), as in Fineract
        (None, "2026-01-13", 3, 0, 0),
        (("2026-01-12", "2026-01-14"), "2026-01-25", 15, 3, 10),  # inside grace: nothing after it
        (("2026-01-13", "2026-01-17"), "2026-01-25", 15, 5, 8),  # across the end of grace
        (("2026-01-13", "2026-01-17"), "2026-01-18", 8, 5, 1),
        (("2026-01-05", "2026-01-20"), "2026-01-25", 15, 10, 5),  # over all of grace, and 16–20 Jan
        (("2026-01-18", "2026-01-19"), "2026-01-25", 15, 2, 8),  # after grace: as before
        (("2026-01-12", None), "2026-01-25", 15, 14, 0),  # open-ended from inside grace
    ],
)
def test_delinquent_days_are_the_unpaused_days_after_grace(
    pause: tuple[str, str | None] | None, as_of: str, dpd: int, paused: int, delinquent: int
) -> None:
    pauses = ()
    if pause is not None:
        end = date.fromisoformat(pause[1]) if pause[1] else None
        pauses = (Pause(date.fromisoformat(pause[0]), end),)
    pos = compute_position(_one_instalment(5, pauses), date.fromisoformat(as_of))
    assert (pos.dpd, pos.paused_days, pos.delinquent_days) == (dpd, paused, delinquent)


def test_overlapping_pauses_count_each_day_once() -> None:
    pauses = (
        Pause(date(2026, 1, 13), date(2026, 1, 17)),
        Pause(date(2026, 1, 16), date(2026, 1, 19), "hardship"),
    )
    pos = compute_position(_one_instalment(5, pauses), date(2026, 1, 25))
    assert (pos.dpd, pos.paused_days, pos.delinquent_days) == (15, 7, 6)  # 16–25 Jan less 16–19 Jan


# --------------------------------------------------------------------------------------------- waivers


def _with_waivers(grace: int, *waivers: Waiver, payments: tuple[Payment, ...] = ()) -> Loan:
    loan = parse_loan_document(_doc(grace_days=grace))
    return Loan("L", loan.instalments, payments, waivers=waivers, settings=loan.settings)


def _w(on: date, amount: int, seq: int | None = None) -> Waiver:
    return Waiver(on, amount, "agent1", "sup1", "goodwill", seq)


def test_a_waiver_inside_grace_is_refused_naming_the_field() -> None:
    loan = _with_waivers(3, _w(date(2026, 1, 13), 50, 1))  # 13 Jan: the last grace day
    assert compute_position(loan, date(2026, 1, 12)).late_fee_waived == 0  # not in effect yet
    with pytest.raises(WaiverTooLarge, match="inside the grace period of instalment 1") as err:
        compute_position(loan, date(2026, 1, 30))
    assert (err.value.field, err.value.index, err.value.available) == ("waivers[0].amount", 0, 0)
    assert isinstance(err.value, InputError)


def test_a_waiver_above_the_unpaid_late_fee_is_refused_not_cut_down() -> None:
    # no grace: 0.50 a day from 11 Jan, 5.00 by 20 Jan
    ok = _with_waivers(0, _w(date(2026, 1, 20), 500))
    assert compute_position(ok, date(2026, 1, 20)).late_fee_waived == 500
    with pytest.raises(InputError, match=r"a waiver of 5\.01 on 2026-01-20 .* \(5\.00\)"):
        compute_position(_with_waivers(0, _w(date(2026, 1, 20), 501)), date(2026, 1, 20))
    # net of an earlier waiver
    with pytest.raises(InputError) as err:
        compute_position(
            _with_waivers(0, _w(date(2026, 1, 15), 200), _w(date(2026, 1, 20), 301)), date(2026, 1, 21)
        )
    assert err.value.field == "waivers[1].amount"


def test_a_waiver_on_an_unknown_instalment_is_refused_by_the_ledger_too() -> None:
    with pytest.raises(InputError, match="no instalment 9") as err:
        compute_position(_with_waivers(0, _w(date(2026, 1, 20), 100, 9)), date(2026, 1, 20))
    assert err.value.field == "waivers[0].seq"


def test_waivable_late_fee() -> None:
    loan = _with_waivers(3)
    assert waivable_late_fee(loan, date(2026, 1, 10)) == 0
    assert waivable_late_fee(loan, date(2026, 1, 13)) == 0  # last grace day: no fee charged yet
    assert waivable_late_fee(loan, date(2026, 1, 14)) == 200  # 11–14 Jan × 0.50
    assert waivable_late_fee(loan, date(2026, 1, 14), 2) == 0  # no such instalment
    waived = _with_waivers(3, _w(date(2026, 1, 14), 150))
    assert waivable_late_fee(waived, date(2026, 1, 14)) == 50
    assert waivable_late_fee(waived, date(2026, 1, 20), 1) == 50 + 6 * 50
    # a payment of the late fee leaves nothing to waive; its reversal brings the fee back
    paid = _with_waivers(0, payments=(Payment("p1", date(2026, 1, 15), 250, date(2026, 1, 25)),))
    assert waivable_late_fee(paid, date(2026, 1, 15)) == 250  # waivers come before that day's payments
    assert waivable_late_fee(paid, date(2026, 1, 16)) == 50
    assert waivable_late_fee(paid, date(2026, 1, 16), as_of=date(2026, 1, 25)) == 300
    with pytest.raises(ValueError):
        waivable_late_fee(paid, date(2026, 1, 16), as_of=date(2026, 1, 15))


def test_every_accepted_waiver_is_applied_in_full() -> None:
    loan = _with_waivers(2, _w(date(2026, 1, 13), 150), _w(date(2026, 1, 20), 100, 1))
    pos = compute_position(loan, date(2026, 1, 31))
    assert pos.late_fee_waived == 250
    assert pos.late_fee_accrued - pos.late_fee_waived == pos.outstanding.late_fee
    assert pos.late_fee_accrued == 21 * 50  # 11–31 Jan (grace passed unpaid: counted from 11 Jan)
    assert compute_position(loan, date(2026, 1, 13) - timedelta(days=1)).late_fee_waived == 0
