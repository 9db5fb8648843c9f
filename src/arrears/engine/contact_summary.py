"""The contact-history summaries of a whole day's planned contacts, column-wise.

`domain.compliance.batch.summarise` is the reference: for one planned attempt it counts, per cap rule,
the counted events that share a window with the attempt (the worst window, in the worst candidate zone)
and finds, per cooldown rule, the latest counted event at or before it. Here the same numbers come for
every planned row at once: rows and past events are joined by borrower in NumPy (index ranges, no Python
loop per row or event), each rule's event filter and scope are boolean masks over the joined pairs, local
calendar days come from Arrow's time-zone conversion once per zone, and the window maxima are sliding
sums over a small per-row day matrix. Differential tests hold it to `summarise` on generated histories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.compliance.batch import NOTICE_TYPES, ContactSummary, PlannedContact
from arrears.domain.compliance.decision import candidate_zones
from arrears.domain.compliance.model import ContactEvent
from arrears.domain.compliance.profile import CapRule, ComplianceProfile, CooldownRule, EventFilter
from arrears.domain.compliance.rules import UNKNOWN

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)
EMPTY = ContactSummary()


def _us_array(instants: Sequence[datetime]) -> np.ndarray:
    """Aware instants → int64 µs since the epoch (UTC), converted by Arrow, not one by one."""
    if not len(instants):
        return np.zeros(0, dtype=np.int64)
    stamps = pa.array(list(instants), pa.timestamp("us", tz="UTC"))
    return np.asarray(stamps.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


@dataclass(frozen=True)
class PlannedRows:
    """The planned attempts, one entry per row (codes shared with `PastEvents`)."""

    borrower: Sequence[str]
    debt: Sequence[str | None]
    target: Sequence[str]
    channel: Sequence[str]
    at: Sequence[datetime]
    zones: Sequence[tuple[str, ...]]  # the candidate zones each row is judged in
    work_target: Sequence[bool]  # the attempt's target is one of the debtor's work numbers
    contact: Sequence[bool]  # a contact (not a credit report) to the debtor


@dataclass(frozen=True)
class PastEvents:
    """The contact history, one entry per past event (all to the debtor: the store records no others)."""

    borrower: Sequence[str]
    debt: Sequence[str | None]
    target: Sequence[str]
    channel: Sequence[str]
    outcome: Sequence[str]
    message_type: Sequence[str | None]
    at: Sequence[datetime] | np.ndarray  # aware datetimes, or int64 µs since the epoch (UTC)
    work_target: Sequence[bool]  # the event's target is one of the debtor's work numbers


def _codes(*columns: Sequence[str | None]) -> list[np.ndarray]:
    """Integer codes for values across several columns (None → −1), equal values equal codes."""
    joined = pa.array([v for col in columns for v in col], pa.string())
    encoded = pc.dictionary_encode(joined)
    idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    out, start = [], 0
    for col in columns:
        out.append(idx[start : start + len(col)])
        start += len(col)
    return out


def _local_days(us: np.ndarray, zone_name: str) -> np.ndarray:
    """Days since 1970-01-01 of the local calendar date, in `zone_name`, of each UTC instant."""
    stamps = pa.array(us, pa.timestamp("us", tz=zone_name))
    local = pc.local_timestamp(stamps)
    return pc.cast(pc.cast(local, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _isin(values: np.ndarray, allowed: frozenset[str] | None) -> np.ndarray:
    if allowed is None:
        return np.ones(values.shape[0], dtype=bool)
    return np.isin(values, np.array(sorted(allowed), dtype=object))


def summaries(profile: ComplianceProfile, rows: PlannedRows, events: PastEvents) -> list[ContactSummary]:
    """Every row's `ContactSummary`, equal to `summarise(profile, debtor, history, attempt)` for each."""
    n = len(rows.borrower)
    caps = [r for r in profile.rules if isinstance(r, CapRule)]
    cooldowns = [r for r in profile.rules if isinstance(r, CooldownRule)]
    notices = _notices(events)
    if n == 0:
        return []
    borrower_r, borrower_e = _codes(rows.borrower, events.borrower)
    debt_r, debt_e = _codes(rows.debt, events.debt)
    target_r, target_e = _codes(rows.target, events.target)
    row_channel = np.array(rows.channel, dtype=object)
    row_at = _us_array(rows.at)
    row_work = np.asarray(rows.work_target, dtype=bool)
    row_contact = np.asarray(rows.contact, dtype=bool)
    ev_channel = np.array(events.channel, dtype=object)
    ev_outcome = np.array(events.outcome, dtype=object)
    ev_at = (
        np.asarray(events.at, dtype=np.int64) if isinstance(events.at, np.ndarray) else _us_array(events.at)
    )
    ev_work = np.asarray(events.work_target, dtype=bool)

    # Join rows and events by borrower: each row meets the events of its borrower (index ranges).
    order = np.argsort(borrower_e, kind="stable")
    sorted_b = borrower_e[order]
    lo = np.searchsorted(sorted_b, borrower_r, "left")
    hi = np.searchsorted(sorted_b, borrower_r, "right")
    sizes = hi - lo
    pair_row = np.repeat(np.arange(n, dtype=np.int64), sizes)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
    pair_ev = order[np.arange(pair_row.size, dtype=np.int64) + starts] if pair_row.size else pair_row

    zone_names = sorted({z for zs in rows.zones for z in zs})
    row_zone_sets = [frozenset(zs) for zs in rows.zones]
    ev_days: dict[str, np.ndarray] = {}
    row_days: dict[str, np.ndarray] = {}
    if caps and pair_row.size:
        for z in zone_names:
            ev_days[z] = _local_days(ev_at, z)
            row_days[z] = _local_days(row_at, z)
    in_zone = {z: np.array([z in s for s in row_zone_sets], dtype=bool) for z in zone_names}

    counts: dict[str, np.ndarray] = {}
    for cap in caps:
        gated = _gated(cap.applies_to, row_channel, row_contact, row_work)
        mask = gated[pair_row] & _counted(cap.counts, ev_channel, ev_outcome, ev_work, pair_ev, cap=True)
        mask &= _scope(cap.per, pair_row, pair_ev, target_r, target_e, debt_r, debt_e)
        total = np.zeros(n, dtype=np.int64)
        if mask.any():
            pr, pe = pair_row[mask], pair_ev[mask]
            if cap.window.lifetime:
                np.add.at(total, pr, 1)
            elif cap.window.rolling is not None:
                total = _rolling_max(n, pr, ev_at[pe], row_at, cap.window.rolling)
            else:
                for z in zone_names:
                    keep = in_zone[z][pr]
                    if keep.any():
                        best = _calendar_max(
                            n, pr[keep], ev_days[z][pe[keep]], row_days[z], cap.window.calendar_days
                        )
                        total = np.maximum(total, best)
        counts[cap.id] = total

    last: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for rule in cooldowns:
        mask = _counted(rule.after, ev_channel, ev_outcome, ev_work, pair_ev, cap=False)
        mask &= _scope(rule.per, pair_row, pair_ev, target_r, target_e, debt_r, debt_e)
        mask &= ev_at[pair_ev] <= row_at[pair_row]
        best_at = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        best_ev = np.full(n, -1, dtype=np.int64)
        if mask.any():
            pr, pe = pair_row[mask], pair_ev[mask]
            # The latest event per row: sort by (row, time, event) and keep each row's last.
            idx = np.lexsort((pe, ev_at[pe], pr))
            pr, pe = pr[idx], pe[idx]
            tail = np.ones(pr.size, dtype=bool)
            tail[:-1] = pr[1:] != pr[:-1]
            best_ev[pr[tail]] = pe[tail]
            best_at[pr[tail]] = ev_at[pe[tail]]
        last[rule.id] = (best_ev, best_at)

    out: list[ContactSummary] = []
    cap_ids = list(counts)
    count_matrix = np.stack([counts[c] for c in cap_ids], axis=1) if cap_ids else np.zeros((n, 0), np.int64)
    nonzero = count_matrix.any(axis=1) if cap_ids else np.zeros(n, dtype=bool)
    has_last = np.zeros(n, dtype=bool)
    for best_ev, _ in last.values():
        has_last |= best_ev >= 0
    for i in range(n):
        borrower_notices = notices.get(rows.borrower[i], ())
        if not nonzero[i] and not has_last[i] and not borrower_notices:
            out.append(EMPTY)
            continue
        row_counts = {c: int(count_matrix[i, j]) for j, c in enumerate(cap_ids) if count_matrix[i, j]}
        row_last = {
            rule_id: _event(events, int(best_ev[i]), int(best_at[i]))
            for rule_id, (best_ev, best_at) in last.items()
            if best_ev[i] >= 0
        }
        out.append(ContactSummary(row_counts, row_last, borrower_notices))
    return out


def _event(events: PastEvents, k: int, at_us: int) -> ContactEvent:
    return ContactEvent(
        channel=events.channel[k],
        at=_instant(at_us),
        outcome=events.outcome[k],
        target=events.target[k],
        target_kind="debtor",
        message_type=events.message_type[k] or None,
        debt=events.debt[k],
    )


def _notices(events: PastEvents) -> dict[str, tuple[ContactEvent, ...]]:
    """Each borrower's notice events (validation / bureau notices), in time order."""
    found: dict[str, list[ContactEvent]] = {}
    types = np.array(events.message_type, dtype=object)
    where = np.flatnonzero(_isin(types, NOTICE_TYPES)) if len(types) else np.array([], dtype=np.int64)
    for k in where.tolist():
        raw = events.at[k]
        at = _instant(int(raw)) if isinstance(raw, (int, np.integer)) else raw.astimezone(UTC)
        found.setdefault(events.borrower[k], []).append(
            ContactEvent(
                events.channel[k],
                at,
                events.outcome[k],
                events.target[k],
                "debtor",
                events.message_type[k],
                events.debt[k],
            )
        )
    return {b: tuple(sorted(evs, key=lambda e: e.at)) for b, evs in found.items()}


def _gated(f: EventFilter, channel: np.ndarray, contact: np.ndarray, work: np.ndarray) -> np.ndarray:
    """`rules.gates` for every row (the attempts are all to the debtor)."""
    out = contact & _isin(channel, f.channels)
    if "debtor" not in f.target_kinds:
        return np.zeros_like(out)
    return out & work if f.number_kind == "work" else out


def _counted(
    f: EventFilter,
    channel: np.ndarray,
    outcome: np.ndarray,
    work: np.ndarray,
    pair_ev: np.ndarray,
    *,
    cap: bool,
) -> np.ndarray:
    """`rules.counts` for every joined pair's event."""
    ok = _isin(channel, f.channels)
    if f.outcomes is not None:
        outcome_ok = _isin(outcome, f.outcomes)
        if cap:
            outcome_ok |= outcome == UNKNOWN
        ok &= outcome_ok
    if "debtor" not in f.target_kinds:
        ok &= False
    if f.number_kind == "work":
        ok &= work
    return ok[pair_ev]


def _scope(
    per: str,
    pair_row: np.ndarray,
    pair_ev: np.ndarray,
    target_r: np.ndarray,
    target_e: np.ndarray,
    debt_r: np.ndarray,
    debt_e: np.ndarray,
) -> np.ndarray:
    """`rules.same_scope` for every pair."""
    if per == "number":
        return np.asarray(target_e[pair_ev] == target_r[pair_row])
    if per == "debt":
        dr, de = debt_r[pair_row], debt_e[pair_ev]
        return np.asarray((dr < 0) | (de < 0) | (dr == de))
    return np.ones(pair_row.size, dtype=bool)


def _calendar_max(n: int, pr: np.ndarray, ev_day: np.ndarray, row_day: np.ndarray, width: int) -> np.ndarray:
    """The largest count over the `width`-day windows that contain each row's day."""
    offset = ev_day - row_day[pr]
    near = (offset > -width) & (offset < width)
    grid = np.zeros((n, 2 * width - 1), dtype=np.int64)
    np.add.at(grid, (pr[near], offset[near] + width - 1), 1)
    sums = np.cumsum(np.concatenate([np.zeros((n, 1), np.int64), grid], axis=1), axis=1)
    windows = sums[:, width:] - sums[:, :width]  # window k covers columns k .. k + width − 1
    return np.asarray(windows.max(axis=1))


def _rolling_max(
    n: int, pr: np.ndarray, ev_at: np.ndarray, row_at: np.ndarray, width: timedelta
) -> np.ndarray:
    """The largest count over the windows [s, s + width) that contain each row's instant."""
    w = width // timedelta(microseconds=1)
    rel = ev_at - row_at[pr]
    near = (rel > -w) & (rel < w)
    pr, rel = pr[near], rel[near]
    out = np.zeros(n, dtype=np.int64)
    if not pr.size:
        return out
    span = 2 * w + 2
    keys = pr * span + (rel + w)  # rel + w in (0, 2w): row-major, time within a row
    keys.sort()
    # Candidate window starts: just after (instant − width), and every event at or before the instant.
    own = rel <= 0
    start_row = np.concatenate([np.unique(pr), pr[own]])
    start_rel = np.concatenate([np.full(np.unique(pr).size, -w + 1, np.int64), rel[own]])
    first = start_row * span + (start_rel + w)
    end = start_row * span + np.minimum(start_rel + 2 * w, 2 * w + 1)
    counted = np.searchsorted(keys, end, "left") - np.searchsorted(keys, first, "left")
    np.maximum.at(out, start_row, counted)
    return out


def summaries_for(
    profile: ComplianceProfile, planned: list[PlannedContact], history: pa.Table
) -> list[ContactSummary]:
    """The history summary of every planned contact, from the stored attempts as an Arrow table
    (borrower_id, loan_id, channel, at, outcome, target, message_type)."""
    rows = PlannedRows(
        borrower=[p.debtor.id for p in planned],
        debt=[p.attempt.debt for p in planned],
        target=[p.attempt.target for p in planned],
        channel=[p.attempt.channel for p in planned],
        at=[p.attempt.at for p in planned],
        zones=[candidate_zones(profile, p.debtor) for p in planned],
        work_target=[p.attempt.target in p.debtor.work_numbers for p in planned],
        contact=[p.attempt.kind == "contact" and p.attempt.target_kind == "debtor" for p in planned],
    )
    work = {(p.debtor.id, number) for p in planned for number in p.debtor.work_numbers}
    borrower = history["borrower_id"].to_pylist()
    target = history["target"].to_pylist()
    events = PastEvents(
        borrower=borrower,
        debt=history["loan_id"].to_pylist(),
        target=target,
        channel=history["channel"].to_pylist(),
        outcome=history["outcome"].to_pylist(),
        message_type=history["message_type"].to_pylist(),
        at=history["at"].cast(pa.int64()).to_numpy(zero_copy_only=False),
        work_target=[(b, t) in work for b, t in zip(borrower, target, strict=True)]
        if work
        else [False] * len(borrower),
    )
    return summaries(profile, rows, events)
