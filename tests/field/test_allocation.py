"""The allocation rules of domain/agencies.py as properties, and commission as literal amounts."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.agencies import AgencyTerms, Performance, bars_to_placement, choose_agency, commission

BUCKETS = ("M1", "M2", "M3", "M4")
agencies = st.lists(
    st.builds(
        AgencyTerms,
        id=st.sampled_from(["AG1", "AG2", "AG3", "AG4", "AG5"]),
        commission_rate=st.just("0.18"),
        capacity=st.none() | st.integers(min_value=0, max_value=6),
        buckets=st.lists(st.sampled_from(BUCKETS), max_size=3, unique=True).map(tuple),
    ),
    max_size=5,
    unique_by=lambda a: a.id,
)
loads = st.dictionaries(st.sampled_from(["AG1", "AG2", "AG3", "AG4", "AG5"]), st.integers(0, 6))
records = st.dictionaries(
    st.sampled_from(["AG1", "AG2", "AG3", "AG4", "AG5"]),
    st.builds(Performance, placed=st.integers(0, 10_000), recovered=st.integers(0, 10_000)),
)


@given(agencies, st.sampled_from(BUCKETS), st.integers(1, 4), loads, records, st.randoms())
def test_the_chosen_agency_takes_the_bucket_has_room_and_is_the_best(
    terms: list[AgencyTerms], bucket: str, loans: int, load: dict[str, int], perf: dict[str, Performance], rnd
) -> None:
    chosen = choose_agency(terms, bucket, loans, load, perf)
    fits = [
        a
        for a in terms
        if a.takes(bucket) and (a.capacity is None or load.get(a.id, 0) + loans <= a.capacity)
    ]
    assert (chosen is None) == (not fits)
    if chosen is not None:
        assert chosen in fits
        best = max(perf.get(a.id, Performance()).rate for a in fits)
        assert perf.get(chosen.id, Performance()).rate == best
        shuffled = list(terms)
        rnd.shuffle(shuffled)
        assert choose_agency(shuffled, bucket, loans, load, perf) == chosen  # the order given does not matter
        assert choose_agency(terms, bucket, loans, load, perf, exclude=[chosen.id]) != chosen


def test_performance_and_commission_literals() -> None:
    assert Performance(150000, 30000).rate == Fraction(1, 5)
    assert commission(30000, "0.18") == 5400  # 300.00 × 18 % = 54.00
    assert commission(33333, "0.20") == 6667  # 333.33 × 20 % = 66.666 → 66.67 (half-up)
    assert commission(25, "0.1") == 3  # 0.25 × 10 % = 0.025 → 0.03
    assert bars_to_placement(["hardship", "dispute", "deceased"]) == ["deceased", "dispute"]
    assert bars_to_placement(["hardship", "unreachable"]) == []
