"""One compiled pass per account: the ledger walk of arrears.domain.ledger and the account's features
(arrears.domain.account_features), in parallel across accounts with numba. Differential tests hold both to
the domain layer to the fen.

Layout: every per-row array is grouped by account (CSR style: `*_start[a]:*_start[a + 1]`); instalment rows
ordered by (due, seq); payments and waivers by (day, recorded order); events in recorded order. Each
thread keeps an account's working state in its own scratch rows, so nothing is allocated per account and
the per-instalment results are only written out when asked (`keep_rows`).
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

NONE_DAY = np.int64(np.iinfo(np.int32).min)
FAR_DAY = np.int64(np.iinfo(np.int32).max)

# Rows of the per-account output matrices (one row per quantity, one column per account).
# `facts` (int32): days, counts, codes and flags.
DPD, DELINQUENT, PAUSED, BUCKET, OLDEST_DUE, LAST_PAYMENT = 0, 1, 2, 3, 4, 5
INSTALMENTS_OVERDUE, ON_TIME_RATIO, MAX_DPD_12M = 6, 7, 8
BROKEN_PROMISES, PROMISE_PENDING, AUTODEBIT_FAILED = 9, 10, 11
HARDSHIP, DISPUTED, IDENTITY_DISPUTE, LAST_OUTCOME = 12, 13, 14, 15
# 1 + the account's first waiver row (in day order) for more late fee than was unpaid on its day, else 0:
# the domain ledger refuses such a waiver (InputError), so the caller must too.
BAD_WAIVER = 16
# BUCKET is -1 when no bucket holds the day count (a bucket table whose last bucket is closed).
# History that leaves the current delinquency out (the risk models' features): over paid instalments only,
# and counts of contact and auto-debit-failure events in their windows.
PRIOR_MAX_DPD_12M, PRIOR_ON_TIME_RATIO, CONTACTS_30D, AUTODEBIT_FAILURES_90D = 17, 18, 19, 20
FACT_ROWS = 21
# `money` (int64, minor units): what the features read ...
OVERDUE_TOTAL, OUTSTANDING_TOTAL, OVERDUE_PRINCIPAL, LATE_FEE = 0, 1, 2, 3
# ... and, for the whole ledger (`keep_rows`), every component (principal, interest, fees, late fee).
OVERDUE, OUTSTANDING, PAID = 4, 8, 12  # four rows each
CREDIT, ACCRUED, WAIVED = 16, 17, 18
FEATURE_MONEY_ROWS, LEDGER_MONEY_ROWS = 4, 19

# Event kinds as the kernel reads them (arrears.domain.account_features.EVENT_KINDS, same order).
EV_AUTODEBIT_FAILED, EV_PROMISE_MADE, EV_PROMISE_KEPT, EV_PROMISE_BROKEN, EV_CONTACT = 0, 1, 2, 3, 4
EV_HARDSHIP_FLAG, EV_DISPUTE_OPENED, EV_DISPUTE_CLOSED, EV_IDENTITY_DISPUTE = 5, 6, 7, 8
# Pause reasons.
PZ_HARDSHIP, PZ_DISPUTE, PZ_IDENTITY_THEFT, PZ_OTHER = 0, 1, 2, 3


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
def assess(
    today: np.int64,
    windows: np.ndarray,  # promise, autodebit, hardship, history, contacts, autodebit count (days)
    ratio_one: np.int64,
    acc_product: np.ndarray,
    grace: np.ndarray,  # per product
    rate_num: np.ndarray,
    rate_den: np.ndarray,
    rounding: np.ndarray,
    base_mask: np.ndarray,  # (products, 3)
    waterfall: np.ndarray,  # (products, 4) slots 0..3 = principal, interest, fees, late fee
    cap_fixed: np.ndarray,  # -1 = none
    cap_ratio_num: np.ndarray,  # -1 = none
    cap_ratio_den: np.ndarray,
    bucket_basis: np.ndarray,  # per product: 0 = DPD, 1 = delinquent days
    bucket_start: np.ndarray,  # per product: its rows in bucket_min / bucket_code
    bucket_min: np.ndarray,
    bucket_max: np.ndarray,  # FAR_DAY = no upper bound
    bucket_code: np.ndarray,
    row_start: np.ndarray,
    due: np.ndarray,
    seq: np.ndarray,
    principal: np.ndarray,
    interest: np.ndarray,
    fees: np.ndarray,
    pay_start: np.ndarray,
    pay_day: np.ndarray,
    pay_reversed: np.ndarray,  # FAR_DAY when not reversed
    pay_amount: np.ndarray,
    wv_start: np.ndarray,
    wv_day: np.ndarray,
    wv_amount: np.ndarray,
    wv_seq: np.ndarray,  # -1 = oldest first
    pz_start: np.ndarray,
    pz_from: np.ndarray,
    pz_to: np.ndarray,  # FAR_DAY when open
    pz_reason: np.ndarray,
    ev_start: np.ndarray,
    ev_day: np.ndarray,
    ev_kind: np.ndarray,  # -1 = a kind no feature reads
    ev_outcome: np.ndarray,  # -1 = none
    facts: np.ndarray,  # (FACT_ROWS, accounts) int32
    money: np.ndarray,  # (FEATURE_MONEY_ROWS or, with keep_rows, LEDGER_MONEY_ROWS, accounts) int64
    keep_rows: bool,
    row_owed: np.ndarray,  # (rows, 4) when keep_rows
    row_paid: np.ndarray,  # (rows, 4)
    row_accrued: np.ndarray,
    row_waived: np.ndarray,
    row_paid_on: np.ndarray,
    n_threads: int,
) -> None:
    n_acc = len(row_start) - 1
    most_rows, most_days = 1, 1
    for a in range(n_acc):
        rows = row_start[a + 1] - row_start[a]
        m = 2 * rows + (pay_start[a + 1] - pay_start[a]) + (wv_start[a + 1] - wv_start[a])
        m += 2 * (pz_start[a + 1] - pz_start[a]) + 1
        most_rows = max(most_rows, rows)
        most_days = max(most_days, m)
    # Padded so that no two threads' scratch share a cache line (64 bytes).
    s_days = np.empty((n_threads, most_days + 8), dtype=np.int64)
    s_owed = np.empty((n_threads, most_rows + 2, 4), dtype=np.int64)
    s_paid = np.empty((n_threads, most_rows + 2, 4), dtype=np.int64)
    s_int = np.empty((n_threads, 5, most_rows + 8), dtype=np.int64)  # accrued, waived, paid_on, pending, cap
    s_resolved = np.empty((n_threads, most_rows + 64), dtype=np.bool_)
    for a in prange(n_acc):
        tid = get_thread_id()
        k_prod = acc_product[a]
        r0, r1 = row_start[a], row_start[a + 1]
        n_rows = r1 - r0
        p0, p1 = pay_start[a], pay_start[a + 1]
        w0, w1 = wv_start[a], wv_start[a + 1]
        z0, z1 = pz_start[a], pz_start[a + 1]
        g = grace[k_prod]
        num, den, mode = rate_num[k_prod], rate_den[k_prod], rounding[k_prod]
        bm0, bm1, bm2 = base_mask[k_prod, 0], base_mask[k_prod, 1], base_mask[k_prod, 2]
        owed, paid = s_owed[tid], s_paid[tid]
        accrued, waived, paid_on, pending, cap = (
            s_int[tid, 0],
            s_int[tid, 1],
            s_int[tid, 2],
            s_int[tid, 3],
            s_int[tid, 4],
        )
        resolved = s_resolved[tid]
        # --- the instalments' starting state and late-fee caps
        for i in range(n_rows):
            r = r0 + i
            owed[i, 0], owed[i, 1], owed[i, 2], owed[i, 3] = principal[r], interest[r], fees[r], 0
            paid[i, 0], paid[i, 1], paid[i, 2], paid[i, 3] = 0, 0, 0, 0
            accrued[i], waived[i], pending[i] = 0, 0, 0
            paid_on[i] = NONE_DAY
            resolved[i] = g == 0
            c = cap_fixed[k_prod]
            if cap_ratio_num[k_prod] >= 0:
                base = principal[r] * bm0 + interest[r] * bm1 + fees[r] * bm2
                ratio = base * cap_ratio_num[k_prod] // cap_ratio_den[k_prod]
                c = ratio if c < 0 else min(c, ratio)
            cap[i] = c
        # --- critical days, sorted (insertion sort: a loan has a few dozen at most)
        days = s_days[tid]
        k = 0
        for r in range(r0, r1):
            days[k] = due[r]
            days[k + 1] = due[r] + g
            k += 2
        for p in range(p0, p1):
            if pay_reversed[p] > today:
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
        for i in range(1, k):
            v = days[i]
            j = i - 1
            while j >= 0 and days[j] > v:
                days[j + 1] = days[j]
                j -= 1
            days[j + 1] = v
        # --- the walk
        credit = np.int64(0)
        bad_waiver = 0
        last = days[0] - 1
        pi, wi = p0, w0
        lo = 0  # rows before `lo` are paid and past their grace: nothing can change them any more
        hi = 0  # rows from `hi` on are not due before this day: no late fee, no grace ending
        first = True
        for di in range(k):
            day = days[di]
            if day > today:
                break
            if di > 0 and day == days[di - 1]:
                continue
            n = day - last
            while hi < n_rows and due[r0 + hi] < day:
                hi += 1
            paid_today = first  # a row only becomes paid on a day money moves (or, owing nothing, at once)
            first = False
            paused = False
            for z in range(z0, z1):
                if pz_from[z] <= day <= pz_to[z]:
                    paused = True
            if n > 0 and not paused:
                for i in range(lo, hi):
                    if day <= due[r0 + i] or owed[i, 0] + owed[i, 1] + owed[i, 2] == 0:
                        continue
                    base = owed[i, 0] * bm0 + owed[i, 1] * bm1 + owed[i, 2] * bm2
                    charge = n * _daily_charge(base, num, den, mode)
                    if cap[i] >= 0:
                        room = max(cap[i] - accrued[i] - pending[i], 0)
                        if charge > room:
                            charge = room
                    if charge <= 0:
                        continue
                    if resolved[i]:
                        accrued[i] += charge
                        owed[i, 3] += charge
                    else:
                        pending[i] += charge
            while wi < w1 and wv_day[wi] < day:
                wi += 1
            while wi < w1 and wv_day[wi] == day:
                paid_today = True
                left = wv_amount[wi]
                if bad_waiver == 0:
                    available = np.int64(0)  # all of the amount or none: the unpaid late fee it can reach
                    for i in range(lo, n_rows):
                        if wv_seq[wi] < 0 or seq[r0 + i] == wv_seq[wi]:
                            available += owed[i, 3]
                    if left > available:
                        bad_waiver = wi - w0 + 1
                if bad_waiver == 0:
                    for i in range(lo, n_rows):
                        if wv_seq[wi] >= 0 and seq[r0 + i] != wv_seq[wi]:
                            continue
                        take = min(left, owed[i, 3])
                        owed[i, 3] -= take
                        waived[i] += take
                        left -= take
                        if left == 0:
                            break
                wi += 1
            while pi < p1 and pay_day[pi] < day:
                pi += 1
            while pi < p1 and pay_day[pi] == day:
                if pay_reversed[pi] > today:
                    paid_today = True
                    left = pay_amount[pi]
                    for i in range(lo, n_rows):
                        if left == 0:
                            break
                        for j in range(4):
                            slot = waterfall[k_prod, j]
                            take = min(left, owed[i, slot])
                            owed[i, slot] -= take
                            paid[i, slot] += take
                            left -= take
                    credit += left
                pi += 1
            for i in range(lo, n_rows if paid_today else hi):
                principal_left = owed[i, 0] + owed[i, 1] + owed[i, 2]
                if not resolved[i] and day >= due[r0 + i] + g:
                    resolved[i] = True
                    if principal_left > 0:
                        accrued[i] += pending[i]
                        owed[i, 3] += pending[i]
                    pending[i] = 0
                if paid_on[i] == NONE_DAY and principal_left == 0 and owed[i, 3] == 0:
                    paid_on[i] = day
            while lo < n_rows and resolved[lo] and paid_on[lo] != NONE_DAY:
                lo += 1
            last = day
        # --- the account's ledger figures
        oldest = NONE_DAY
        o0, o1, o2, o3 = np.int64(0), np.int64(0), np.int64(0), np.int64(0)  # overdue
        t0, t1, t2, t3 = np.int64(0), np.int64(0), np.int64(0), np.int64(0)  # outstanding
        q0, q1, q2, q3 = np.int64(0), np.int64(0), np.int64(0), np.int64(0)  # paid
        total_accrued, total_waived = np.int64(0), np.int64(0)
        n_overdue, n_judged, n_on_time, max_dpd = 0, 0, 0, np.int64(0)
        n_paid, n_paid_on_time, prior_max = 0, 0, np.int64(0)
        window_start = today - (windows[3] - 1)
        for i in range(n_rows):
            d = due[r0 + i]
            left = owed[i, 0] + owed[i, 1] + owed[i, 2] + owed[i, 3]
            if oldest == NONE_DAY and left != 0:
                oldest = d
            t0, t1, t2, t3 = t0 + owed[i, 0], t1 + owed[i, 1], t2 + owed[i, 2], t3 + owed[i, 3]
            q0, q1, q2, q3 = q0 + paid[i, 0], q1 + paid[i, 1], q2 + paid[i, 2], q3 + paid[i, 3]
            total_accrued += accrued[i]
            total_waived += waived[i]
            if d < today:  # overdue amounts and the features of past instalments
                o0, o1, o2, o3 = o0 + owed[i, 0], o1 + owed[i, 1], o2 + owed[i, 2], o3 + owed[i, 3]
                if left > 0:
                    n_overdue += 1
                settled = paid_on[i] != NONE_DAY
                if settled or d + g < today:
                    n_judged += 1
                    if settled and paid_on[i] <= d + g:
                        n_on_time += 1
                last_late = paid_on[i] - 1 if settled else today
                if last_late >= window_start and last_late > d:
                    max_dpd = max(max_dpd, last_late - d)
                    if settled:
                        prior_max = max(prior_max, last_late - d)
                if settled:
                    n_paid += 1
                    if paid_on[i] <= d + g:
                        n_paid_on_time += 1
        money[OVERDUE_TOTAL, a] = o0 + o1 + o2 + o3
        money[OUTSTANDING_TOTAL, a] = t0 + t1 + t2 + t3
        money[OVERDUE_PRINCIPAL, a] = o0
        money[LATE_FEE, a] = t3
        if keep_rows:
            money[OVERDUE, a], money[OVERDUE + 1, a], money[OVERDUE + 2, a], money[OVERDUE + 3, a] = (
                o0,
                o1,
                o2,
                o3,
            )
            money[OUTSTANDING, a], money[OUTSTANDING + 1, a] = t0, t1
            money[OUTSTANDING + 2, a], money[OUTSTANDING + 3, a] = t2, t3
            money[PAID, a], money[PAID + 1, a], money[PAID + 2, a], money[PAID + 3, a] = q0, q1, q2, q3
        dpd = max(today - oldest, 0) if oldest != NONE_DAY else 0
        paused_days = 0
        paused_late = 0  # of those, the days after the grace period: what delinquent days leave out
        if dpd > 0 and z1 > z0:  # days of (oldest due, today] under any pause: merge the intervals
            lo = oldest + 1
            covered_to = lo - 1
            n_iv = 0
            for z in range(z0, z1):  # clipped intervals into the day scratch, sorted by start
                s, e = max(pz_from[z], lo), min(pz_to[z], today)
                if s > e:
                    continue
                j = n_iv - 1
                while j >= 0 and days[2 * j] > s:
                    days[2 * j + 2], days[2 * j + 3] = days[2 * j], days[2 * j + 1]
                    j -= 1
                days[2 * j + 2], days[2 * j + 3] = s, e
                n_iv += 1
            after_grace = oldest + g + 1
            for j in range(n_iv):
                s, e = days[2 * j], days[2 * j + 1]
                if e > covered_to:
                    s = max(s, covered_to + 1)
                    paused_days += e - s + 1
                    if e >= after_grace:
                        paused_late += e - max(s, after_grace) + 1
                    covered_to = e
        # the days after grace up to today that no pause covers (a paused grace day is not counted twice)
        delinquent = max(dpd - g, 0) - paused_late
        basis = dpd if bucket_basis[k_prod] == 0 else delinquent
        code = -1  # the first bucket that holds; a product's table ends open-ended (BucketTable)
        for b in range(bucket_start[k_prod], bucket_start[k_prod + 1]):
            if bucket_min[b] <= basis <= bucket_max[b]:
                code = bucket_code[b]
                break
        last_pay = NONE_DAY
        for p in range(p0, p1):
            if pay_day[p] <= today and pay_reversed[p] > today and pay_day[p] > last_pay:
                last_pay = pay_day[p]
        facts[DPD, a] = dpd
        facts[DELINQUENT, a] = delinquent
        facts[PAUSED, a] = paused_days
        facts[BUCKET, a] = code
        facts[OLDEST_DUE, a] = oldest
        facts[LAST_PAYMENT, a] = last_pay
        facts[INSTALMENTS_OVERDUE, a] = n_overdue
        facts[ON_TIME_RATIO, a] = ratio_one if n_judged == 0 else n_on_time * ratio_one // n_judged
        facts[MAX_DPD_12M, a] = max_dpd
        facts[PRIOR_MAX_DPD_12M, a] = prior_max
        facts[PRIOR_ON_TIME_RATIO, a] = ratio_one if n_paid == 0 else n_paid_on_time * ratio_one // n_paid
        if keep_rows:
            money[CREDIT, a] = credit
            money[ACCRUED, a] = total_accrued
            money[WAIVED, a] = total_waived
        # --- events and pauses
        broken, made, kept, broken_all, opened, closed = 0, 0, 0, 0, 0, 0
        autodebit, hardship, disputed, identity = False, False, False, False
        best_day, best_outcome = NONE_DAY, np.int64(-1)
        contacts, autodebit_failures = 0, 0
        for e in range(ev_start[a], ev_start[a + 1]):
            day, kind = ev_day[e], ev_kind[e]
            if day > today:
                continue
            if kind == EV_CONTACT and day > today - windows[4]:
                contacts += 1
            if kind == EV_AUTODEBIT_FAILED and day > today - windows[5]:
                autodebit_failures += 1
            if kind == EV_PROMISE_BROKEN:
                broken_all += 1
                if day > today - windows[0]:
                    broken += 1
            elif kind == EV_PROMISE_MADE:
                made += 1
            elif kind == EV_PROMISE_KEPT:
                kept += 1
            elif kind == EV_AUTODEBIT_FAILED:
                if day > today - windows[1]:
                    autodebit = True
            elif kind == EV_HARDSHIP_FLAG:
                if day > today - windows[2]:
                    hardship = True
            elif kind == EV_DISPUTE_OPENED:
                opened += 1
            elif kind == EV_DISPUTE_CLOSED:
                closed += 1
            elif kind == EV_IDENTITY_DISPUTE:
                identity = True
            elif kind == EV_CONTACT and day >= best_day:  # the last recorded on the latest day
                best_day, best_outcome = day, ev_outcome[e]
        disputed = opened > closed
        for z in range(z0, z1):
            if pz_from[z] <= today <= pz_to[z]:
                reason = pz_reason[z]
                if reason == PZ_HARDSHIP:
                    hardship = True
                elif reason == PZ_DISPUTE:
                    disputed = True
                elif reason == PZ_IDENTITY_THEFT:
                    identity = True
        facts[BROKEN_PROMISES, a] = broken
        facts[PROMISE_PENDING, a] = 1 if made > kept + broken_all else 0
        facts[AUTODEBIT_FAILED, a] = 1 if autodebit else 0
        facts[HARDSHIP, a] = 1 if hardship else 0
        facts[DISPUTED, a] = 1 if disputed else 0
        facts[IDENTITY_DISPUTE, a] = 1 if identity else 0
        facts[LAST_OUTCOME, a] = best_outcome
        facts[CONTACTS_30D, a] = contacts
        facts[AUTODEBIT_FAILURES_90D, a] = autodebit_failures
        facts[BAD_WAIVER, a] = bad_waiver
        if keep_rows:
            for i in range(n_rows):
                r = r0 + i
                for c in range(4):
                    row_owed[r, c] = owed[i, c]
                    row_paid[r, c] = paid[i, c]
                row_accrued[r] = accrued[i]
                row_waived[r] = waived[i]
                row_paid_on[r] = paid_on[i]


@njit(cache=True)
def sorted_by(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """Whether rows are in order of (a, b, c), ties allowed: one pass, no temporary arrays."""
    for i in range(1, len(a)):
        if a[i] != a[i - 1]:
            if a[i] < a[i - 1]:
                return False
        elif b[i] != b[i - 1]:
            if b[i] < b[i - 1]:
                return False
        elif c[i] < c[i - 1]:
            return False
    return True


@njit(cache=True)
def offsets(acc: np.ndarray, n_acc: int) -> np.ndarray:
    """Start of each account's rows in rows grouped by account (CSR offsets, n_acc + 1 of them)."""
    out = np.zeros(n_acc + 1, dtype=np.int64)
    for a in acc:
        out[a + 1] += 1
    for a in range(n_acc):
        out[a + 1] += out[a]
    return out
