"""Synthetic portfolios: borrowers, loans, payment histories and account events, in the import layouts.

`generate_portfolio(borrowers, seed, as_of)` draws a whole portfolio with numpy (one Generator per
concern, all derived from `seed`) and builds pyarrow Tables column by column: no Python object per row,
so a million borrowers take seconds. The same seed and as-of date give byte-identical files.

How a history is drawn (parameters and their reasons: portfolio_params.yaml; docs/synthetic-data.md):
- each borrower has a persona (good, forgetful, hardship, strategic, fraud, deceased) and 1-3 loans
  opened over the last year; each loan is one product of the catalogue with its schedule;
- every instalment gets a planned payment day from the persona (early, on time, k days late); within a
  loan, payment days never go backwards, so each payment settles exactly its own instalment; a late
  payer pays the instalment plus the late fee the product's rules have accrued by then, computed here
  with the same integer arithmetic as the ledger, so an accidental late payment cures the account;
- special periods replace the plan: a hardship window (partial payments, then one catch-up transfer),
  a strategic stop (nothing after it, broken promises), fraud (nothing ever), death (nothing after);
- some payments bounce: the attempt is reversed a few days later and paid again;
- only what happened on or before as-of is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from arrears.adapters.import_layout import (
    EVENT_REQUIRED,
    LOAN_OPTIONAL,
    LOAN_REQUIRED,
    PAYMENT_OPTIONAL,
    PAYMENT_REQUIRED,
)
from arrears.domain.catalog import PRODUCTS
from arrears.domain.errors import InputError
from arrears.domain.products import Component, LateFeeCap
from arrears.engine.portfolio import SCHEMAS as ENGINE_SCHEMAS
from arrears.engine.portfolio import Portfolio as EnginePortfolio
from arrears.sim.distributions import normalised, pick, uniform_days
from arrears.sim.identities import synthetic_identities
from arrears.sim.portfolio_params import PERSONAS, PortfolioParams, load_params

if TYPE_CHECKING:
    from arrears.services.imports import ImportResult
    from arrears.services.unit_of_work import UnitOfWork

EPOCH = date(1970, 1, 1)
CURRENCY = "CNY"

GOOD, FORGETFUL, HARDSHIP, STRATEGIC, FRAUD, DECEASED = range(len(PERSONAS))

# Event kinds in the order they are written when several fall on one day of one loan.
EVENT_KINDS = (
    "autodebit_failed",
    "promise_made",
    "promise_kept",
    "promise_broken",
    "dispute_opened",
    "dispute_closed",
    "identity_dispute",
    "hardship_flag",
)
(
    AUTODEBIT_FAILED,
    PROMISE_MADE,
    PROMISE_KEPT,
    PROMISE_BROKEN,
    DISPUTE_OPENED,
    DISPUTE_CLOSED,
    IDENTITY_DISPUTE,
    HARDSHIP_FLAG,
) = range(len(EVENT_KINDS))

# The persona column names the problem types only (the store's vocabulary); a good payer's is empty,
# as it is for real borrowers with no known problem.
PERSONA_COLUMN_VALUES = pa.array([None if name == "good" else name for name in PERSONAS], pa.string())

PAYMENT_SOURCES = ("autodebit", "app", "transfer", "bank_return")
AUTODEBIT, APP, TRANSFER, BANK_RETURN = range(len(PAYMENT_SOURCES))

AUTODEBIT_FAILURE_REASONS = ("insufficient_funds", "card_expired", "bank_declined")
HARDSHIP_REASONS = ("job_loss", "illness", "income_drop", "family_emergency")

# The import layouts (the generator writes no `at` instants for events).
LOAN_COLUMNS = LOAN_REQUIRED + LOAN_OPTIONAL
PAYMENT_COLUMNS = PAYMENT_REQUIRED + PAYMENT_OPTIONAL
EVENT_COLUMNS = (*EVENT_REQUIRED, "detail")


@dataclass(frozen=True)
class Portfolio:
    """A generated portfolio: the three import tables plus what was counted while drawing it."""

    as_of: date
    seed: int
    borrowers: int
    loans: pa.Table  # one row per instalment (the loans import file)
    payments: pa.Table
    events: pa.Table
    loans_by_persona: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """Borrowers, loans, instalments, payments (and reversals), events by kind, loans by persona."""
        reversals = self.payments.num_rows - self.payments.column("reverses").null_count
        kinds = pc.value_counts(self.events.column("kind")).to_pylist()
        by_kind = {k: 0 for k in EVENT_KINDS}
        for item in kinds:
            by_kind[item["values"]] = item["counts"]
        return {
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "borrowers": self.borrowers,
            "loans": sum(self.loans_by_persona.values()),
            "instalments": self.loans.num_rows,
            "payments": self.payments.num_rows,
            "reversals": reversals,
            "events": self.events.num_rows,
            "events_by_kind": by_kind,
            "loans_by_persona": dict(self.loans_by_persona),
        }

    def digest(self) -> str:
        """A fingerprint of the borrowers, loans, instalments, payments and events drawn: two portfolios with
        the same digest hold the same people with the same histories (the lab checks its paired runs)."""
        digest = hashlib.sha256()
        for table in (self.loans, self.payments, self.events):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table.combine_chunks())
            digest.update(sink.getvalue().to_pybytes())
        return digest.hexdigest()[:16]

    def engine_portfolio(self) -> EnginePortfolio:
        """The same portfolio in the engine's columnar layout (int64 amounts, reversals folded into
        `reversed_on`), as the store's snapshot would hand it over after an import."""
        loans = self.loans
        seq = loans.column("seq")
        first_rows = loans.filter(pc.equal(seq, 1))
        instalments = pa.table(
            {
                "loan_id": loans.column("loan_id"),
                "seq": seq,
                "due_date": loans.column("due_date"),
                **{c: _minor_units(loans.column(c)) for c in ("principal", "interest", "fees")},
            }
        )
        pays = self.payments
        is_reversal = pc.is_valid(pays.column("reverses"))
        reversals = pays.filter(is_reversal).select(["reverses", "paid_on"])
        reversals = reversals.rename_columns(["payment_id", "reversed_on"])
        paid = pays.filter(pc.invert(is_reversal)).select(["payment_id", "loan_id", "paid_on", "amount"])
        paid = paid.join(reversals, "payment_id", join_type="left outer").sort_by("payment_id")
        paid = paid.set_column(3, "amount", _minor_units(paid.column("amount")))
        borrower = first_rows.column("borrower_id")
        new_borrower = np.ones(first_rows.num_rows, dtype=bool)
        ids = borrower.to_numpy(zero_copy_only=False)
        new_borrower[1:] = ids[1:] != ids[:-1]
        borrowers = first_rows.filter(pa.array(new_borrower)).select(
            ["borrower_id", "timezone", "language", "region", "persona"]
        )
        tables = {
            "loans": first_rows.select(["loan_id", "borrower_id", "product"]),
            "instalments": instalments,
            "payments": paid,
            "events": self.events.select(["loan_id", "kind", "on"]),
            "borrowers": borrowers,
        }
        # Columns the engine knows that a generated portfolio has no values for (e.g. contact outcomes).
        for name, table in tables.items():
            for column in ENGINE_SCHEMAS[name]:
                if column.name not in table.column_names:
                    table = table.append_column(column, pa.nulls(table.num_rows, column.type))
            tables[name] = table
        return EnginePortfolio(tables)


def day_number(day: date) -> int:
    """Days since 1970-01-01: how dates travel through the numpy arrays."""
    return (day - EPOCH).days


def generate_portfolio(
    borrowers: int, seed: int, as_of: date, params: PortfolioParams | None = None
) -> Portfolio:
    """Draw a synthetic portfolio of `borrowers` borrowers as of `as_of` (deterministic for `seed`)."""
    if borrowers < 0:
        raise InputError("the number of borrowers cannot be negative", field="--borrowers")
    if seed < 0:
        raise InputError("the seed must be a non-negative integer", field="--seed")
    params = params or load_params()
    # One independent stream per concern, so a change in how events are drawn leaves the identities alone.
    people_rng, loan_rng, pay_rng, event_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    people = _draw_people(people_rng, borrowers, as_of, params)
    book = _draw_loans(loan_rng, people, as_of, params)
    history = _History(as_of)
    _draw_history(pay_rng, event_rng, people, book, history, params)
    loans = _loans_table(people, book)
    payments, events = history.tables(book.loan_ids)
    by_persona = np.bincount(people.persona[book.loan_borrower], minlength=len(PERSONAS))
    return Portfolio(
        as_of=as_of,
        seed=seed,
        borrowers=borrowers,
        loans=loans,
        payments=payments,
        events=events,
        loans_by_persona={name: int(n) for name, n in zip(PERSONAS, by_persona, strict=True)},
    )


# ---------------------------------------------------------------------------------------------------
# Borrowers


@dataclass
class _People:
    count: int
    persona: np.ndarray
    ids: pa.Array
    name: pa.Array
    phone: pa.Array
    id_number: pa.Array
    email: pa.Array
    address: pa.Array
    region: pa.Array
    timezone: pa.Array
    language: pa.Array
    loans: np.ndarray  # loans per borrower
    special_day: np.ndarray  # hardship shock or strategic stop day (day number)
    window_days: np.ndarray  # hardship window length


def _draw_people(rng: np.random.Generator, count: int, as_of: date, params: PortfolioParams) -> _People:
    bp = params.borrowers
    persona = rng.choice(len(PERSONAS), size=count, p=normalised(params.personas.shares()))
    counts = list(bp.loans_per_borrower)
    loans = np.asarray(counts, dtype=np.int64)[
        rng.choice(len(counts), size=count, p=normalised(list(bp.loans_per_borrower.values())))
    ]
    identities = synthetic_identities(
        rng, count, as_of, age=bp.age_years.model_dump(), email_share=bp.email_share
    )
    timezone = pick(rng, count, bp.timezone)
    language = pick(rng, count, bp.language)
    as_of_day = day_number(as_of)
    shock = params.personas.hardship.shock
    stop = params.personas.strategic.stop
    shock_day = as_of_day - rng.integers(1, shock.within_days + 1, count)
    stop_day = as_of_day - rng.integers(0, stop.within_days, count)
    special_day = np.where(persona == HARDSHIP, shock_day, np.where(persona == STRATEGIC, stop_day, 0))
    window = uniform_days(rng, shock.window_days, count)
    return _People(
        count=count,
        persona=persona,
        ids=_ids("B", np.arange(1, count + 1), 9),
        name=identities.name,
        phone=identities.phone,
        id_number=identities.id_number,
        email=identities.email,
        address=identities.address,
        region=identities.region,
        timezone=timezone,
        language=language,
        loans=loans,
        special_day=special_day,
        window_days=window,
    )


# ---------------------------------------------------------------------------------------------------
# Loans and their schedules


@dataclass
class _Book:
    """Loans (one entry per loan) and instalments (one entry per instalment), as numpy columns."""

    loan_ids: pa.Array
    loan_borrower: np.ndarray
    loan_product: np.ndarray  # index into product_codes
    opened: np.ndarray  # day number
    product_codes: list[str]
    # instalments
    inst_loan: np.ndarray
    seq: np.ndarray
    due: np.ndarray
    principal: np.ndarray
    interest: np.ndarray
    fees: np.ndarray
    fee_base: np.ndarray  # what the late fee is charged on (the product's late_fee.base components)
    daily_fee: np.ndarray  # one day's late fee on the full fee base
    fee_cap: np.ndarray  # ceiling of the instalment's total late fee (int64 max when none)
    grace: np.ndarray

    @property
    def scheduled(self) -> np.ndarray:
        return np.asarray(self.principal + self.interest + self.fees, dtype=np.int64)

    def late_fee(self, paid_on: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The late fee owed by instalments `rows`, if paid in full on `paid_on` with nothing paid before.

        As the ledger counts it: nothing when paid within the grace days; otherwise one daily charge
        for each day from the first overdue day to the payment day inclusive, up to the cap.
        """
        late = paid_on - self.due[rows]
        fee = np.minimum(np.maximum(late, 0) * self.daily_fee[rows], self.fee_cap[rows])
        return np.where(late > self.grace[rows], fee, 0)


_NO_CAP = np.iinfo(np.int64).max


def _draw_loans(rng: np.random.Generator, people: _People, as_of: date, params: PortfolioParams) -> _Book:
    lp = params.loans
    codes = list(lp.products)
    terms = [lp.products[c] for c in codes]
    loan_borrower = np.repeat(np.arange(people.count), people.loans)
    n_loans = len(loan_borrower)
    product = rng.choice(len(codes), size=n_loans, p=normalised([t.share for t in terms]))
    opened = day_number(as_of) - rng.integers(1, lp.history_days + 1, n_loans)

    pur = lp.purchase
    scale = np.asarray([pur.scale[c] for c in codes])[product]
    # Lognormal in yuan around the median, then whole fen within [min, max].
    amount = np.exp(np.log(pur.median) + pur.sigma * rng.standard_normal(n_loans)) * scale
    principal_total = np.clip(np.rint(amount), pur.min, pur.max).astype(np.int64)
    # Monthly fee rate in hundredths of a percent (basis points), drawn per loan; interest-free for
    # one-instalment products.
    lo_bp = int(lp.monthly_fee_rate.min * 10000)
    hi_bp = int(lp.monthly_fee_rate.max * 10000)
    rate_bp = rng.integers(lo_bp, hi_bp + 1, n_loans)
    n_inst_of_product = np.asarray([t.instalments for t in terms], dtype=np.int64)
    n_inst = n_inst_of_product[product]
    rate_bp = np.where(n_inst > 1, rate_bp, 0)

    inst_loan = np.repeat(np.arange(n_loans), n_inst)
    starts = np.cumsum(n_inst) - n_inst
    seq = np.arange(len(inst_loan)) - np.repeat(starts, n_inst) + 1
    total_of_row = principal_total[inst_loan]
    principal = split_principal(total_of_row, n_inst[inst_loan], seq)
    # Interest = monthly rate × original principal, rounded half-up to the fen, on every instalment.
    interest = (total_of_row * rate_bp[inst_loan] * 2 + 10000) // 20000
    fees = np.zeros(len(inst_loan), dtype=np.int64)

    due = _due_dates(opened[inst_loan], seq, product[inst_loan], terms)
    for code in codes:
        if PRODUCTS[code].settings.currency != CURRENCY:
            raise InputError(f"product {code} is not in {CURRENCY}", field="loans.products")
    prod_row = product[inst_loan]
    components = {Component.PRINCIPAL: principal, Component.INTEREST: interest, Component.FEES: fees}
    fee_base = np.zeros(len(inst_loan), dtype=np.int64)
    daily = np.zeros(len(inst_loan), dtype=np.int64)
    cap = np.full(len(inst_loan), _NO_CAP, dtype=np.int64)
    grace = np.zeros(len(inst_loan), dtype=np.int64)
    for k, code in enumerate(codes):
        rule = PRODUCTS[code].settings.late_fee
        rows = prod_row == k
        base = sum((components[c][rows] for c in rule.base), np.zeros(int(rows.sum()), dtype=np.int64))
        fee_base[rows] = base
        # The domain's own rule, applied once per distinct amount: the late fee here is the ledger's.
        daily[rows] = _per_distinct(base, rule.daily_charge)
        if rule.cap is not None:
            cap[rows] = _per_distinct(base, partial(_cap_of, rule.cap))
        grace[rows] = PRODUCTS[code].settings.grace_days
    return _Book(
        loan_ids=_ids("L", np.arange(1, n_loans + 1), 10),
        loan_borrower=loan_borrower,
        loan_product=product,
        opened=opened,
        product_codes=codes,
        inst_loan=inst_loan,
        seq=seq,
        due=due,
        principal=principal,
        interest=interest,
        fees=fees,
        fee_base=fee_base,
        daily_fee=daily,
        fee_cap=cap,
        grace=grace,
    )


def _cap_of(cap: LateFeeCap, base: int) -> int:
    limit = cap.limit(base)
    return _NO_CAP if limit is None else limit


def _per_distinct(values: np.ndarray, rule: Callable[[int], int]) -> np.ndarray:
    """`rule` applied to each distinct value once (amounts repeat a lot), spread back over the rows."""
    distinct, where = np.unique(values, return_inverse=True)
    results = np.fromiter((rule(int(v)) for v in distinct), dtype=np.int64, count=len(distinct))
    return results[where]


def split_principal(total: np.ndarray, parts: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Instalment `seq` (1-based) of `total` split into `parts` even parts, the remainder in the last,
    so the parts of a loan sum exactly to its principal: 1000.00 in 3 -> 333.33, 333.33, 333.34."""
    base = total // parts
    return np.asarray(np.where(seq == parts, total - base * (parts - 1), base), dtype=np.int64)


def _due_dates(opened: np.ndarray, seq: np.ndarray, product: np.ndarray, terms: list[Any]) -> np.ndarray:
    """Due day of each instalment: every n days, or the same day of each following month (clamped to
    the month's last day, as a card statement does)."""
    due = np.zeros(len(seq), dtype=np.int64)
    opened_d = opened.astype("datetime64[D]")
    month0 = opened_d.astype("datetime64[M]")
    day_of_month = (opened_d - month0.astype("datetime64[D]")).astype(np.int64)
    target = month0 + seq.astype("timedelta64[M]")
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    monthly = (target.astype("datetime64[D]") + np.minimum(day_of_month, month_len - 1)).astype(np.int64)
    for k, t in enumerate(terms):
        rows = product == k
        period = t.period_days
        due[rows] = monthly[rows] if period is None else opened[rows] + seq[rows] * period
    return due


# ---------------------------------------------------------------------------------------------------
# Payment histories and events


class _History:
    """Payment and event rows, appended in batches of numpy columns; only days ≤ as-of are kept."""

    def __init__(self, as_of: date) -> None:
        self.as_of_day = day_number(as_of)
        self.pay: dict[str, list[np.ndarray]] = {k: [] for k in ("loan", "day", "amount", "source", "ref")}
        self.pay_rows = 0
        self.ev: dict[str, list[Any]] = {k: [] for k in ("loan", "day", "kind", "detail")}

    def payments(
        self,
        loan: np.ndarray,
        day: np.ndarray,
        amount: np.ndarray,
        source: np.ndarray | int,
        reverses: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append payments; returns their row numbers (for reversals to point at)."""
        n = len(loan)
        rows = np.arange(self.pay_rows, self.pay_rows + n)
        self.pay_rows += n
        self.pay["loan"].append(loan)
        self.pay["day"].append(day)
        self.pay["amount"].append(amount)
        self.pay["source"].append(np.broadcast_to(np.asarray(source, dtype=np.int64), (n,)))
        self.pay["ref"].append(np.full(n, -1, dtype=np.int64) if reverses is None else reverses)
        return rows

    def events(self, loan: np.ndarray, day: np.ndarray, kind: int, detail: pa.Array) -> None:
        self.ev["loan"].append(loan)
        self.ev["day"].append(day)
        self.ev["kind"].append(np.full(len(loan), kind, dtype=np.int64))
        self.ev["detail"].append(detail)

    def tables(self, loan_ids: pa.Array) -> tuple[pa.Table, pa.Table]:
        return self._payments_table(loan_ids), self._events_table(loan_ids)

    def _payments_table(self, loan_ids: pa.Array) -> pa.Table:
        loan, day, amount, source, ref = (
            _concat(self.pay[k]) for k in ("loan", "day", "amount", "source", "ref")
        )
        keep = day <= self.as_of_day
        # Reversals come after what they reverse, so a kept reversal always points at a kept payment.
        new_row = np.cumsum(keep) - 1
        loan, day, amount, source, ref = (a[keep] for a in (loan, day, amount, source, ref))
        ref = np.where(ref >= 0, new_row[np.maximum(ref, 0)], -1)
        order = np.lexsort((source == BANK_RETURN, day, loan))
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        payment_ids = _ids("P", np.arange(1, len(order) + 1), 11)
        ref_sorted = ref[order]
        reverses = pc.if_else(
            pa.array(ref_sorted >= 0),
            pc.take(payment_ids, pa.array(position[np.maximum(ref_sorted, 0)])),
            pa.nulls(len(order), pa.string()),
        )
        return pa.table(
            {
                "payment_id": payment_ids,
                "loan_id": pc.take(loan_ids, pa.array(loan[order])),
                "paid_on": _dates(day[order]),
                "amount": _decimal_strings(amount[order]),
                "reverses": reverses,
                "source": pc.take(pa.array(PAYMENT_SOURCES), pa.array(source[order])),
            }
        )

    def _events_table(self, loan_ids: pa.Array) -> pa.Table:
        loan, day, kind = (_concat(self.ev[k]) for k in ("loan", "day", "kind"))
        chunks = [c for c in self.ev["detail"] if len(c)]
        detail = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
        keep = day <= self.as_of_day
        loan, day, kind = loan[keep], day[keep], kind[keep]
        detail = detail.filter(pa.array(keep))
        order = np.lexsort((kind, day, loan))
        return pa.table(
            {
                "event_id": _ids("E", np.arange(1, len(order) + 1), 11),
                "loan_id": pc.take(loan_ids, pa.array(loan[order])),
                "kind": pc.take(pa.array(EVENT_KINDS), pa.array(kind[order])),
                "on": _dates(day[order]),
                "detail": pc.take(detail, pa.array(order)),
            }
        )


def _draw_history(
    rng: np.random.Generator,
    erng: np.random.Generator,
    people: _People,
    book: _Book,
    history: _History,
    params: PortfolioParams,
) -> None:
    pp = params.personas
    n = len(book.seq)
    loan = book.inst_loan
    borrower = book.loan_borrower[loan]
    persona = people.persona[borrower]
    opened = book.opened[loan]
    due = book.due
    scheduled = book.scheduled
    first_of_loan = book.seq == 1

    def per_persona(attr: str, default: float = 0.0) -> np.ndarray:
        values = [getattr(getattr(pp, name), attr, default) for name in PERSONAS]
        return np.asarray(np.asarray(values, dtype=np.float64)[persona], dtype=np.float64)

    def late_days_param(attr: str) -> np.ndarray:
        values = [getattr(getattr(pp, name), "late_days", None) for name in PERSONAS]
        table = np.asarray([getattr(v, attr) if v is not None else 1 for v in values], np.float64)
        return np.asarray(table[persona], dtype=np.float64)

    # --- the planned day of each instalment's payment, from the persona's habits
    late = rng.random(n) < per_persona("p_late")
    late_by = np.minimum(rng.geometric(1 / late_days_param("mean")), late_days_param("max")).astype(np.int64)
    early = ~late & (rng.random(n) < per_persona("p_early"))
    early_by = (rng.random(n) * per_persona("early_days_max", 1)).astype(np.int64) + 1
    planned = due + np.where(late, late_by, np.where(early, -early_by, 0))
    planned = np.maximum(planned, opened + 1)

    # --- special periods
    special = people.special_day[borrower]
    window_end = special + people.window_days[borrower]
    in_window = (persona == HARDSHIP) & (due >= special) & (due < window_end)
    stopped = (persona == STRATEGIC) & (due >= special)
    never = persona == FRAUD
    death = _death_days(rng, people, book, history.as_of_day)[borrower]

    normal = ~(in_window | stopped | never)
    paid_day = _running_max(np.where(normal, planned, 0), loan)
    dead = (persona == DECEASED) & (paid_day >= death)
    normal &= ~dead
    paid_day = np.where(normal, paid_day, -1)
    late_days = paid_day - due
    amount = scheduled + book.late_fee(paid_day)
    source = np.where(late_days == 0, AUTODEBIT, APP)

    # --- bounced payments: an attempt, its reversal, and the payment that stands (drawn below)
    bounce = normal & (rng.random(n) < per_persona("p_bounce"))
    repay_after = rng.integers(1, 4, n)
    reverse_after = rng.integers(1, 5, n)
    reversal_day = paid_day - repay_after
    previous_paid = np.where(first_of_loan, opened + 1, np.roll(paid_day, 1))
    attempt_day = np.maximum.reduce([reversal_day - reverse_after, previous_paid, opened + 1])
    bounce &= attempt_day < reversal_day
    rows = np.flatnonzero(bounce)
    attempt_amount = scheduled[rows] + book.late_fee(attempt_day[rows], rows)
    attempts = history.payments(
        loan[rows],
        attempt_day[rows],
        attempt_amount,
        np.where(attempt_day[rows] == due[rows], AUTODEBIT, APP),
    )
    history.payments(loan[rows], reversal_day[rows], attempt_amount, BANK_RETURN, reverses=attempts)

    rows = np.flatnonzero(normal)
    history.payments(loan[rows], paid_day[rows], amount[rows], source[rows])

    # --- events around late payments: failed auto-debit on the due day, a promise kept
    adf = normal & (late_days > 0) & (erng.random(n) < per_persona("p_autodebit_failed_when_late"))
    _autodebit_failed(erng, history, loan, due, adf)
    promise = normal & (late_days > 7) & (erng.random(n) < per_persona("p_promise_when_late"))
    rows = np.flatnonzero(promise)
    before = (erng.random(len(rows)) * np.minimum(5, late_days[rows] - 1)).astype(np.int64) + 1
    _promise(history, loan[rows], paid_day[rows] - before, paid_day[rows], amount[rows], kept=True)

    _hardship(rng, erng, pp.hardship.shock, book, history, in_window, special, window_end)
    _strategic(erng, pp.strategic.stop, book, history, stopped)
    _fraud(erng, pp.fraud, book, history, never & first_of_loan)
    first_dead = dead & ~np.roll(dead, 1) | (dead & first_of_loan)
    rows = np.flatnonzero(first_dead & (erng.random(n) < pp.deceased.p_autodebit_failed_after_death))
    _autodebit_failed(erng, history, loan, due, rows)
    _genuine_disputes(erng, params, people, book, history)


def _death_days(rng: np.random.Generator, people: _People, book: _Book, as_of_day: int) -> np.ndarray:
    """Per borrower: the day they die (deceased persona), after their last loan opened; far future for
    everyone else."""
    if people.count == 0:
        return np.zeros(0, dtype=np.int64)
    # Loans are grouped by borrower and everyone has at least one.
    last_opened = np.maximum.reduceat(book.opened, np.cumsum(people.loans) - people.loans)
    lo = np.minimum(last_opened + 1, as_of_day)
    span = as_of_day - lo + 1
    day = lo + (rng.random(people.count) * span).astype(np.int64)
    return np.where(people.persona == DECEASED, day, np.iinfo(np.int64).max)


def _running_max(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative maximum within each run of equal `group` (groups are sorted, values small)."""
    if len(values) == 0:
        return values
    offset = group.astype(np.int64) * (1 << 32)
    return np.maximum.accumulate(values + offset) - offset


def _hardship(
    rng: np.random.Generator,
    erng: np.random.Generator,
    shock: Any,
    book: _Book,
    history: _History,
    in_window: np.ndarray,
    shock_day: np.ndarray,
    window_end: np.ndarray,
) -> None:
    """Inside the window: partial payments after failed auto-debits; at its end one catch-up transfer."""
    rows = np.flatnonzero(in_window)
    loan = book.inst_loan[rows]
    due = book.due[rows]
    end = window_end[rows]
    scheduled = book.scheduled[rows]
    share = shock.partial_share.min + rng.random(len(rows)) * (
        shock.partial_share.max - shock.partial_share.min
    )
    partial_day = due + uniform_days(rng, shock.partial_delay_days, len(rows))
    partial = (rng.random(len(rows)) < shock.p_partial) & (partial_day < end)
    partial_amount = np.maximum(1, (scheduled * share).astype(np.int64))
    p = np.flatnonzero(partial)
    history.payments(loan[p], partial_day[p], partial_amount[p], APP)

    adf = erng.random(len(rows)) < shock.p_autodebit_failed
    _autodebit_failed(erng, history, loan, due, np.flatnonzero(adf))

    # Catch-up: everything scheduled in the window, less the partials, plus the late fee as if nothing
    # had been paid (an upper bound: partials lower the base), so the account is surely settled.
    n_loans = len(book.opened)
    owed = scheduled - np.where(partial, partial_amount, 0) + book.late_fee(end, rows)
    catch_up = np.rint(np.bincount(loan, weights=owed, minlength=n_loans)).astype(np.int64)
    loans = np.unique(loan)
    end_of_loan = np.zeros(n_loans, dtype=np.int64)
    end_of_loan[loan] = end
    start_of_loan = np.zeros(n_loans, dtype=np.int64)
    start_of_loan[loan] = shock_day[rows]
    history.payments(loans, end_of_loan[loans], catch_up[loans], TRANSFER)
    promised = erng.random(len(loans)) < shock.p_promise_before_catch_up
    lp = loans[promised]
    # Not before the shock, and not before the loan itself (a loan taken out after the shock).
    start_of_loan = np.maximum(start_of_loan, book.opened + 1)
    made = np.maximum(end_of_loan[lp] - erng.integers(2, 8, len(lp)), start_of_loan[lp])
    _promise(history, lp, made, end_of_loan[lp], catch_up[lp], kept=True)

    flag_day = start_of_loan[loans] + uniform_days(erng, shock.flag_after_days, len(loans))
    reason = pc.take(
        pa.array(HARDSHIP_REASONS), pa.array(erng.integers(0, len(HARDSHIP_REASONS), len(loans)))
    )
    history.events(loans, flag_day, HARDSHIP_FLAG, _json_detail(reason=reason))


def _strategic(
    erng: np.random.Generator, stop: Any, book: _Book, history: _History, stopped: np.ndarray
) -> None:
    """From the first instalment due after the stop: a cancelled auto-debit, broken promises, a dispute."""
    first = stopped & ~(np.roll(stopped, 1) & (book.seq > 1))
    rows = np.flatnonzero(first)
    loan = book.inst_loan[rows]
    due = book.due[rows]
    adf = erng.random(len(rows)) < stop.p_autodebit_failed
    _autodebit_failed(erng, history, loan, due, np.flatnonzero(adf))

    count = np.minimum(erng.poisson(stop.promises.mean, len(rows)), stop.promises.max)
    owner = np.repeat(np.arange(len(rows)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    gap = np.where(
        k == 0,
        uniform_days(erng, stop.first_promise_after_days, len(owner)),
        uniform_days(erng, stop.promise_gap_days, len(owner)),
    )
    made = due[owner] + _running_sum(gap, owner)
    promised_on = made + uniform_days(erng, stop.promised_in_days, len(owner))
    amount = book.scheduled[rows][owner]
    _promise(history, loan[owner], made, promised_on, amount, kept=False)

    disputed = erng.random(len(rows)) < stop.p_dispute
    d = np.flatnonzero(disputed)
    day = due[d] + uniform_days(erng, stop.dispute_after_days, len(d))
    history.events(loan[d], day, DISPUTE_OPENED, _json_detail(reason=_repeat_text("amount_disputed", len(d))))


def _fraud(erng: np.random.Generator, fraud: Any, book: _Book, history: _History, first: np.ndarray) -> None:
    """Nothing is ever paid; the linked card fails; the real person disputes the loan when contacted."""
    rows = np.flatnonzero(first)
    loan = book.inst_loan[rows]
    due = book.due[rows]
    adf = erng.random(len(rows)) < fraud.p_autodebit_failed
    _autodebit_failed(erng, history, loan, due, np.flatnonzero(adf))
    day = due + uniform_days(erng, fraud.identity_dispute_after_days, len(rows))
    history.events(
        loan, day, IDENTITY_DISPUTE, _json_detail(reported_by=_repeat_text("named_borrower", len(rows)))
    )


def _genuine_disputes(
    erng: np.random.Generator, params: PortfolioParams, people: _People, book: _Book, history: _History
) -> None:
    """Merchant disputes (goods not received, wrong amount), opened after the purchase and resolved."""
    pp = params.personas
    p_dispute = np.asarray([getattr(getattr(pp, name), "p_dispute", 0.0) for name in PERSONAS])
    # The strategic persona's p_dispute is about genuine disputes too; its stalling disputes are separate.
    chance = p_dispute[people.persona[book.loan_borrower]]
    loans = np.flatnonzero(erng.random(len(book.opened)) < chance)
    gd = params.genuine_disputes
    opened = book.opened[loans] + uniform_days(erng, gd.opened_after_days, len(loans))
    closed = opened + uniform_days(erng, gd.closed_after_days, len(loans))
    history.events(loans, opened, DISPUTE_OPENED, _json_detail(reason=_repeat_text("merchant", len(loans))))
    history.events(loans, closed, DISPUTE_CLOSED, _json_detail(outcome=_repeat_text("resolved", len(loans))))


def _autodebit_failed(
    erng: np.random.Generator, history: _History, loan: np.ndarray, due: np.ndarray, rows: np.ndarray
) -> None:
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    reason = pc.take(
        pa.array(AUTODEBIT_FAILURE_REASONS),
        pa.array(erng.integers(0, len(AUTODEBIT_FAILURE_REASONS), len(rows))),
    )
    history.events(loan[rows], due[rows], AUTODEBIT_FAILED, _json_detail(reason=reason))


def _promise(
    history: _History,
    loan: np.ndarray,
    made: np.ndarray,
    promised_on: np.ndarray,
    amount: np.ndarray,
    *,
    kept: bool,
) -> None:
    """promise_made on `made` for `amount` by `promised_on`; then kept on that day or broken the day after."""
    detail = _json_detail(
        amount=_decimal_strings(amount), promised_on=pc.cast(_dates(promised_on), pa.string())
    )
    history.events(loan, made, PROMISE_MADE, detail)
    if kept:
        history.events(loan, promised_on, PROMISE_KEPT, detail)
    else:
        history.events(loan, promised_on + 1, PROMISE_BROKEN, detail)


# ---------------------------------------------------------------------------------------------------
# Columns


def _loans_table(people: _People, book: _Book) -> pa.Table:
    loan = pa.array(book.inst_loan)
    borrower_of_row = book.loan_borrower[book.inst_loan]
    borrower = pa.array(borrower_of_row)
    n = len(book.seq)
    return pa.table(
        {
            "loan_id": pc.take(book.loan_ids, loan),
            "borrower_id": pc.take(people.ids, borrower),
            "product": pc.take(pa.array(book.product_codes), pa.array(book.loan_product[book.inst_loan])),
            "currency": _repeat_text(CURRENCY, n),
            "seq": pa.array(book.seq.astype(np.int32)),
            "due_date": _dates(book.due),
            "principal": _decimal_strings(book.principal),
            "interest": _decimal_strings(book.interest),
            "fees": _decimal_strings(book.fees),
            "opened_on": _dates(book.opened[book.inst_loan]),
            "borrower_name": pc.take(people.name, borrower),
            "phone": pc.take(people.phone, borrower),
            "id_number": pc.take(people.id_number, borrower),
            "email": pc.take(people.email, borrower),
            "address": pc.take(people.address, borrower),
            "timezone": pc.take(people.timezone, borrower),
            "region": pc.take(people.region, borrower),
            "language": pc.take(people.language, borrower),
            "persona": pc.take(PERSONA_COLUMN_VALUES, pa.array(people.persona[borrower_of_row])),
        }
    )


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers like L0000000001: sortable as text in the order of their numbers."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32)).view(pa.date32())


def _decimal_strings(minor: np.ndarray) -> pa.Array:
    """Non-negative fen as decimal strings: 123456 -> "1234.56" (format_minor, vectorised)."""
    whole = pc.cast(pa.array(minor // 100), pa.string())
    cents = pc.utf8_lpad(pc.cast(pa.array(minor % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, cents, ".")


def _minor_units(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The decimal strings this module writes (always two decimals) back to int64 fen."""
    return pc.cast(pc.replace_substring(column, ".", ""), pa.int64())


def _json_detail(**fields: pa.Array) -> pa.Array:
    """A JSON object per row from string columns: {"key": "value", ...} (values need no escaping)."""
    parts: list[Any] = []
    for i, (key, values) in enumerate(fields.items()):
        parts.append(("{" if i == 0 else ", ") + json.dumps(key) + ': "')
        parts.append(values)
        parts.append('"')
    parts.append("}")
    n = len(next(iter(fields.values())))
    if n == 0:
        return pa.array([], pa.string())
    return pc.binary_join_element_wise(*parts, "")


def _repeat_text(text: str, count: int) -> pa.Array:
    return pc.take(pa.array([text]), pa.array(np.zeros(count, dtype=np.int64)))


def _running_sum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum within each run of equal `group` (groups sorted)."""
    total = np.cumsum(values)
    if len(values) == 0:
        return total
    start = np.ones(len(values), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    before = np.where(start, total - values, 0)
    return total - np.maximum.accumulate(before)


def _concat(chunks: list[np.ndarray]) -> np.ndarray:
    return (
        np.concatenate([np.asarray(c, dtype=np.int64) for c in chunks]) if chunks else np.zeros(0, np.int64)
    )


# ---------------------------------------------------------------------------------------------------
# Files


FORMATS = ("parquet", "csv")


def check_output(out_dir: str | Path, fmt: str) -> None:
    """Refuse an unknown format or an output path that is not a directory, before any work is done."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="--format")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a directory", file=str(out), field="--out")


def write_portfolio(portfolio: Portfolio, out_dir: str | Path, fmt: str = "parquet") -> dict[str, Path]:
    """Write loans / payments / events files (the import layouts) into `out_dir`; returns their paths."""
    check_output(out_dir, fmt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in (
        ("loans", portfolio.loans),
        ("payments", portfolio.payments),
        ("events", portfolio.events),
    ):
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path, compression="zstd")
        else:
            pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
        paths[name] = path
    return paths


# ---------------------------------------------------------------------------------------------------
# Store


def load_portfolio(portfolio: Portfolio, store: UnitOfWork | str | None = None) -> dict[str, ImportResult]:
    """Import the portfolio's loans, payments and events into the store through the import service (the
    same validation and idempotency as `arrears import`). `store` is an open unit of work, a database
    URL, or None for ARREARS_DB_URL / ./arrears.db. Each table is one import (one transaction)."""
    from arrears.services.unit_of_work import UnitOfWork  # imported here: generating needs no store

    if isinstance(store, UnitOfWork):
        return _load_into(store, portfolio)
    with UnitOfWork(store) as uow:
        return _load_into(uow, portfolio)


def _load_into(uow: UnitOfWork, portfolio: Portfolio) -> dict[str, ImportResult]:
    from arrears.services.imports import import_file

    label = f"sim portfolio seed {portfolio.seed} as of {portfolio.as_of.isoformat()}"
    results = {}
    for kind, table in (
        ("loans", portfolio.loans),
        ("payments", portfolio.payments),
        ("events", portfolio.events),
    ):
        results[kind] = import_file(uow, kind, table, name=f"{label}: {kind}", actor="sim")
    return results
