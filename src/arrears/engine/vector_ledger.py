"""The ledger for a whole portfolio at once: exactly the rules of arrears.domain.ledger, over columns.

Arrow columns are turned into flat int64 arrays grouped by account; the compiled kernel
(arrears.engine.ledger_kernel) walks each account's critical days in parallel across accounts; the totals,
DPD, buckets and paused days are then computed column-wise here.

All arithmetic is on int64 minor units; a daily rate is the exact fraction num/den of its Decimal, so
rounding half-up / half-even / down / up gives the same fen as Decimal.quantize in the domain layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.products import Component, LedgerSettings
from arrears.engine.ledger_kernel import walk
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


def _order(*keys: np.ndarray) -> np.ndarray | None:
    """The permutation sorting rows by `keys` (most significant first), or None when already sorted.

    The store's snapshot arrives sorted by loan, so the check (one pass) usually saves the sort.
    """
    n = len(keys[0])
    if n < 2:
        return None
    ahead = np.zeros(n - 1, dtype=bool)  # row i+1 already known to come after row i
    for key in keys:
        diff = key[1:] - key[:-1]
        if np.any((diff < 0) & ~ahead):
            return np.lexsort(tuple(reversed(keys)))
        ahead |= diff > 0
    return None


def _take(order: np.ndarray | None, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return arrays if order is None else tuple(a[order] for a in arrays)


def account_index(ids: pa.ChunkedArray | pa.Array, loan_ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The position in `loan_ids` of each of `ids`.

    The store's snapshot sorts every table by loan, so a child table is runs of one loan id: look up one id
    per run, not one per row.
    """
    col = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    n = len(col)
    if n > 1:
        changed = np.asarray(
            pc.not_equal(col.slice(1), col.slice(0, n - 1)).fill_null(True).to_numpy(zero_copy_only=False)
        )
        starts = np.concatenate([[0], np.nonzero(changed)[0] + 1])
    else:
        starts = np.arange(n)
    idx = pc.index_in(col.take(pa.array(starts)), loan_ids)
    if idx.null_count:
        raise ValueError(f"{idx.null_count} rows refer to loans that are not in the portfolio")
    per_run = np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.repeat(per_run, np.diff(np.concatenate([starts, [n]])))


def _csr(acc: np.ndarray, n_acc: int) -> np.ndarray:
    """Start offsets of each account's rows in an array sorted by account."""
    return np.concatenate([[0], np.cumsum(np.bincount(acc, minlength=n_acc))]).astype(np.int64)


def compute_ledger(portfolio: Portfolio, as_of: date) -> LedgerColumns:
    """The ledger of every account in `portfolio` at the end of `as_of`."""
    loans = portfolio["loans"]
    n_acc = loans.num_rows
    today = epoch_day(as_of)
    codes = pc.unique(loans["product"]).to_pylist()
    products = _ProductTable([portfolio.settings_for(c) for c in codes])
    acc_product = np.asarray(
        pc.index_in(loans["product"], pa.array(codes, pa.string())).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    loan_ids = loans["loan_id"]

    def account_of(table: pa.Table) -> np.ndarray:
        return account_index(table["loan_id"], loan_ids)

    inst = portfolio["instalments"]
    r_acc, r_due, r_seq = account_of(inst), _days(inst["due_date"], NONE_DAY), _ints(inst["seq"])
    sched = np.stack([_ints(inst["principal"]), _ints(inst["interest"]), _ints(inst["fees"])], axis=1)
    row_acc, row_due, row_seq, sched = _take(_order(r_acc, r_due, r_seq), r_acc, r_due, r_seq, sched)
    row_prod = acc_product[row_acc]
    row_grace_end = row_due + products.grace[row_prod]
    base_mask = products.base_mask[row_prod]
    sched_base = (sched * base_mask).sum(axis=1)
    fixed = products.cap_fixed[row_prod]
    ratio = sched_base * np.maximum(products.cap_ratio_num[row_prod], 0) // products.cap_ratio_den[row_prod]
    has_ratio = products.cap_ratio_num[row_prod] >= 0
    cap = np.where(has_ratio, np.where(fixed >= 0, np.minimum(fixed, ratio), ratio), fixed)

    pays = portfolio["payments"]
    p_acc, p_day, p_rev = (
        account_of(pays),
        _days(pays["paid_on"], NONE_DAY),
        _days(pays["reversed_on"], FAR_DAY),
    )
    counted = (p_day <= today) & (p_rev > today)
    p_acc, p_day, p_amt = p_acc[counted], p_day[counted], _ints(pays["amount"])[counted]
    p_acc, p_day, p_amt = _take(_order(p_acc, p_day, np.arange(len(p_acc))), p_acc, p_day, p_amt)

    wv = portfolio["waivers"]
    w_acc, w_day = account_of(wv), _days(wv["on"], NONE_DAY)
    keep = w_day <= today
    w_acc, w_day, w_amt, w_seq = (
        w_acc[keep],
        w_day[keep],
        _ints(wv["amount"])[keep],
        _ints(wv["instalment_seq"], -1)[keep],
    )
    w_acc, w_day, w_amt, w_seq = _take(
        _order(w_acc, w_day, np.arange(len(w_acc))), w_acc, w_day, w_amt, w_seq
    )

    ps = portfolio["pauses"]
    z_acc, z_start, z_end = account_of(ps), _days(ps["start_on"], NONE_DAY), _days(ps["end_on"], FAR_DAY)
    z_acc, z_start, z_end = _take(_order(z_acc, np.arange(len(z_acc))), z_acc, z_start, z_end)

    n_rows = len(row_acc)
    owed = np.zeros((n_rows, 4), dtype=np.int64)
    paid = np.zeros((n_rows, 4), dtype=np.int64)
    accrued = np.zeros(n_rows, dtype=np.int64)
    waived = np.zeros(n_rows, dtype=np.int64)
    paid_on = np.full(n_rows, NONE_DAY, dtype=np.int64)
    credit = np.zeros(n_acc, dtype=np.int64)
    walk(
        np.int64(today),
        _csr(row_acc, n_acc),
        row_due,
        row_grace_end,
        np.ascontiguousarray(sched),
        np.ascontiguousarray(base_mask),
        products.rate_num[row_prod],
        products.rate_den[row_prod],
        products.rounding[row_prod],
        cap,
        np.ascontiguousarray(products.waterfall[row_prod]),
        _csr(p_acc, n_acc),
        p_day,
        p_amt,
        _csr(w_acc, n_acc),
        w_day,
        w_amt,
        w_seq,
        row_seq,
        _csr(z_acc, n_acc),
        z_start,
        z_end,
        owed,
        paid,
        accrued,
        waived,
        paid_on,
        credit,
        numba.get_num_threads(),
    )
    identity = np.arange(n_acc)
    return _summarise(
        today,
        loans,
        acc_product,
        products,
        identity,
        identity,
        row_acc,
        row_acc,
        row_seq,
        row_due,
        row_grace_end,
        owed,
        paid,
        accrued,
        waived,
        paid_on,
        credit,
        p_acc,
        p_day,
        z_acc,
        z_start,
        z_end,
    )


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
        if nonempty.any():  # rows are grouped by account, so sums are segment reductions
            out_pos[nonempty] = np.add.reduceat(values, starts[nonempty], axis=0)
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
