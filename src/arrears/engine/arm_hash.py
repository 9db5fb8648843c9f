"""Experiment buckets for a whole column of account ids at once: arrears.domain.policy.treatment.arm_bucket
(the first 8 hex digits of md5("experiment:account") modulo 10,000), compiled with numba.

The policy's SQL can compute the same with md5() per row, but as text: a digest formatted as 32 hex
characters, cut, parsed back. Here the digest's first word is read directly from the Arrow string buffers,
in parallel across accounts; tests hold it to hashlib.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit, prange

from arrears.domain.policy.model import BASIS_POINTS

_S = np.array(
    [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4, dtype=np.uint32
)
_K = np.array([int(abs(np.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)], dtype=np.uint32)


@njit(cache=True, inline="always")
def _rotl(x: np.uint32, c: np.uint32) -> np.uint32:
    return np.uint32((x << c) | (x >> np.uint32(32 - c)))


@njit(cache=True)
def _md5_first_word(words: np.ndarray, blocks: int, s: np.ndarray, k: np.ndarray) -> np.uint32:
    """The first 32-bit word of the md5 of the padded message in `words`, as the digest's first four bytes
    read big-endian (what int(hexdigest[:8], 16) gives)."""
    a0, b0 = np.uint32(0x67452301), np.uint32(0xEFCDAB89)
    c0, d0 = np.uint32(0x98BADCFE), np.uint32(0x10325476)
    for block in range(blocks):
        base = block * 16
        a, b, c, d = a0, b0, c0, d0
        for i in range(64):
            if i < 16:
                f = (b & c) | (~b & d)
                g = i
            elif i < 32:
                f = (d & b) | (~d & c)
                g = (5 * i + 1) % 16
            elif i < 48:
                f = b ^ c ^ d
                g = (3 * i + 5) % 16
            else:
                f = c ^ (b | ~d)
                g = (7 * i) % 16
            f = np.uint32(f + a + k[i] + words[base + g])
            a = d
            d = c
            c = b
            b = np.uint32(b + _rotl(f, s[i]))
        a0, b0, c0, d0 = np.uint32(a0 + a), np.uint32(b0 + b), np.uint32(c0 + c), np.uint32(d0 + d)
    return np.uint32(
        ((a0 & 0xFF) << 24) | ((a0 >> 8 & 0xFF) << 16) | ((a0 >> 16 & 0xFF) << 8) | (a0 >> 24 & 0xFF)
    )


@njit(cache=True, parallel=True)
def _buckets(
    prefix: np.ndarray, offsets: np.ndarray, data: np.ndarray, modulus: int, s: np.ndarray, k: np.ndarray
) -> np.ndarray:
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.int64)
    longest = 0
    for i in range(n):
        longest = max(longest, offsets[i + 1] - offsets[i])
    size = ((len(prefix) + longest + 8) // 64 + 1) * 64
    chunks = 64  # accounts per task: each task pads its messages in its own buffer
    for t in prange((n + chunks - 1) // chunks):
        buf = np.zeros(size, dtype=np.uint8)
        words = buf.view(np.uint32)
        for i in range(t * chunks, min(n, (t + 1) * chunks)):
            start, end = offsets[i], offsets[i + 1]
            length = len(prefix) + (end - start)
            total = ((length + 8) // 64 + 1) * 64
            buf[:total] = 0
            buf[: len(prefix)] = prefix
            buf[len(prefix) : length] = data[start:end]
            buf[length] = 0x80
            bits = length * 8
            for byte in range(8):
                buf[total - 8 + byte] = (bits >> (8 * byte)) & 0xFF
            out[i] = np.int64(_md5_first_word(words, total // 64, s, k)) % modulus
    return out


def arm_buckets(experiment: str, account_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """arm_bucket(experiment, id) for every id of a string column (no nulls)."""
    col = account_ids.combine_chunks() if isinstance(account_ids, pa.ChunkedArray) else account_ids
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    col = col.cast(pa.large_string())
    if col.null_count:
        raise ValueError("account ids cannot be null")
    _, offsets_buf, data_buf = col.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[col.offset : col.offset + len(col) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    prefix = np.frombuffer(f"{experiment}:".encode(), dtype=np.uint8)
    return _buckets(prefix, offsets, data, BASIS_POINTS, _S, _K)
