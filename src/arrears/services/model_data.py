"""Training data from the store: for each observation day D, the accounts a target observes, their
features as of D (the store's snapshot: nothing recorded after D) and the label read D + horizon later.

The features are the engine's (arrears.engine.vector_features, the same numbers the daily run computes) plus
the lender's imported ones valid on D (`lender.<name>`, the latest value dated on or before D).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.account_features import NO_ANCHOR
from arrears.domain.errors import InputError
from arrears.domain.models import (
    MODEL_FEATURES,
    NO_DAY,
    in_population,
    miss_labels,
    promise_labels,
    roll_labels,
    self_cure_labels,
    target,
)
from arrears.domain.products import LedgerSettings
from arrears.engine.model_scores import LENDER_TABLE, model_columns, with_borrower_features
from arrears.engine.portfolio import Portfolio, epoch_day
from arrears.engine.vector_features import feature_table
from arrears.services.unit_of_work import UnitOfWork

LENDER_PREFIX = "lender."


@dataclass
class Dataset:
    """Rows of (day, loan, features, label): one per account a target observed on a day."""

    features: tuple[str, ...]
    columns: dict[str, np.ndarray]
    labels: np.ndarray
    days: np.ndarray  # epoch day of each row
    loans: list[str]
    buckets: list[str]
    skipped_days: list[date] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def rows(self, mask: np.ndarray) -> Dataset:
        return Dataset(
            self.features,
            {k: v[mask] for k, v in self.columns.items()},
            self.labels[mask],
            self.days[mask],
            [x for x, keep in zip(self.loans, mask, strict=True) if keep],
            [x for x, keep in zip(self.buckets, mask, strict=True) if keep],
        )

    def matrix(self) -> np.ndarray:
        return np.column_stack([self.columns[f] for f in self.features]) if len(self) else np.zeros((0, 0))


def observation_days(start: date, end: date, every: int) -> list[date]:
    if end < start:
        raise InputError(f"--to {end} is before --from {start}", field="--to")
    if every < 1:
        raise InputError("--every must be at least 1 day", field="--every")
    out, day = [], start
    while day <= end:
        out.append(day)
        day += timedelta(days=every)
    return out


def lender_table(uow: UnitOfWork, as_of: date) -> pa.Table | None:
    """The lender's features valid on `as_of`, one column per feature (`lender.<name>`), or None."""
    values = uow.models.lender_features(as_of)
    if not values:
        return None
    loans = sorted({v.loan_id for v in values})
    where = {loan: k for k, loan in enumerate(loans)}
    names = sorted({v.name for v in values})
    cols = {n: np.full(len(loans), np.nan) for n in names}
    for v in values:
        cols[v.name][where[v.loan_id]] = float(v.value)
    return pa.table({"loan_id": pa.array(loans, pa.string()), **{LENDER_PREFIX + n: cols[n] for n in names}})


def model_feature_names(uow: UnitOfWork) -> tuple[str, ...]:
    """The built-in model features and every lender feature on file."""
    return (*MODEL_FEATURES, *(LENDER_PREFIX + n for n in sorted(uow.models.lender_feature_types())))


def features_on(
    uow: UnitOfWork,
    day: date,
    products: dict[str, LedgerSettings] | None = None,
    later: dict[str, pa.Table] | None = None,
) -> tuple[Portfolio, pa.Table]:
    """The portfolio and the engine's feature table as of `day` with each account's borrower and the
    borrower's record across their loans (the lender's features in the portfolio).

    `later`, a snapshot of a later day, is cut back to `day` instead of reading the store again."""
    tables = as_of_view(later, day) if later is not None else dict(uow.snapshot(day))
    portfolio = Portfolio(tables, dict(products or {}))
    lender = lender_table(uow, day)
    if lender is not None:
        portfolio.tables[LENDER_TABLE] = lender
    table = feature_table(portfolio, day).append_column("borrower_id", portfolio["loans"]["borrower_id"])
    return portfolio, with_borrower_features(table)


def as_of_view(tables: dict[str, pa.Table], day: date) -> dict[str, pa.Table]:
    """A later snapshot cut back to what was known on `day` — the same rows the store's snapshot of `day`
    reads (arrears.adapters.store.snapshot): loans opened by then, payments made by then (a reversal only
    if made by then), pauses started, waivers and events dated by then."""
    d = pa.scalar(day, pa.date32())
    loans = tables["loans"]
    if "opened_on" in loans.column_names:
        loans = loans.filter(
            pc.or_kleene(pc.is_null(loans["opened_on"]), pc.less_equal(loans["opened_on"], d))
        )
    ids = loans["loan_id"].combine_chunks() if loans.num_rows else pa.array([], pa.string())
    out = dict(tables)
    out["loans"] = loans
    out["instalments"] = tables["instalments"].filter(
        pc.is_in(tables["instalments"]["loan_id"], value_set=ids)
    )
    pay = tables["payments"].filter(pc.less_equal(tables["payments"]["paid_on"], d))
    reversed_on = pay["reversed_on"]
    kept = pc.if_else(pc.less_equal(reversed_on, d), reversed_on, pa.nulls(pay.num_rows, pa.date32()))
    out["payments"] = pay.set_column(pay.schema.get_field_index("reversed_on"), "reversed_on", kept)
    out["pauses"] = tables["pauses"].filter(pc.less_equal(tables["pauses"]["start_on"], d))
    out["waivers"] = tables["waivers"].filter(pc.less_equal(tables["waivers"]["on"], d))
    out["events"] = tables["events"].filter(pc.less_equal(tables["events"]["on"], d))
    return out


def _oldest_due(features: pa.Table, day: date) -> dict[str, int]:
    """Each loan's oldest unpaid due date (epoch day; NO_DAY when nothing is unpaid) from its features."""
    offsets = np.asarray(features["day_offset"].to_numpy(), dtype=np.int64)
    today = epoch_day(day)
    oldest = np.where(offsets == NO_ANCHOR, NO_DAY, today - offsets)
    return dict(zip(features["loan_id"].to_pylist(), oldest.tolist(), strict=True))


def _bucket_rank(features: pa.Table) -> dict[str, int]:
    col = features["bucket"].combine_chunks()
    codes = col.indices if pa.types.is_dictionary(col.type) else pc.index_in(col, pc.unique(col))
    return dict(zip(features["loan_id"].to_pylist(), np.asarray(codes.to_numpy()).tolist(), strict=True))


def _events_on(portfolio: Portfolio, kind: str, day: date) -> set[str]:
    ev = portfolio["events"]
    mask = pc.and_(pc.equal(ev["kind"], kind), pc.equal(ev["on"], pa.scalar(day, pa.date32())))
    return set(ev.filter(mask)["loan_id"].to_pylist())


def build_dataset(
    uow: UnitOfWork,
    target_name: str,
    days: Iterable[date],
    known_through: date,
    *,
    products: dict[str, LedgerSettings] | None = None,
    features: tuple[str, ...] | None = None,
    progress: Callable[[date], None] | None = None,
) -> Dataset:
    """The target's observations on each day whose horizon the store already covers (`known_through`)."""
    t = target(target_name)
    names = features or model_feature_names(uow)
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[str], list[str]]] = []
    skipped = []
    whole = dict(uow.snapshot(known_through))  # read once; each day is a cut of it
    chosen_days = list(days)
    attempts = (
        uow.models.contacted(min(chosen_days), max(chosen_days))
        if chosen_days and target_name == "pay_7d_after_contact"
        else {}
    )
    for day in chosen_days:
        horizon = day + timedelta(days=t.horizon)
        if horizon > known_through:
            skipped.append(day)
            continue
        if progress is not None:
            progress(day)
        portfolio, table = features_on(uow, day, products, whole)
        dpd = np.asarray(table["dpd"].to_numpy(), dtype=np.int64)
        offset = np.asarray(table["day_offset"].to_numpy(), dtype=np.int64)
        loan_ids = table["loan_id"].to_pylist()
        # a contact: a contact event recorded for the day, or a contact attempt the dispatcher made
        contacted = _events_on(portfolio, "contact", day) | attempts.get(day, set())
        promising = _events_on(portfolio, "promise_made", day)
        contact = np.array([x in contacted for x in loan_ids], dtype=bool)
        promised = np.array([x in promising for x in loan_ids], dtype=bool)
        mask = in_population(target_name, dpd, offset, contact, promised)
        if not mask.any():
            continue
        chosen = [x for x, keep in zip(loan_ids, mask, strict=True) if keep]
        labels = _labels(
            uow, target_name, day, horizon, table.filter(pa.array(mask)), chosen, products, whole
        )
        cols = model_columns(table.filter(pa.array(mask)), portfolio.tables.get(LENDER_TABLE), names)
        buckets = [str(b) for b in table.filter(pa.array(mask))["bucket"].to_pylist()]
        parts.append((cols, labels, np.full(len(chosen), epoch_day(day), dtype=np.int64), chosen, buckets))
    if not parts:
        return Dataset(
            names, {n: np.zeros(0) for n in names}, np.zeros(0, bool), np.zeros(0, np.int64), [], [], skipped
        )
    return Dataset(
        names,
        {n: np.concatenate([p[0][n] for p in parts]) for n in names},
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        [x for p in parts for x in p[3]],
        [x for p in parts for x in p[4]],
        skipped,
    )


def _labels(
    uow: UnitOfWork,
    name: str,
    day: date,
    horizon: date,
    observed: pa.Table,
    loans: list[str],
    products: dict[str, LedgerSettings] | None,
    whole: dict[str, pa.Table],
) -> np.ndarray:
    """The label of each observed account, read from the store as of the horizon."""
    later_portfolio, later = features_on(uow, horizon, products, whole)
    today = epoch_day(day)
    if name in ("self_cure_30d", "miss_next_due"):
        oldest = _oldest_due(later, horizon)
        oldest_later = np.array([oldest.get(x, NO_DAY) for x in loans], dtype=np.int64)
        if name == "miss_next_due":
            offset = np.asarray(observed["day_offset"].to_numpy(), dtype=np.int64)
            return miss_labels(today, offset, oldest_later)
        acted = uow.models.interventions(day + timedelta(days=1), horizon)
        acted_loans = set(acted["loan_id"].to_pylist())
        intervened = np.array([x in acted_loans for x in loans], dtype=bool)
        return self_cure_labels(today, oldest_later, intervened)
    if name == "roll_30d":
        now, then = _bucket_rank(observed), _bucket_rank(later)
        return roll_labels(
            np.array([now[x] for x in loans], dtype=np.int64),
            np.array([then.get(x, now[x]) for x in loans], dtype=np.int64),
        )
    if name == "pay_7d_after_contact":
        pay = later_portfolio["payments"]
        after = pc.and_(
            pc.greater(pay["paid_on"], pa.scalar(day, pa.date32())),
            pc.is_null(pay["reversed_on"]),
        )
        payers = set(pay.filter(after)["loan_id"].to_pylist())
        return np.array([x in payers for x in loans], dtype=bool)
    # promise_kept: the kinds of each account's events after D, in recorded order
    ev = later_portfolio["events"]
    ev = ev.filter(pc.greater(ev["on"], pa.scalar(day, pa.date32())))
    kinds: dict[str, list[str]] = {}
    for loan, kind in zip(ev["loan_id"].to_pylist(), ev["kind"].to_pylist(), strict=True):
        kinds.setdefault(loan, []).append(kind)
    return promise_labels([kinds.get(x, []) for x in loans])
