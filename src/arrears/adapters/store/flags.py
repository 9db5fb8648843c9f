"""The borrower_flags table: compliance facts in (with provenance), `BorrowerFlag`s out.

A fact's value can be personal data (a work number, an attorney's contact): it is stored sealed under the
borrower's data key with a keyed hash for equality (adapters/crypto.py, `pdv1:`), and opened here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.crypto import VALUE_PREFIX, cipher
from arrears.adapters.store.dispatch_models import BorrowerFlagRow
from arrears.adapters.store.models import BorrowerRow
from arrears.domain.compliance.facts import BorrowerFlag

_IN_CHUNK = 5_000


def _flag(row: Any, aead: AESGCM | None = None) -> BorrowerFlag:
    return BorrowerFlag(
        borrower_id=row.borrower_id,
        name=row.name,
        effective_at=row.effective_at,
        channel=row.channel or "",
        debt=row.debt or "",
        value=cipher().open_value(aead, row.borrower_id, "flag", row.value or ""),
        until=row.until,
        set_by=row.set_by,
        reason=row.reason,
        source=row.source,
        cleared_at=row.cleared_at,
    )


class BorrowerFlagRepository:
    """Set, clear and read borrower flags on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _aeads(self, borrower_ids: Sequence[str]) -> dict[str, AESGCM | None]:
        """The data keys of these borrowers (None: erased, or not sealed yet)."""
        ciph = cipher()
        out: dict[str, AESGCM | None] = {}
        ids = sorted(set(borrower_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(BorrowerRow.id, BorrowerRow.key_id, BorrowerRow.data_key).where(
                BorrowerRow.id.in_(ids[start : start + _IN_CHUNK])
            )
            for borrower_id, key_id, wrapped in self.connection.execute(query):
                out[borrower_id] = ciph.aead(borrower_id, str(key_id), wrapped) if wrapped else None
        return out

    def _stored_value(self, borrower_id: str, value: str) -> str:
        if not value:
            return value
        aead = self._aeads([borrower_id]).get(borrower_id)
        return cipher().seal_value(aead, borrower_id, "flag", value) if aead is not None else value

    def add(self, flag: BorrowerFlag, set_at: datetime) -> int:
        result = self.connection.execute(
            insert(BorrowerFlagRow).values(
                borrower_id=flag.borrower_id,
                name=flag.name,
                channel=flag.channel,
                debt=flag.debt,
                value=self._stored_value(flag.borrower_id, flag.value),
                until=flag.until,
                effective_at=flag.effective_at,
                set_at=set_at,
                set_by=flag.set_by,
                reason=flag.reason,
                source=flag.source,
            )
        )
        return int(result.inserted_primary_key[0])

    def open_ids(self, borrower_id: str, name: str, channel: str, debt: str, value: str | None) -> list[int]:
        """Ids of the flags in force (not cleared) that match; `value` None matches any value."""
        query = select(BorrowerFlagRow.id).where(
            BorrowerFlagRow.borrower_id == borrower_id,
            BorrowerFlagRow.name == name,
            BorrowerFlagRow.channel == channel,
            BorrowerFlagRow.debt == debt,
            BorrowerFlagRow.cleared_at.is_(None),
        )
        if value:
            sealed = f"{VALUE_PREFIX}{cipher().value_tag(value)}:%"
            query = query.where(or_(BorrowerFlagRow.value == value, BorrowerFlagRow.value.like(sealed)))
        elif value is not None:
            query = query.where(BorrowerFlagRow.value == value)
        return list(self.connection.scalars(query.order_by(BorrowerFlagRow.id)))

    def clear(self, ids: Sequence[int], at: datetime, by: str, reason: str) -> None:
        self.connection.execute(
            update(BorrowerFlagRow)
            .where(BorrowerFlagRow.id.in_(list(ids)))
            .values(cleared_at=at, cleared_by=by, clear_reason=reason)
        )

    def history(self, borrower_id: str) -> list[dict[str, Any]]:
        """Every flag of the borrower ever set, cleared ones included, oldest first (rows as mappings)."""
        rows = self.connection.execute(
            select(BorrowerFlagRow)
            .where(BorrowerFlagRow.borrower_id == borrower_id)
            .order_by(BorrowerFlagRow.effective_at, BorrowerFlagRow.id)
        ).mappings()
        out = [dict(r) for r in rows]
        if any(str(r["value"] or "").startswith(VALUE_PREFIX) for r in out):
            aead = self._aeads([borrower_id]).get(borrower_id)
            for r in out:
                r["value"] = cipher().open_value(aead, borrower_id, "flag", r["value"] or "")
        return out

    def for_borrowers(
        self, borrower_ids: Sequence[str], *, since: datetime | None = None
    ) -> dict[str, list[BorrowerFlag]]:
        """The borrowers' flags, not cleared before `since` (all of them when None), by borrower."""
        out: dict[str, list[BorrowerFlag]] = defaultdict(list)
        ids = sorted(set(borrower_ids))
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(BorrowerFlagRow).where(
                BorrowerFlagRow.borrower_id.in_(ids[start : start + _IN_CHUNK])
            )
            if since is not None:
                query = query.where(
                    or_(BorrowerFlagRow.cleared_at.is_(None), BorrowerFlagRow.cleared_at > since)
                )
            rows = self.connection.execute(query.order_by(BorrowerFlagRow.id)).all()
            sealed = {r.borrower_id for r in rows if (r.value or "").startswith(VALUE_PREFIX)}
            aeads = self._aeads(sorted(sealed)) if sealed else {}
            for row in rows:
                out[row.borrower_id].append(_flag(row, aeads.get(row.borrower_id)))
        return out
