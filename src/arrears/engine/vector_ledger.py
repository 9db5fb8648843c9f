"""The ledger for a whole portfolio at once, in numpy: exactly the rules of arrears.domain.ledger.

The reference computation walks each loan's critical days (due dates, grace ends, pause edges, payments,
waivers, the as-of date). Here every account takes its k-th critical day at the same step k, so a step is
a handful of vectorised operations over all instalment rows of the accounts still walking. Accounts are
ordered by how many critical days they have, most first, so the accounts still walking at step k — and
their instalment rows — are always a prefix of the arrays: each step works on views, never on copies.

All arithmetic is on int64 minor units; a daily rate is the exact fraction num/den of its Decimal, so
rounding half-up / half-even / down / up gives the same fen as Decimal.quantize in the domain layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.products import Component, LedgerSettings
from arrears.engine.portfolio import Portfolio, epoch_day

NONE_DAY = np.iinfo(np.int32).min  # "no date"
FAR_DAY = np.iinfo(np.int32).max
_ROUNDING = {"half_up": 0, "half_even": 1, "down": 2, "up": 3}
# Component slots in the working matrices.
P, I, F, L = 0, 1, 2, 3  # noqa: E741 - slot names match the component initials
_SLOT = {Component.PRINCIPAL: P, Component.INTEREST: I, Component.FEES: F, Component.LATE_FEE: L}


@dataclass
class LedgerColumns:
    """Per-account results in the order of the portfolio's `loans` table, plus per-instalment rows."""

    loan_id: pa.Array
    product: pa.Array
    dpd: np.ndarray
    delinquent_days: np.ndarray
    paused_days: np.ndarray
    bucket: np.ndarray  # object array of bucket names
    oldest_unpaid_due: np.ndarray  # epoch day, NONE_DAY when nothing is unpaid
    overdue: np.ndarray  # (accounts, 4) principal, interest, fees, late_fee
    outstanding: np.ndarray  # (accounts, 4)
    paid: np.ndarray  # (accounts, 4)
    credit: np.ndarray
    late_fee_accrued: np.ndarray
    late_fee_waived: np.ndarray
    last_payment_on: np.ndarray  # epoch day or NONE_DAY
    # instalment rows (any order), with the account index they belong to
    inst_account: np.ndarray
    inst_seq: np.ndarray
    inst_due: np.ndarray
    inst_grace_end: np.ndarray
    inst_outstanding: np.ndarray  # (rows, 4)
    inst_accrued: np.ndarray
    inst_waived: np.ndarray
    inst_paid_on: np.ndarray  # epoch day or NONE_DAY

    @property
    def accounts(self) -> int:
        return len(self.dpd)


def _fraction(value: object) -> tuple[int, int]:
    num, den = value.as_integer_ratio()  # type: ignore[attr-defined]
    return int(num), int(den)


def _daily_charge(base: np.ndarray, num: np.ndarray, den: np.ndarray, mode: np.ndarray) -> np.ndarray:
    x = base * num
    out = np.zeros_like(x)
    for name, code in _ROUNDING.items():
        sel = mode == code
        if not sel.any():
            continue
        xs, ds = x[sel], den[sel]
        if name == "half_up":
            out[sel] = (2 * xs + ds) // (2 * ds)
        elif name == "down":
            out[sel] = xs // ds
        elif name == "up":
            out[sel] = -((-xs) // ds)
        else:
            q = xs // ds
            r2 = 2 * (xs - q * ds)
            out[sel] = q + ((r2 > ds) | ((r2 == ds) & (q % 2 == 1)))
    return out


def _days(col: pa.ChunkedArray | pa.Array, fill: int) -> np.ndarray:
    arr = pc.cast(col, pa.int32()).fill_null(fill)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def _ints(col: pa.ChunkedArray | pa.Array, fill: int = 0) -> np.ndarray:
    return np.asarray(pc.fill_null(col, fill).to_numpy(zero_copy_only=False), dtype=np.int64)


class _ProductTable:
    """Ledger settings of each product as arrays, indexed by product number."""

    def __init__(self, settings: list[LedgerSettings]) -> None:
        n = len(settings)
        self.settings = settings
        self.grace = np.array([s.grace_days for s in settings], dtype=np.int64)
        fr = [_fraction(s.late_fee.daily_rate) for s in settings]
        self.rate_num = np.array([f[0] for f in fr], dtype=np.int64)
        self.rate_den = np.array([f[1] for f in fr], dtype=np.int64)
        self.rounding = np.array([_ROUNDING[s.late_fee.rounding] for s in settings], dtype=np.int64)
        self.base_mask = np.zeros((n, 3), dtype=np.int64)
        self.waterfall = np.zeros((n, 4), dtype=np.int64)
        self.cap_fixed = np.full(n, -1, dtype=np.int64)
        self.cap_ratio_num = np.full(n, -1, dtype=np.int64)
        self.cap_ratio_den = np.ones(n, dtype=np.int64)
        for k, s in enumerate(settings):
            for comp in s.late_fee.base:
                self.base_mask[k, _SLOT[comp]] = 1
            self.waterfall[k] = [_SLOT[c] for c in s.waterfall]
            cap = s.late_fee.cap
            if cap is not None and cap.fixed is not None:
                self.cap_fixed[k] = cap.fixed
            if cap is not None and cap.ratio is not None:
                self.cap_ratio_num[k], self.cap_ratio_den[k] = _fraction(cap.ratio)


def compute_ledger(portfolio: Portfolio, as_of: date) -> LedgerColumns:
    """The ledger of every account in `portfolio` at the end of `as_of`."""
    loans = portfolio["loans"]
    n_acc = loans.num_rows
    today = epoch_day(as_of)
    codes = pc.unique(loans["product"]).to_pylist()
    products = _ProductTable([portfolio.settings_for(c) for c in codes])
    acc_product = np.asarray(
        pc.index_in(loans["product"], pa.array(codes)).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    loan_ids = loans["loan_id"]

    def account_of(table: pa.Table) -> np.ndarray:
        idx = pc.index_in(table["loan_id"], loan_ids)
        if idx.null_count:
            raise ValueError(f"{idx.null_count} rows refer to loans that are not in the portfolio")
        return np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)

    inst = portfolio["instalments"]
    r_acc = account_of(inst)
    r_due = _days(inst["due_date"], NONE_DAY)
    r_seq = _ints(inst["seq"])
    r_sched = np.stack([_ints(inst["principal"]), _ints(inst["interest"]), _ints(inst["fees"])], axis=1)

    pays = portfolio["payments"]
    p_acc, p_day, p_rev = (
        account_of(pays),
        _days(pays["paid_on"], NONE_DAY),
        _days(pays["reversed_on"], FAR_DAY),
    )
    p_amt = _ints(pays["amount"])
    counted = (p_day <= today) & (p_rev > today)
    p_acc, p_day, p_amt = p_acc[counted], p_day[counted], p_amt[counted]

    wv = portfolio["waivers"]
    w_acc, w_day = account_of(wv), _days(wv["on"], NONE_DAY)
    keep = w_day <= today
    w_acc, w_day, w_amt = w_acc[keep], w_day[keep], _ints(wv["amount"])[keep]
    w_seq = _ints(wv["instalment_seq"], -1)[keep]

    ps = portfolio["pauses"]
    z_acc, z_start, z_end = account_of(ps), _days(ps["start_on"], NONE_DAY), _days(ps["end_on"], FAR_DAY)

    r_grace_end = r_due + products.grace[acc_product[r_acc]]
    row_waterfall = products.waterfall[acc_product[r_acc]]

    # Accounts on which no late fee can have been charged are settled in closed form (the common case);
    # only the others walk their critical days.
    dirty = _needs_walk(today, n_acc, r_acc, r_due, r_seq, r_sched, r_grace_end, p_acc, p_day, p_amt)
    for extra in (w_acc, z_acc):
        dirty[extra] = True
    static = _settle_without_late_fees(
        n_acc, r_acc, r_due, r_seq, r_sched, row_waterfall, p_acc, p_day, p_amt
    )

    # Critical days of every account that walks, as sorted unique (account, day) keys.
    parts_acc = [r_acc, r_acc, p_acc, w_acc, z_acc, z_acc[z_end != FAR_DAY], np.arange(n_acc)]
    parts_day = [
        r_due,
        r_grace_end,
        p_day,
        w_day,
        z_start - 1,
        z_end[z_end != FAR_DAY],
        np.full(n_acc, today),
    ]
    c_acc = np.concatenate(parts_acc)
    c_day = np.concatenate(parts_day)
    keep = (c_day <= today) & dirty[c_acc]
    shift = np.int64(1 << 21)
    keys = np.sort(c_acc[keep] * (shift * 2) + (c_day[keep] + shift))
    if len(keys):
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    counts = np.bincount(keys // (shift * 2), minlength=n_acc)

    # Accounts with the most critical days first; `pos` is an account's place in that order.
    order = np.argsort(-counts, kind="stable")
    pos_of = np.empty(n_acc, dtype=np.int64)
    pos_of[order] = np.arange(n_acc)
    c_pos = pos_of[keys // (shift * 2)]
    c_day_all = keys % (shift * 2) - shift
    ck = np.argsort(c_pos * (shift * 2) + c_day_all + shift, kind="stable")
    c_pos, c_day_all = c_pos[ck], c_day_all[ck]
    counts_pos = counts[order]
    c_start = np.concatenate([[0], np.cumsum(counts_pos)[:-1]])
    crit_key = c_pos * (shift * 2) + c_day_all + shift

    # Payments summed per critical day (several on one day settle like one: the waterfall is greedy).
    crit_pay = np.zeros(len(crit_key), dtype=np.int64)
    walk_pay = dirty[p_acc]
    if walk_pay.any():
        at = np.searchsorted(crit_key, pos_of[p_acc[walk_pay]] * (shift * 2) + p_day[walk_pay] + shift)
        np.add.at(crit_pay, at, p_amt[walk_pay])

    # Instalment rows ordered by (pos, due, seq).
    rk = np.lexsort((r_seq, r_due, pos_of[r_acc]))
    row_acc, row_due, row_seq = r_acc[rk], r_due[rk], r_seq[rk]
    row_pos = pos_of[row_acc]
    row_grace_end = r_grace_end[rk]
    row_prod = acc_product[row_acc]
    owed = np.zeros((len(rk), 4), dtype=np.int64)
    owed[:, :3] = r_sched[rk]
    paid = np.zeros((len(rk), 4), dtype=np.int64)
    sched = r_sched[rk]
    pending = np.zeros(len(rk), dtype=np.int64)
    accrued = np.zeros(len(rk), dtype=np.int64)
    waived = np.zeros(len(rk), dtype=np.int64)
    paid_on = np.full(len(rk), NONE_DAY, dtype=np.int64)
    resolved = products.grace[row_prod] == 0
    base_mask = products.base_mask[row_prod]
    sched_base = (sched * base_mask).sum(axis=1)
    cap = np.full(len(rk), -1, dtype=np.int64)
    has_fixed = products.cap_fixed[row_prod] >= 0
    cap[has_fixed] = products.cap_fixed[row_prod][has_fixed]
    has_ratio = products.cap_ratio_num[row_prod] >= 0
    ratio_cap = sched_base * products.cap_ratio_num[row_prod] // products.cap_ratio_den[row_prod]
    cap = np.where(has_ratio, np.where(cap >= 0, np.minimum(cap, ratio_cap), ratio_cap), cap)
    rate_num, rate_den, rounding = (
        products.rate_num[row_prod],
        products.rate_den[row_prod],
        products.rounding[row_prod],
    )
    waterfall = products.waterfall[row_prod]
    rows_per_pos = np.bincount(row_pos, minlength=n_acc)
    row_end_of_pos = np.cumsum(rows_per_pos)
    row_start_of_pos = row_end_of_pos - rows_per_pos

    # Accounts settled in closed form take their results from the static pass.
    clean_rows = ~dirty[row_acc]
    owed[clean_rows] = static.owed[rk][clean_rows]
    paid[clean_rows] = static.paid[rk][clean_rows]
    paid_on[clean_rows] = static.paid_on[rk][clean_rows]
    credit_pos = static.credit[order].copy()
    credit_pos[counts_pos > 0] = 0
    last_pos = np.zeros(n_acc, dtype=np.int64)
    walking = counts_pos > 0
    last_pos[walking] = c_day_all[c_start[walking]] - 1

    # Waivers and pauses indexed by position, to look up the few that matter at each step.
    w_pos = pos_of[w_acc] if len(w_acc) else w_acc
    z_pos = pos_of[z_acc] if len(z_acc) else z_acc

    kmax = int(counts.max()) if n_acc else 0
    if kmax == 0:
        pass
    for k in range(kmax):
        n_active = int(np.searchsorted(-counts_pos, -k, side="left"))  # counts_pos > k is a prefix
        if n_active == 0:
            break
        day_k = c_day_all[c_start[:n_active] + k]
        pay_k = crit_pay[c_start[:n_active] + k]
        n_rows = int(row_end_of_pos[n_active - 1])
        rp = row_pos[:n_rows]
        d = day_k[rp]
        span = d - last_pos[:n_active][rp]
        paused_acc = np.zeros(n_active, dtype=bool)
        if len(z_pos):
            live = z_pos < n_active
            zp = z_pos[live]
            covers = (z_start[live] <= day_k[zp]) & (day_k[zp] <= z_end[live])
            paused_acc[zp[covers]] = True
        o = owed[:n_rows]
        sched_owed = o[:, P] + o[:, I] + o[:, F]
        accrue = (span > 0) & ~paused_acc[rp] & (d > row_due[:n_rows]) & (sched_owed > 0)
        if accrue.any():
            ix = np.nonzero(accrue)[0]
            base = (o[ix, :3] * base_mask[ix]).sum(axis=1)
            charge = span[ix] * _daily_charge(base, rate_num[ix], rate_den[ix], rounding[ix])
            capped = cap[ix] >= 0
            room = np.maximum(0, cap[ix] - accrued[ix] - pending[ix])
            charge = np.where(capped, np.minimum(charge, room), charge)
            conf = resolved[ix]
            accrued[ix[conf]] += charge[conf]
            owed[ix[conf], L] += charge[conf]
            pending[ix[~conf]] += charge[~conf]
        if len(w_pos):
            for j in np.nonzero(w_pos < n_active)[0]:
                if w_day[j] != day_k[w_pos[j]]:
                    continue
                lo, hi = int(row_start_of_pos[w_pos[j]]), int(row_end_of_pos[w_pos[j]])
                left = int(w_amt[j])
                for r in range(lo, hi):
                    if w_seq[j] >= 0 and row_seq[r] != w_seq[j]:
                        continue
                    take = min(left, int(owed[r, L]))
                    owed[r, L] -= take
                    waived[r] += take
                    left -= take
                    if left == 0:
                        break
        if pay_k.any():
            _allocate(pay_k, owed, paid, waterfall, row_start_of_pos, row_end_of_pos, credit_pos)
        o = owed[:n_rows]
        sched_owed = o[:, P] + o[:, I] + o[:, F]
        ending = ~resolved[:n_rows] & (d >= row_grace_end[:n_rows])
        if ending.any():
            ix = np.nonzero(ending)[0]
            resolved[ix] = True
            conf = ix[sched_owed[ix] > 0]
            accrued[conf] += pending[conf]
            owed[conf, L] += pending[conf]
            pending[ix] = 0
        settled_now = (paid_on[:n_rows] == NONE_DAY) & (sched_owed == 0) & (owed[:n_rows, L] == 0)
        paid_on[:n_rows][settled_now] = d[settled_now]
        last_pos[:n_active] = day_k

    return _summarise(
        today,
        loans,
        acc_product,
        products,
        order,
        pos_of,
        row_pos,
        row_acc,
        row_seq,
        row_due,
        row_grace_end,
        owed,
        paid,
        accrued,
        waived,
        paid_on,
        credit_pos,
        p_acc,
        p_day,
        z_acc,
        z_start,
        z_end,
    )


def _allocate(
    pay_k: np.ndarray,
    owed: np.ndarray,
    paid: np.ndarray,
    waterfall: np.ndarray,
    row_start: np.ndarray,
    row_end: np.ndarray,
    credit: np.ndarray,
) -> None:
    """Greedy waterfall over each paying account's instalments (oldest first), all accounts at once.

    pay_k[a] is what account a pays now; its instalment rows are row_start[a]:row_end[a] of owed / paid,
    ordered oldest first. What no instalment needs goes to credit[a].
    """
    payers = np.nonzero(pay_k > 0)[0]
    if len(payers) == 0:
        return
    lo, hi = row_start[payers], row_end[payers]
    lengths = hi - lo
    rows = np.repeat(lo, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    wf = waterfall[rows]  # (m, 4) slot order per row
    due = np.take_along_axis(owed[rows], wf, axis=1).ravel()  # account-contiguous, waterfall order
    cum = np.cumsum(due)
    per_acc = lengths * 4
    first = np.cumsum(per_acc) - per_acc
    start_cum = np.repeat(cum[first] - due[first], per_acc)
    before = cum - due - start_cum
    amount = np.repeat(pay_k[payers], per_acc)
    alloc = np.clip(amount - before, 0, due)
    alloc2 = alloc.reshape(-1, 4)
    back = np.zeros_like(alloc2)
    np.put_along_axis(back, wf, alloc2, axis=1)
    owed[rows] -= back
    paid[rows] += back
    used = np.add.reduceat(alloc, first) if len(first) else np.zeros(0, dtype=np.int64)
    credit[payers] += pay_k[payers] - used


@dataclass
class _Static:
    """Closed-form results (indexed by original instalment row / account) for accounts without late fees."""

    owed: np.ndarray
    paid: np.ndarray
    paid_on: np.ndarray
    credit: np.ndarray


def _needs_walk(
    today: int,
    n_acc: int,
    r_acc: np.ndarray,
    r_due: np.ndarray,
    r_seq: np.ndarray,
    r_sched: np.ndarray,
    r_grace_end: np.ndarray,
    p_acc: np.ndarray,
    p_day: np.ndarray,
    p_amt: np.ndarray,
) -> np.ndarray:
    """Accounts on which a late fee may have been confirmed by `today` (or that have zero instalments)."""
    paid_on = _static_paid_on(n_acc, r_acc, r_due, r_seq, r_sched, p_acc, p_day, p_amt)
    grace_passed = today >= np.maximum(r_grace_end, r_due + 1)
    late = grace_passed & ((paid_on == NONE_DAY) | (paid_on > r_grace_end))
    dirty = np.zeros(n_acc, dtype=bool)
    dirty[r_acc[late | (r_sched.sum(axis=1) == 0)]] = True
    return dirty


def _static_paid_on(
    n_acc: int,
    r_acc: np.ndarray,
    r_due: np.ndarray,
    r_seq: np.ndarray,
    r_sched: np.ndarray,
    p_acc: np.ndarray,
    p_day: np.ndarray,
    p_amt: np.ndarray,
) -> np.ndarray:
    """The day each instalment would be settled if no late fee were ever charged (by original row)."""
    rk = np.lexsort((r_seq, r_due, r_acc))
    acc_r, tot_r = r_acc[rk], r_sched[rk].sum(axis=1)
    # Cumulative obligations, globally increasing across accounts (accounts in order).
    cum_r = np.cumsum(tot_r)
    acc_total = np.zeros(n_acc, dtype=np.int64)
    rows_per = np.bincount(acc_r, minlength=n_acc)
    has_rows = rows_per > 0
    ends = np.cumsum(rows_per)
    acc_total[has_rows] = np.add.reduceat(tot_r, (ends - rows_per)[has_rows]) if len(tot_r) else 0
    acc_base = np.cumsum(acc_total) - acc_total  # obligations of all earlier accounts
    # Cumulative payments per account, capped at the account's obligations and shifted into the same frame.
    pk = np.lexsort((p_day, p_acc))
    acc_p, day_p, amt_p = p_acc[pk], p_day[pk], p_amt[pk]
    cum_p = np.cumsum(amt_p)
    pays_per = np.bincount(acc_p, minlength=n_acc)
    before_acc = np.repeat(np.cumsum(pays_per) - pays_per, pays_per)
    within = cum_p - (cum_p[before_acc] - amt_p[before_acc]) if len(cum_p) else cum_p
    framed = np.minimum(within, acc_total[acc_p]) + acc_base[acc_p]
    j = np.searchsorted(framed, cum_r, side="left")
    jj = np.minimum(j, max(len(framed) - 1, 0))
    ok = (j < len(framed)) & (acc_p[jj] == acc_r) if len(framed) else np.zeros(len(rk), dtype=bool)
    out = np.full(len(rk), NONE_DAY, dtype=np.int64)
    out[rk[ok]] = day_p[jj[ok]]
    return out


def _settle_without_late_fees(
    n_acc: int,
    r_acc: np.ndarray,
    r_due: np.ndarray,
    r_seq: np.ndarray,
    r_sched: np.ndarray,
    row_waterfall: np.ndarray,
    p_acc: np.ndarray,
    p_day: np.ndarray,
    p_amt: np.ndarray,
) -> _Static:
    """Without late fees the waterfall's result depends only on the total paid: fill it in one pass."""
    rk = np.lexsort((r_seq, r_due, r_acc))
    owed = np.zeros((len(rk), 4), dtype=np.int64)
    owed[:, :3] = r_sched[rk]
    paid = np.zeros_like(owed)
    total = np.zeros(n_acc, dtype=np.int64)
    if len(p_acc):
        order = np.argsort(p_acc, kind="stable")
        a = p_acc[order]
        starts = np.nonzero(np.concatenate([[True], a[1:] != a[:-1]]))[0]
        total[a[starts]] = np.add.reduceat(p_amt[order], starts)
    rows_per = np.bincount(r_acc, minlength=n_acc)
    row_end = np.cumsum(rows_per)
    credit = np.zeros(n_acc, dtype=np.int64)
    _allocate(total, owed, paid, row_waterfall[rk], row_end - rows_per, row_end, credit)
    owed_o, paid_o = np.empty_like(owed), np.empty_like(paid)
    owed_o[rk], paid_o[rk] = owed, paid
    paid_on = _static_paid_on(n_acc, r_acc, r_due, r_seq, r_sched, p_acc, p_day, p_amt)
    return _Static(owed_o, paid_o, paid_on, credit)


def _summarise(
    today: int,
    loans: pa.Table,
    acc_product: np.ndarray,
    products: _ProductTable,
    order: np.ndarray,
    pos_of: np.ndarray,
    row_pos: np.ndarray,
    row_acc: np.ndarray,
    row_seq: np.ndarray,
    row_due: np.ndarray,
    row_grace_end: np.ndarray,
    owed: np.ndarray,
    paid: np.ndarray,
    accrued: np.ndarray,
    waived: np.ndarray,
    paid_on: np.ndarray,
    credit_pos: np.ndarray,
    p_acc: np.ndarray,
    p_day: np.ndarray,
    z_acc: np.ndarray,
    z_start: np.ndarray,
    z_end: np.ndarray,
) -> LedgerColumns:
    n_acc = loans.num_rows
    settled = (owed[:, P] + owed[:, I] + owed[:, F] == 0) & (owed[:, L] == 0)
    n_rows = len(row_pos)
    rows_per_pos = np.bincount(row_pos, minlength=n_acc)
    starts = np.cumsum(rows_per_pos) - rows_per_pos
    idx = np.where(settled, n_rows, np.arange(n_rows))
    oldest_row = np.full(n_acc, n_rows, dtype=np.int64)
    nonempty = rows_per_pos > 0
    if n_rows:
        oldest_row[nonempty] = np.minimum.reduceat(idx, starts[nonempty])
    has_unpaid = oldest_row < n_rows
    oldest_due_pos = np.where(has_unpaid, row_due[np.minimum(oldest_row, max(n_rows - 1, 0))], NONE_DAY)
    # back to account order
    oldest_due = np.empty(n_acc, dtype=np.int64)
    oldest_due[order] = oldest_due_pos
    dpd = np.where(oldest_due != NONE_DAY, np.maximum(0, today - oldest_due), 0)
    paused_days = np.zeros(n_acc, dtype=np.int64)
    if len(z_acc):
        for acc in np.unique(z_acc):
            if dpd[acc] <= 0:
                continue
            lo, hi = int(oldest_due[acc]) + 1, today
            covered = np.zeros(hi - lo + 1, dtype=bool)
            for s, e in zip(z_start[z_acc == acc], z_end[z_acc == acc], strict=True):
                a, b = max(int(s), lo), min(int(e), hi)
                if a <= b:
                    covered[a - lo : b - lo + 1] = True
            paused_days[acc] = int(covered.sum())
    grace = products.grace[acc_product]
    delinquent = np.maximum(0, dpd - grace - paused_days)
    bucket = np.empty(n_acc, dtype=object)
    for k, s in enumerate(products.settings):
        sel = acc_product == k
        if not sel.any():
            continue
        table = s.buckets
        days = dpd[sel] if table.basis == "dpd" else delinquent[sel]
        mins = np.array([b.min_days for b in table.buckets])
        names = np.array(table.names(), dtype=object)
        bucket[sel] = names[np.searchsorted(mins, days, side="right") - 1]

    def per_account(values: np.ndarray) -> np.ndarray:
        out_pos = np.zeros((n_acc, *values.shape[1:]), dtype=np.int64)
        np.add.at(out_pos, row_pos, values)
        out = np.empty_like(out_pos)
        out[order] = out_pos
        return out

    overdue_rows = np.where((row_due < today)[:, None], owed, 0)
    credit = np.empty(n_acc, dtype=np.int64)
    credit[order] = credit_pos
    last_pay = np.full(n_acc, NONE_DAY, dtype=np.int64)
    if len(p_acc):
        np.maximum.at(last_pay, p_acc, p_day)
    return LedgerColumns(
        loan_id=loans["loan_id"].combine_chunks(),
        product=loans["product"].combine_chunks(),
        dpd=dpd,
        delinquent_days=delinquent,
        paused_days=paused_days,
        bucket=bucket,
        oldest_unpaid_due=oldest_due,
        overdue=per_account(overdue_rows),
        outstanding=per_account(owed),
        paid=per_account(paid),
        credit=credit,
        late_fee_accrued=per_account(accrued),
        late_fee_waived=per_account(waived),
        last_payment_on=last_pay,
        inst_account=row_acc,
        inst_seq=row_seq,
        inst_due=row_due,
        inst_grace_end=row_grace_end,
        inst_outstanding=owed,
        inst_accrued=accrued,
        inst_waived=waived,
        inst_paid_on=paid_on,
    )
