"""The ledger (and the features) of a whole portfolio at once: exactly the rules of arrears.domain.ledger
and arrears.domain.account_features, over columns.

Arrow columns are turned into flat int64 arrays grouped by account (`prepare`); the compiled kernel
(arrears.engine.ledger_kernel.assess) walks each account's critical days and sums up its figures and
features in one pass, in parallel across accounts.

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

from arrears.domain.account_features import (
    AUTODEBIT_COUNT_WINDOW,
    AUTODEBIT_WINDOW,
    CONTACT_WINDOW,
    EVENT_KINDS,
    HARDSHIP_WINDOW,
    HISTORY_WINDOW,
    PROMISE_WINDOW,
)
from arrears.domain.errors import InputError
from arrears.domain.features import RATIO_ONE
from arrears.domain.money import format_minor
from arrears.domain.products import Component, LedgerSettings
from arrears.engine import ledger_kernel as kernel
from arrears.engine.portfolio import Portfolio, epoch_day

NONE_DAY = int(kernel.NONE_DAY)  # "no date"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # epoch day 0
FAR_DAY = int(kernel.FAR_DAY)
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
        self.bucket_names: list[str] = []
        self.bucket_basis = np.zeros(n, dtype=np.int64)
        starts, mins, maxs, codes = [0], [], [], []
        for k, s in enumerate(settings):
            for comp in s.late_fee.base:
                self.base_mask[k, _SLOT[comp]] = 1
            self.waterfall[k] = [_SLOT[c] for c in s.waterfall]
            cap = s.late_fee.cap
            if cap is not None and cap.fixed is not None:
                self.cap_fixed[k] = cap.fixed
            if cap is not None and cap.ratio is not None:
                self.cap_ratio_num[k], self.cap_ratio_den[k] = _fraction(cap.ratio)
            self.bucket_basis[k] = 0 if s.buckets.basis == "dpd" else 1
            for b in s.buckets.buckets:
                if b.name not in self.bucket_names:
                    self.bucket_names.append(b.name)
                mins.append(b.min_days)
                maxs.append(FAR_DAY if b.max_days is None else b.max_days)
                codes.append(self.bucket_names.index(b.name))
            starts.append(len(mins))
        self.bucket_start = np.array(starts, dtype=np.int64)
        self.bucket_min = np.array(mins, dtype=np.int64)
        self.bucket_max = np.array(maxs, dtype=np.int64)
        self.bucket_code = np.array(codes, dtype=np.int64)


def _sorted_by(*keys: np.ndarray) -> bool:
    """Whether rows are in order of `keys` (most significant first, at most three), ties allowed."""
    zero = np.zeros(len(keys[0]), dtype=np.int64)
    a, b, c = (*keys, zero, zero)[:3]
    return bool(kernel.sorted_by(a, b, c))


def _order(*keys: np.ndarray) -> np.ndarray | None:
    """The stable permutation sorting rows by `keys` (most significant first), or None when already sorted.

    The store's snapshot arrives sorted by loan, so the check (one pass) usually saves the sort; ties keep
    the recorded order.
    """
    return None if _sorted_by(*keys) else np.lexsort(tuple(reversed(keys)))


def _take(order: np.ndarray | None, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return arrays if order is None else tuple(a[order] for a in arrays)


def _runs(col: pa.Array) -> np.ndarray:
    """Start of each run of equal values."""
    n = len(col)
    if n < 2:
        return np.arange(n)
    changed = pc.not_equal(col.slice(1), col.slice(0, n - 1)).fill_null(True)
    return np.concatenate([[0], np.nonzero(np.asarray(changed.to_numpy(zero_copy_only=False)))[0] + 1])


def accounts_of(
    columns: list[pa.ChunkedArray | pa.Array],
    loan_ids: pa.ChunkedArray | pa.Array,
    *,
    missing: int | None = None,
) -> list[np.ndarray]:
    """For each column of loan ids, the position in `loan_ids` of every row (`missing` for ids not there;
    None = an error).

    A column dictionary-encoded with the loans' own ids as its dictionary (what a snapshot directory holds)
    already is the answer. Otherwise the store's snapshot sorts every table by loan, so a child table is
    runs of one loan id: one id per run is looked up, for all the columns in one hash lookup.
    """
    loans = loan_ids.combine_chunks() if isinstance(loan_ids, pa.ChunkedArray) else loan_ids
    out: list[np.ndarray | None] = [None] * len(columns)
    pending: list[tuple[int, np.ndarray, int]] = []  # column, run starts, rows
    run_ids: list[pa.Array] = []
    for k, ids in enumerate(columns):
        col = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        if len(col) == 0:
            out[k] = np.zeros(0, dtype=np.int64)
            continue
        if pa.types.is_dictionary(col.type):
            if col.null_count == 0 and col.dictionary.equals(loans):
                out[k] = np.asarray(col.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
                continue
            col = col.cast(col.type.value_type)
        starts = _runs(col)
        pending.append((k, starts, len(col)))
        run_ids.append(col.take(pa.array(starts)))
    if pending:
        idx = pc.index_in(pa.concat_arrays(run_ids), loans)
        if idx.null_count and missing is None:
            raise ValueError(f"{idx.null_count} rows refer to loans that are not in the portfolio")
        found = np.asarray(idx.fill_null(-1 if missing is None else missing).to_numpy(zero_copy_only=False))
        at = 0
        for k, starts, rows in pending:
            per_run = found[at : at + len(starts)].astype(np.int64)
            at += len(starts)
            out[k] = np.repeat(per_run, np.diff(np.concatenate([starts, [rows]])))
    return [o if o is not None else np.zeros(0, dtype=np.int64) for o in out]


def _csr(acc: np.ndarray, n_acc: int) -> np.ndarray:
    """Start offsets of each account's rows in an array sorted by account."""
    out: np.ndarray = kernel.offsets(acc, n_acc)
    return out


def _codes(col: pa.ChunkedArray | pa.Array, names: list[str], *, null: int, other: int) -> np.ndarray:
    idx = pc.index_in(col, pa.array(names, pa.string()))
    if col.null_count:
        idx = pc.if_else(pc.is_null(col), null, idx)
    return np.asarray(idx.fill_null(other).to_numpy(zero_copy_only=False), dtype=np.int64)


_PAUSE_REASONS = ["hardship", "dispute", "identity_theft"]
_WINDOWS = np.array(
    [
        PROMISE_WINDOW,
        AUTODEBIT_WINDOW,
        HARDSHIP_WINDOW,
        HISTORY_WINDOW,
        CONTACT_WINDOW,
        AUTODEBIT_COUNT_WINDOW,
    ],
    dtype=np.int64,
)


@dataclass
class Assessment:
    """What the kernel found for every account (`facts` and `money`, rows per ledger_kernel's constants),
    in the order of the portfolio's `loans` table; with `keep_rows`, every money component and each
    instalment row's state too (rows grouped by account, ordered by due date)."""

    today: int
    loans: pa.Table
    products: _ProductTable
    acc_product: np.ndarray
    facts: np.ndarray
    money: np.ndarray
    outcome_names: list[str]
    row_acc: np.ndarray
    row_seq: np.ndarray
    row_due: np.ndarray
    row_owed: np.ndarray
    row_paid: np.ndarray
    row_accrued: np.ndarray
    row_waived: np.ndarray
    row_paid_on: np.ndarray

    def __getitem__(self, row: int) -> np.ndarray:
        """A row of `facts` (int32)."""
        out: np.ndarray = self.facts[row]
        return out

    def amount(self, row: int) -> np.ndarray:
        """A row of `money` (int64)."""
        out: np.ndarray = self.money[row]
        return out

    def components(self, first: int) -> np.ndarray:
        """(accounts, 4): principal, interest, fees, late fee from `first` on (ledger mode only)."""
        return np.ascontiguousarray(self.money[first : first + 4].T)


def assess_portfolio(portfolio: Portfolio, as_of: date, *, keep_rows: bool = False) -> Assessment:
    """Ledger and features of every account in `portfolio` at the end of `as_of`."""
    loans = portfolio["loans"]
    n_acc = loans.num_rows
    today = epoch_day(as_of)
    codes = [str(c) for c in pc.unique(loans["product"]).to_pylist()]
    products = _ProductTable([portfolio.settings_for(c) for c in codes])
    acc_product = np.asarray(
        pc.index_in(loans["product"], pa.array(codes, pa.string())).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    inst, pays, wv, ps, ev = (
        portfolio[t] for t in ("instalments", "payments", "waivers", "pauses", "events")
    )
    # pauses and events of loans not in the portfolio are left out; other rows must belong to a loan
    i_acc, p_acc, w_acc = accounts_of([inst["loan_id"], pays["loan_id"], wv["loan_id"]], loans["loan_id"])
    z_acc, e_acc = accounts_of([ps["loan_id"], ev["loan_id"]], loans["loan_id"], missing=-1)

    i_due, i_seq = _days(inst["due_date"], NONE_DAY), _ints(inst["seq"])
    order = _order(i_acc, i_due, i_seq)
    i_acc, i_due, i_seq = _take(order, i_acc, i_due, i_seq)
    amounts = _take(order, *(_ints(inst[c]) for c in ("principal", "interest", "fees")))

    p_day = _days(pays["paid_on"], NONE_DAY)
    order = _order(p_acc, p_day)
    p_acc, p_day, p_rev, p_amt = _take(
        order, p_acc, p_day, _days(pays["reversed_on"], FAR_DAY), _ints(pays["amount"])
    )

    w_day = _days(wv["on"], NONE_DAY)
    order = _order(w_acc, w_day)
    w_acc, w_day, w_amt, w_seq = _take(
        order, w_acc, w_day, _ints(wv["amount"]), _ints(wv["instalment_seq"], -1)
    )

    z_from, z_to = _days(ps["start_on"], NONE_DAY), _days(ps["end_on"], FAR_DAY)
    z_reason = _codes(ps["reason"], _PAUSE_REASONS, null=1, other=kernel.PZ_OTHER)
    keep = z_acc >= 0
    z_acc, z_from, z_to, z_reason = z_acc[keep], z_from[keep], z_to[keep], z_reason[keep]
    z_acc, z_from, z_to, z_reason = _take(_order(z_acc), z_acc, z_from, z_to, z_reason)

    e_day = _days(ev["on"], NONE_DAY)
    e_kind = _codes(ev["kind"], list(EVENT_KINDS), null=-1, other=-1)
    outcomes = pc.dictionary_encode(ev["outcome"]).combine_chunks()
    outcome_names = [str(v) for v in outcomes.dictionary.to_pylist()]
    e_outcome = np.asarray(outcomes.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    keep = (e_acc >= 0) & (e_kind >= 0)
    if not keep.all():
        e_acc, e_day, e_kind, e_outcome = e_acc[keep], e_day[keep], e_kind[keep], e_outcome[keep]
    e_acc, e_day, e_kind, e_outcome = _take(_order(e_acc), e_acc, e_day, e_kind, e_outcome)

    n_rows = len(i_acc)
    facts = np.empty((kernel.FACT_ROWS, n_acc), dtype=np.int32)
    money_rows = kernel.LEDGER_MONEY_ROWS if keep_rows else kernel.FEATURE_MONEY_ROWS
    money = np.empty((money_rows, n_acc), dtype=np.int64)
    shape = (n_rows, 4) if keep_rows else (0, 4)
    row_owed, row_paid = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    row_accrued, row_waived, row_paid_on = (np.zeros(shape[0], dtype=np.int64) for _ in range(3))
    w_start = _csr(w_acc, n_acc)
    kernel.assess(
        np.int64(today),
        _WINDOWS,
        np.int64(RATIO_ONE),
        acc_product,
        products.grace,
        products.rate_num,
        products.rate_den,
        products.rounding,
        products.base_mask,
        products.waterfall,
        products.cap_fixed,
        products.cap_ratio_num,
        products.cap_ratio_den,
        products.bucket_basis,
        products.bucket_start,
        products.bucket_min,
        products.bucket_max,
        products.bucket_code,
        _csr(i_acc, n_acc),
        i_due,
        i_seq,
        *amounts,
        _csr(p_acc, n_acc),
        p_day,
        p_rev,
        p_amt,
        w_start,
        w_day,
        w_amt,
        w_seq,
        _csr(z_acc, n_acc),
        z_from,
        z_to,
        z_reason,
        _csr(e_acc, n_acc),
        e_day,
        e_kind,
        e_outcome,
        facts,
        money,
        keep_rows,
        row_owed,
        row_paid,
        row_accrued,
        row_waived,
        row_paid_on,
        numba.get_num_threads(),
    )
    _refuse_bad_rows(loans, codes, products, acc_product, facts, w_start, w_day, w_amt, w_seq)
    return Assessment(
        today,
        loans,
        products,
        acc_product,
        facts,
        money,
        outcome_names,
        i_acc,
        i_seq,
        i_due,
        row_owed,
        row_paid,
        row_accrued,
        row_waived,
        row_paid_on,
    )


def _refuse_bad_rows(
    loans: pa.Table,
    codes: list[str],
    products: _ProductTable,
    acc_product: np.ndarray,
    facts: np.ndarray,
    w_start: np.ndarray,
    w_day: np.ndarray,
    w_amt: np.ndarray,
    w_seq: np.ndarray,
) -> None:
    """What the domain ledger refuses, refused here too: a waiver for more late fee than was unpaid on its
    day, and a day count beyond a product's bucket table."""
    bad = np.flatnonzero(facts[kernel.BAD_WAIVER])
    if bad.size:
        a = int(bad[0])
        row = int(w_start[a]) + int(facts[kernel.BAD_WAIVER, a]) - 1
        currency = products.settings[int(acc_product[a])].currency
        on = date.fromordinal(_EPOCH_ORDINAL + int(w_day[row])).isoformat()
        of = f"instalment {int(w_seq[row])}'s unpaid late fee" if w_seq[row] >= 0 else "the unpaid late fee"
        raise InputError(
            f"loan {loans['loan_id'][a].as_py()}: a waiver of {format_minor(int(w_amt[row]), currency)} on {on}"
            f" is more than {of} on that day",
            field="waivers",
        )
    beyond = np.flatnonzero(facts[kernel.BUCKET] < 0)
    if beyond.size:
        a = int(beyond[0])
        raise InputError(
            f"loan {loans['loan_id'][a].as_py()}: no bucket of product"
            f" {codes[int(acc_product[a])]} holds its day count (the last bucket must have no max)",
            field="buckets",
        )


def compute_ledger(portfolio: Portfolio, as_of: date) -> LedgerColumns:
    """The ledger of every account in `portfolio` at the end of `as_of`, with every instalment row."""
    a = assess_portfolio(portfolio, as_of, keep_rows=True)
    names = np.array(a.products.bucket_names, dtype=object)
    return LedgerColumns(
        loan_id=a.loans["loan_id"].combine_chunks(),
        product=a.loans["product"].combine_chunks(),
        dpd=a[kernel.DPD].astype(np.int64),
        delinquent_days=a[kernel.DELINQUENT].astype(np.int64),
        paused_days=a[kernel.PAUSED].astype(np.int64),
        bucket=names[a[kernel.BUCKET]] if len(names) else np.empty(0, dtype=object),
        oldest_unpaid_due=a[kernel.OLDEST_DUE].astype(np.int64),
        overdue=a.components(kernel.OVERDUE),
        outstanding=a.components(kernel.OUTSTANDING),
        paid=a.components(kernel.PAID),
        credit=a.amount(kernel.CREDIT),
        late_fee_accrued=a.amount(kernel.ACCRUED),
        late_fee_waived=a.amount(kernel.WAIVED),
        last_payment_on=a[kernel.LAST_PAYMENT].astype(np.int64),
        inst_account=a.row_acc,
        inst_seq=a.row_seq,
        inst_due=a.row_due,
        inst_grace_end=a.row_due + a.products.grace[a.acc_product[a.row_acc]],
        inst_outstanding=a.row_owed,
        inst_accrued=a.row_accrued,
        inst_waived=a.row_waived,
        inst_paid_on=a.row_paid_on,
    )
