"""The compiled experiment buckets equal the domain's md5 definition, for any account id."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.policy.treatment import arm_bucket
from arrears.engine.arm_hash import arm_buckets


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=30), st.lists(st.text(max_size=150), max_size=40), st.integers(0, 5))
def test_buckets_match_the_domain(experiment: str, ids: list[str], skip: int) -> None:
    column = pa.array(ids, pa.string()).slice(min(skip, len(ids)))  # a slice has a non-zero offset
    expected = [arm_bucket(experiment, i) for i in ids[min(skip, len(ids)) :]]
    assert arm_buckets(experiment, column).tolist() == expected


def test_message_lengths_around_the_block_boundary() -> None:
    # md5 pads to 64-byte blocks: 55 bytes fit one block, 56 need two
    ids = ["x" * n for n in range(40, 140)]
    got = arm_buckets("exp:", pa.chunked_array([pa.array(ids[:50]), pa.array(ids[50:])]))
    assert got.tolist() == [arm_bucket("exp:", i) for i in ids]


def test_dictionary_encoded_ids() -> None:
    ids = pa.array(["L1", "L2", "L1"]).dictionary_encode()
    assert arm_buckets("e", ids).tolist() == [arm_bucket("e", i) for i in ("L1", "L2", "L1")]
