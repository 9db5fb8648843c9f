"""The per-account ledger walk compiled with numba: the rules of arrears.domain.ledger, account by account,
over flat arrays, in parallel across accounts. Differential tests hold it to the domain ledger to the fen.

Layout: every per-row array is grouped by account (CSR style: `*_start[a]:*_start[a + 1]`), instalment
rows ordered by (due, seq), payments and waivers by (day, recorded order).
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

NONE_DAY = np.int64(np.iinfo(np.int32).min)
FAR_DAY = np.int64(np.iinfo(np.int32).max)


@njit(cache=True, inline="always")
def _daily_charge(base: np.int64, num: np.int64, den: np.int64, mode: np.int64) -> np.int64:
    if base <= 0 or num == 0:
        return np.int64(0)
    x = base * num
    if mode == 0:  # half up
        return (2 * x + den) // (2 * den)
    if mode == 2:  # down
        return x // den
    if mode == 3:  # up
        return -((-x) // den)
    q = x // den  # half even
    r2 = 2 * (x - q * den)
    if r2 > den or (r2 == den and q % 2 == 1):
        return q + 1
    return q


@njit(cache=True, parallel=True)
def walk(
    today: np.int64,
    row_start: np.ndarray,
    due: np.ndarray,
    grace_end: np.ndarray,
    scheduled: np.ndarray,  # (rows, 3) principal, interest, fees
    base_mask: np.ndarray,  # (rows, 3)
    rate_num: np.ndarray,
    rate_den: np.ndarray,
    rounding: np.ndarray,
    cap: np.ndarray,  # -1 = no cap
    waterfall: np.ndarray,  # (rows, 4) slots 0..3 = principal, interest, fees, late fee
    pay_start: np.ndarray,
    pay_day: np.ndarray,
    pay_amount: np.ndarray,
    wv_start: np.ndarray,
    wv_day: np.ndarray,
    wv_amount: np.ndarray,
    wv_seq: np.ndarray,
    row_seq: np.ndarray,
    pz_start: np.ndarray,
    pz_from: np.ndarray,
    pz_to: np.ndarray,
    owed: np.ndarray,  # out (rows, 4)
    paid: np.ndarray,  # out (rows, 4)
    accrued: np.ndarray,  # out
    waived: np.ndarray,  # out
    paid_on: np.ndarray,  # out
    credit: np.ndarray,  # out per account
    n_threads: int,
) -> None:
    n_acc = len(row_start) - 1
    # Per-thread scratch for each account's critical days and instalment state: no allocation per account.
    most_rows = 0
    most_days = 1
    for a in range(n_acc):
        rows = row_start[a + 1] - row_start[a]
        m = 2 * rows + (pay_start[a + 1] - pay_start[a]) + (wv_start[a + 1] - wv_start[a])
        m += 2 * (pz_start[a + 1] - pz_start[a]) + 1
        most_rows = max(most_rows, rows)
        most_days = max(most_days, m)
    scratch_days = np.empty((n_threads, most_days), dtype=np.int64)
    scratch_pending = np.empty((n_threads, max(most_rows, 1)), dtype=np.int64)
    scratch_resolved = np.empty((n_threads, max(most_rows, 1)), dtype=np.bool_)
    for a in prange(n_acc):
        tid = get_thread_id()
        r0, r1 = row_start[a], row_start[a + 1]
        p0, p1 = pay_start[a], pay_start[a + 1]
        w0, w1 = wv_start[a], wv_start[a + 1]
        z0, z1 = pz_start[a], pz_start[a + 1]
        # critical days
        days = scratch_days[tid]
        k = 0
        for r in range(r0, r1):
            days[k] = due[r]
            days[k + 1] = grace_end[r]
            k += 2
        for p in range(p0, p1):
            days[k] = pay_day[p]
            k += 1
        for w in range(w0, w1):
            days[k] = wv_day[w]
            k += 1
        for z in range(z0, z1):
            days[k] = pz_from[z] - 1
            k += 1
            if pz_to[z] != FAR_DAY:
                days[k] = pz_to[z]
                k += 1
        days[k] = today
        k += 1
        for i in range(1, k):  # insertion sort: a loan has a few dozen critical days at most
            v = days[i]
            j = i - 1
            while j >= 0 and days[j] > v:
                days[j + 1] = days[j]
                j -= 1
            days[j + 1] = v
        pending = scratch_pending[tid]
        resolved = scratch_resolved[tid]
        for r in range(r1 - r0):
            pending[r] = 0
        for r in range(r0, r1):
            owed[r, 0] = scheduled[r, 0]
            owed[r, 1] = scheduled[r, 1]
            owed[r, 2] = scheduled[r, 2]
            owed[r, 3] = 0
            resolved[r - r0] = grace_end[r] == due[r]
            paid_on[r] = NONE_DAY
        last = days[0] - 1
        pi, wi = p0, w0
        for di in range(k):
            day = days[di]
            if day > today:
                break
            if di > 0 and day == days[di - 1]:
                continue
            n = day - last
            paused = False
            for z in range(z0, z1):
                if pz_from[z] <= day <= pz_to[z]:
                    paused = True
            if n > 0 and not paused:
                for r in range(r0, r1):
                    s_owed = owed[r, 0] + owed[r, 1] + owed[r, 2]
                    if day <= due[r] or s_owed == 0:
                        continue
                    base = (
                        owed[r, 0] * base_mask[r, 0]
                        + owed[r, 1] * base_mask[r, 1]
                        + owed[r, 2] * base_mask[r, 2]
                    )
                    charge = n * _daily_charge(base, rate_num[r], rate_den[r], rounding[r])
                    if cap[r] >= 0:
                        room = cap[r] - accrued[r] - pending[r - r0]
                        if room < 0:
                            room = 0
                        if charge > room:
                            charge = room
                    if charge <= 0:
                        continue
                    if resolved[r - r0]:
                        accrued[r] += charge
                        owed[r, 3] += charge
                    else:
                        pending[r - r0] += charge
            while wi < w1 and wv_day[wi] < day:
                wi += 1
            while wi < w1 and wv_day[wi] == day:
                left = wv_amount[wi]
                for r in range(r0, r1):
                    if wv_seq[wi] >= 0 and row_seq[r] != wv_seq[wi]:
                        continue
                    take = min(left, owed[r, 3])
                    owed[r, 3] -= take
                    waived[r] += take
                    left -= take
                    if left == 0:
                        break
                wi += 1
            while pi < p1 and pay_day[pi] < day:
                pi += 1
            while pi < p1 and pay_day[pi] == day:
                left = pay_amount[pi]
                for r in range(r0, r1):
                    if left == 0:
                        break
                    for j in range(4):
                        slot = waterfall[r, j]
                        take = min(left, owed[r, slot])
                        owed[r, slot] -= take
                        paid[r, slot] += take
                        left -= take
                credit[a] += left
                pi += 1
            for r in range(r0, r1):
                s_owed = owed[r, 0] + owed[r, 1] + owed[r, 2]
                if not resolved[r - r0] and day >= grace_end[r]:
                    resolved[r - r0] = True
                    if s_owed > 0:
                        accrued[r] += pending[r - r0]
                        owed[r, 3] += pending[r - r0]
                    pending[r - r0] = 0
                if paid_on[r] == NONE_DAY and s_owed == 0 and owed[r, 3] == 0:
                    paid_on[r] = day
            last = day
