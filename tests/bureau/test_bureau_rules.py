"""Properties of the bureau rules and of the Metro 2 writers: the column-wise status bands are the domain's
rule for every DPD; the column-wise record writer and the one-record renderer write the same characters."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain import metro2
from arrears.domain.bureau import (
    CN_LAST_STATUS,
    CN_STATUS_BANDS,
    METRO2_LAST_STATUS,
    METRO2_STATUS_BANDS,
    cn_status,
    metro2_status,
    us_postal_address,
)
from arrears.domain.money import format_minor
from arrears.engine.fixed_width import NO_DATE, records
from arrears.services.bureau import _bands, _decimal_strings


@settings(deadline=None)
@given(st.lists(st.integers(-30, 5000), min_size=1, max_size=50))
def test_column_bands_are_the_domain_rule(dpds: list[int]) -> None:
    values = np.array(dpds, dtype=np.int64)
    assert list(_bands(values, CN_STATUS_BANDS, CN_LAST_STATUS)) == [cn_status(d) for d in dpds]
    assert list(_bands(values, METRO2_STATUS_BANDS, METRO2_LAST_STATUS)) == [
        metro2_status(d, 1) for d in dpds
    ]


@settings(deadline=None)
@given(
    st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=30), st.sampled_from(["CNY", "USD", "JPY"])
)
def test_column_amounts_are_format_minor(amounts: list[int], currency: str) -> None:
    digits = np.full(len(amounts), 0 if currency == "JPY" else 2, dtype=np.int64)
    got = _decimal_strings(np.array(amounts, dtype=np.int64), digits).to_pylist()
    assert got == [format_minor(a, currency) for a in amounts]


text = st.text(st.characters(min_codepoint=32, max_codepoint=0x4E2D), max_size=40)
FIELDS = {f.name: f for f in metro2.BASE}


@settings(max_examples=60, deadline=None)
@given(
    account=text,
    surname=text,
    balance=st.integers(0, 999_999_999),
    opened=st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2099, 12, 31))),
    status=st.sampled_from(sorted(metro2.TRAILER_STATUSES)),
)
def test_column_writer_and_record_renderer_agree(
    account: str, surname: str, balance: int, opened: date | None, status: str
) -> None:
    by_record = metro2.render(
        metro2.BASE,
        {
            "consumer_account_number": account,
            "surname": surname,
            "current_balance": balance,
            "date_opened": opened.strftime("%m%d%Y") if opened else None,
            "account_status": status,
        },
    )
    epoch = NO_DATE if opened is None else (opened - date(1970, 1, 1)).days
    matrix = records(
        metro2.BASE,
        {
            "consumer_account_number": pa.array([account]),
            "surname": pa.array([surname]),
            "current_balance": np.array([balance]),
            "date_opened": np.array([epoch]),
            "account_status": status,
        },
        1,
    )
    matrix[:, :4] = np.frombuffer(metro2.RDW.encode(), np.uint8)
    assert len(by_record) == metro2.RECORD_LENGTH
    assert matrix[0].tobytes().decode("ascii") == by_record


@settings(deadline=None)
@given(st.dates(date(1900, 1, 1), date(2030, 1, 1)), st.integers(0, 400))
def test_dates_are_mmddyyyy(start: date, days: int) -> None:
    day = start + timedelta(days=days)
    row = records(metro2.BASE, {"date_of_last_payment": np.array([(day - date(1970, 1, 1)).days])}, 1)[0]
    f = FIELDS["date_of_last_payment"]
    assert row[f.start - 1 : f.end].tobytes().decode() == day.strftime("%m%d%Y")


def test_us_addresses_split_or_are_refused() -> None:
    assert us_postal_address("4 Elm Ave, Apt 2, Dayton, OH 45402-1234") is not None
    parsed = us_postal_address("4 Elm Ave, Apt 2, Dayton, OH 45402-1234")
    assert parsed is not None and (parsed.line, parsed.city, parsed.state, parsed.zip_code) == (
        "4 Elm Ave, Apt 2", "Dayton", "OH", "454021234",
    )  # fmt: skip
    for bad in (
        None,
        "",
        "北京市朝阳区示例路 1 号",
        "12 Main St, Springfield",
        "1 A St, Town, Illinois 62701",
    ):
        assert us_postal_address(bad) is None
