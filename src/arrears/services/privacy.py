"""PIPL for the people in the store: what we hold about a person (export), pseudonymising them (erase), and
erasing everyone whose retention has ended (purge). Every one of these is audited; none touches the
ledger, the payments or the audit chain.

- export: identity and contact data (decrypted), loans with their position, payments, contacts made,
  facts (flags), disputes and complaints, promises, plans, the case and its notes — audited `pii.export`.
- erase: the data kinds of domain/personal_data.DATA_KINDS overwritten; once the borrower's identity and
  contact data are gone, their data key is destroyed (crypto-shredding) — audited `pii.erase` with the
  reason and who asked. Before the retention period has ended it needs `force` (a valid request under
  PIPL §47, e.g. consent withdrawn where no law requires keeping the data).
- purge as of D: every borrower whose loans all closed, for each data kind past its retention on D.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from arrears.domain.errors import InputError, NotFound
from arrears.domain.ledger import compute_position
from arrears.domain.money import format_minor
from arrears.domain.personal_data import (
    DATA_KINDS,
    ENCRYPTED_FIELDS,
    LOOKUP_FIELDS,
    RetentionPeriods,
    closed_on,
    last_closed,
    lookup_text,
)
from arrears.domain.records import LoanRecord
from arrears.services import audit
from arrears.services.cases import loans_of
from arrears.services.unit_of_work import UnitOfWork

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _plain(value: Any) -> Any:
    """A record as JSON-ready values (dates and instants as ISO text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def _borrower_closed_on(records: list[LoanRecord], as_of: date) -> date | None:
    """When the borrower's last loan closed (None while one is open, or without loans)."""
    days = []
    for record in records:
        loan = record.loan
        position = compute_position(loan, as_of)
        moved = [p.on for p in loan.payments if p.reversed_on is None] + [w.on for w in loan.waivers]
        days.append(closed_on(position.outstanding.total, moved, record.opened_on))
    return last_closed(days)


def _loan_view(record: LoanRecord, as_of: date) -> dict[str, Any]:
    loan = record.loan
    cur = loan.currency
    position = compute_position(loan, as_of)
    return {
        "id": loan.id,
        "product": record.product_code,
        "opened_on": record.opened_on.isoformat() if record.opened_on else None,
        "currency": cur,
        "position": position.to_dict(),
        "payments": [
            {
                "id": p.id,
                "paid_on": p.on.isoformat(),
                "amount": format_minor(p.amount, cur),
                "reversed_on": p.reversed_on.isoformat() if p.reversed_on else None,
            }
            for p in loan.payments
        ],
        "waivers": [_plain(w) | {"amount": format_minor(w.amount, cur)} for w in loan.waivers],
        "pauses": [_plain(p) for p in loan.pauses],
    }


def export(uow: UnitOfWork, borrower_id: str, *, actor: str, as_of: date | None = None) -> dict[str, Any]:
    """Everything the store holds about one person, decrypted; the access is audited (and committed)."""
    borrower = uow.borrowers.get(borrower_id)
    if borrower is None:
        raise NotFound(f"unknown borrower {borrower_id!r}")
    day = as_of or datetime.now(UTC).date()
    loan_ids = loans_of(uow, borrower_id)
    records = list(uow.loans.stream_records(loan_ids))
    case = uow.cases.of_borrower(borrower_id)
    contacts = uow.activity.contact_history([borrower_id], EPOCH, datetime.now(UTC)).get(borrower_id, [])
    disputes = [uow.disputes.get(i) for i in uow.disputes.ids(loan_ids=loan_ids)] if loan_ids else []
    erased_at = uow.personal_data.erased_at(borrower_id)
    out: dict[str, Any] = {
        "borrower_id": borrower_id,
        "exported_at": datetime.now(UTC).isoformat(),
        "as_of": day.isoformat(),
        "erased_at": erased_at.isoformat() if erased_at else None,
        "identity": {"name": borrower.name, "id_number": borrower.id_number, "region": borrower.region},
        "contact": {"phone": borrower.phone, "email": borrower.email, "address": borrower.address},
        "preferences": {"timezone": borrower.timezone, "language": borrower.language},
        "loans": [_loan_view(r, day) for r in records],
        "contacts": [_plain(c) for c in contacts],
        "flags": [_plain(f) for f in uow.flags.for_borrowers([borrower_id]).get(borrower_id, [])],
        "disputes": [_plain(d) for d in disputes if d is not None and d.kind != "complaint"],
        "complaints": [_plain(d) for d in disputes if d is not None and d.kind == "complaint"],
        "promises": [_plain(p) for p in uow.promises.of_loans(loan_ids)] if loan_ids else [],
        "plans": [_plain(p) for p in uow.plans.of_loans(loan_ids)] if loan_ids else [],
        "case": _plain(case) if case else None,
        "case_notes": [_plain(n) for n in uow.cases.notes(case.id)] if case else [],
        "audit": [
            {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action}
            for e in uow.audit.entries(subject=f"borrower:{borrower_id}")
        ],
    }
    audit.append(
        uow,
        actor,
        "pii.export",
        f"borrower:{borrower_id}",
        {"fields": list(ENCRYPTED_FIELDS), "loans": len(records), "view": "privacy export"},
    )
    uow.commit()
    return out


def find(uow: UnitOfWork, kind: str, value: str, *, actor: str) -> list[str]:
    """The borrowers with this phone, ID number or e-mail (compared in normal form through the keyed hash);
    the search is audited (pii.find: what kind was searched, not the value)."""
    if kind not in LOOKUP_FIELDS:
        raise InputError(f"cannot look up by {kind!r} (known: {', '.join(LOOKUP_FIELDS)})", field="kind")
    if lookup_text(kind, value) is None:
        raise InputError(f"an empty {kind}", field=kind)
    found = uow.personal_data.find(kind, value)
    audit.append(uow, actor, "pii.find", f"lookup:{kind}", {"kind": kind, "borrowers": found})
    uow.commit()
    return found


def duplicates(uow: UnitOfWork) -> dict[str, list[list[str]]]:
    """Borrower ids that share a phone, an ID number or an e-mail (a person imported twice, or a number
    handed on): groups per kind."""
    return {kind: uow.personal_data.duplicates(kind) for kind in LOOKUP_FIELDS}


@dataclass
class Erasure:
    borrower_id: str
    kinds: tuple[str, ...]
    changed: dict[str, int]
    closed_on: date | None
    retention_ends: date | None  # the last kind's end (None: a loan is open)
    forced: bool
    erased: bool  # the data key destroyed: the person can no longer be read

    def to_dict(self) -> dict[str, Any]:
        return {
            "borrower_id": self.borrower_id,
            "kinds": list(self.kinds),
            "changed": self.changed,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "retention_ends": self.retention_ends.isoformat() if self.retention_ends else None,
            "forced": self.forced,
            "erased": self.erased,
        }


def _erase(
    uow: UnitOfWork,
    borrower_id: str,
    kinds: tuple[str, ...],
    *,
    reason: str,
    by: str,
    closed: date | None,
    retention: RetentionPeriods,
    forced: bool,
) -> Erasure:
    changed = uow.personal_data.erase(borrower_id, kinds, datetime.now(UTC))
    erased = uow.personal_data.erased_at(borrower_id) is not None
    ends = max(retention.ends(k, closed) for k in DATA_KINDS) if closed else None
    result = Erasure(borrower_id, kinds, changed, closed, ends, forced, erased)
    if any(changed.values()) or forced:
        audit.append(
            uow,
            by,
            "pii.erase",
            f"borrower:{borrower_id}",
            {"reason": reason, **{k: v for k, v in result.to_dict().items() if k != "borrower_id"}},
        )
    return result


def erase(
    uow: UnitOfWork,
    borrower_id: str,
    *,
    reason: str,
    by: str,
    retention: RetentionPeriods,
    as_of: date | None = None,
    force_before_retention: bool = False,
) -> Erasure:
    """Pseudonymise one borrower (every data kind). Refused (bad input) while the retention period runs,
    unless forced; the ledger, payments and audit chain are kept. Committed."""
    if not reason.strip():
        raise InputError("an erasure needs a reason", field="reason")
    if not by.strip():
        raise InputError("an erasure needs who asked for it", field="by")
    if uow.borrowers.get(borrower_id) is None:
        raise NotFound(f"unknown borrower {borrower_id!r}")
    day = as_of or datetime.now(UTC).date()
    records = list(uow.loans.stream_records(loans_of(uow, borrower_id)))
    closed = _borrower_closed_on(records, day) if records else None
    due = retention.due(closed, day) if records else tuple(DATA_KINDS)
    if set(due) != set(DATA_KINDS) and not force_before_retention:
        if closed is None:
            why = "a loan of theirs is still open"
        else:
            pending = [k for k in DATA_KINDS if k not in due]
            why = f"retention runs until {max(retention.ends(k, closed) for k in pending)} ({', '.join(pending)})"
        raise InputError(
            f"borrower {borrower_id}: {why}; --force-before-retention erases on a valid request",
            field="borrower",
        )
    result = _erase(
        uow,
        borrower_id,
        tuple(DATA_KINDS),
        reason=reason,
        by=by,
        closed=closed,
        retention=retention,
        forced=set(due) != set(DATA_KINDS),
    )
    uow.commit()
    return result


@dataclass
class PurgeResult:
    as_of: date
    looked_at: int = 0
    erasures: list[Erasure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "borrowers_looked_at": self.looked_at,
            "borrowers_changed": len(self.erasures),
            "fully_erased": sum(1 for e in self.erasures if e.erased),
            "per_kind": {k: sum(e.changed.get(k, 0) for e in self.erasures) for k in DATA_KINDS},
        }


def purge(
    uow: UnitOfWork,
    as_of: date,
    *,
    by: str,
    retention: RetentionPeriods,
    commit_every: int = 200,
    progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Erase, for every borrower whose loans all closed, each data kind past its retention on `as_of`.
    Committed every `commit_every` borrowers: an interrupted purge is finished by running it again."""
    result = PurgeResult(as_of)
    loans_of = uow.personal_data.not_erased_loans()
    borrowers = sorted(loans_of)
    for start in range(0, len(borrowers), commit_every):
        chunk = borrowers[start : start + commit_every]
        records: dict[str, list[LoanRecord]] = {b: [] for b in chunk}
        for record in uow.loans.stream_records([loan for b in chunk for loan in loans_of[b]]):
            records[record.borrower_id].append(record)
        for borrower_id in chunk:
            result.looked_at += 1
            if not records[borrower_id]:
                continue  # no loans: nothing closed, nothing to count a retention from
            closed = _borrower_closed_on(records[borrower_id], as_of)
            kinds = retention.due(closed, as_of)
            if not kinds:
                continue
            done = _erase(
                uow,
                borrower_id,
                kinds,
                reason=f"retention ended (purge as of {as_of.isoformat()})",
                by=by,
                closed=closed,
                retention=retention,
                forced=False,
            )
            if any(done.changed.values()):
                result.erasures.append(done)
        uow.commit()
        if progress:
            progress(len(chunk))
    return result


# --- keys ---------------------------------------------------------------------------------------------


def rotate(
    uow: UnitOfWork,
    *,
    by: str,
    reencrypt: bool = False,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Re-wrap every data key under the current KEK (or, with `reencrypt`, draw new data keys and encrypt
    every field again), a batch per transaction: an interrupted rotation is finished by running it again,
    and until then the retired KEKs still read what they wrapped. Audited `keys.rotate`."""
    before = uow.personal_data.status()
    done = 0
    if reencrypt:
        after: str | None = None
        while True:
            n, after = uow.personal_data.reseal(after, batch)
            uow.commit()
            done += n
            if progress and n:
                progress(n)
            if n < batch:
                break
    else:
        while n := uow.personal_data.rewrap(batch):
            uow.commit()
            done += n
            if progress:
                progress(n)
    status = uow.personal_data.status()
    audit.append(
        uow,
        by,
        "keys.rotate",
        "personal_data",
        {
            "mode": "reencrypt" if reencrypt else "rewrap",
            "rows": done,
            "before": before["sealed"],
            "after": status["sealed"],
        },
    )
    uow.commit()
    return {"mode": "reencrypt" if reencrypt else "rewrap", "rows": done, "status": status}


def encrypt_existing(
    uow: UnitOfWork, *, by: str, batch: int = 500, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Seal the borrowers still stored in plain text (stores from before migration 0009), a batch per
    transaction; resumable. Audited `keys.encrypt_existing`."""
    done = 0
    while n := uow.personal_data.seal_plain(batch):
        uow.commit()
        done += n
        if progress:
            progress(n)
    status = uow.personal_data.status()
    if done:
        audit.append(uow, by, "keys.encrypt_existing", "personal_data", {"rows": done})
        uow.commit()
    return {"rows": done, "status": status}
