"""The borrowers' personal data as stored: sealed on the way in, opened on the way out (adapters/crypto.py),
and the whole-store work on it — key rotation, sealing plain text left from before, erasure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from arrears.adapters.crypto import PersonalDataCipher, cipher
from arrears.adapters.store.casework_models import AgencyActivityRow, CaseNoteRow, CaseRow, DisputeRow
from arrears.adapters.store.dispatch_models import BorrowerFlagRow, ContactAttemptRow
from arrears.adapters.store.models import AccountEventRow, BorrowerRow, LoanRow
from arrears.domain.personal_data import (
    CONTACT_FIELDS,
    DATA_KINDS,
    ENCRYPTED_FIELDS,
    ERASED_TEXT,
    IDENTITY_FIELDS,
    LOOKUP_FIELDS,
)
from arrears.domain.records import Borrower

PLAIN_COLUMNS = ("timezone", "region", "language", "persona")
SEALED_COLUMNS = (
    BorrowerRow.id,
    *(getattr(BorrowerRow, name) for name in ENCRYPTED_FIELDS),
    BorrowerRow.key_id,
    BorrowerRow.data_key,
)
_HAS_PLAIN = or_(*(getattr(BorrowerRow, name).is_not(None) for name in ENCRYPTED_FIELDS))


def borrower_from_row(row: Mapping[str, Any]) -> Borrower:
    """A stored borrower row (all its columns) as the domain's Borrower, its personal fields decrypted."""
    fields = cipher().open(str(row["id"]), row)
    return Borrower(id=row["id"], **fields, **{name: row[name] for name in PLAIN_COLUMNS})


def sealed_values(borrower: Borrower) -> dict[str, Any]:
    """The columns that store a Borrower: personal fields sealed, the others as they are."""
    values = {name: getattr(borrower, name) for name in ENCRYPTED_FIELDS}
    return {**cipher().seal(borrower.id, values), **{name: getattr(borrower, name) for name in PLAIN_COLUMNS}}


def phone_hashes(numbers: Sequence[str]) -> list[str]:
    found = (cipher().lookup("phone", number) for number in numbers)
    return sorted({h for h in found if h is not None})


class PersonalDataRepository:
    """uow.personal_data: what the key and privacy commands do to the whole store, a batch at a time."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def cipher(self) -> PersonalDataCipher:
        return cipher()

    def status(self) -> dict[str, Any]:
        """How many borrowers are sealed (per KEK), still plain text, erased."""
        c = self.connection
        per_key = dict(
            c.execute(
                select(BorrowerRow.key_id, func.count())
                .where(BorrowerRow.data_key.is_not(None))
                .group_by(BorrowerRow.key_id)
            ).all()
        )
        plain = c.scalar(
            select(func.count()).where(
                BorrowerRow.data_key.is_(None), BorrowerRow.erased_at.is_(None), _HAS_PLAIN
            )
        )
        erased = c.scalar(select(func.count()).where(BorrowerRow.erased_at.is_not(None)))
        total = c.scalar(select(func.count()).select_from(BorrowerRow))
        return {
            "borrowers": int(total or 0),
            "sealed": {str(k): int(n) for k, n in per_key.items()},
            "plain": int(plain or 0),
            "erased": int(erased or 0),
        }

    def rewrap(self, limit: int) -> int:
        """Re-wrap up to `limit` data keys not under the current KEK; how many were re-wrapped."""
        ciph = self.cipher
        current = ciph.keks.current_id
        rows = self.connection.execute(
            select(BorrowerRow.id, BorrowerRow.key_id, BorrowerRow.data_key)
            .where(BorrowerRow.data_key.is_not(None), BorrowerRow.key_id != current)
            .order_by(BorrowerRow.id)
            .limit(limit)
        ).all()
        for borrower_id, kek_id, wrapped in rows:
            new_id, new_wrapped = ciph.rewrap(borrower_id, str(kek_id), str(wrapped))
            self.connection.execute(
                update(BorrowerRow)
                .where(BorrowerRow.id == borrower_id, BorrowerRow.key_id == kek_id)
                .values(key_id=new_id, data_key=new_wrapped)
            )
        return len(rows)

    def reseal(self, after: str | None, limit: int) -> tuple[int, str | None]:
        """New data keys for up to `limit` sealed borrowers with ids after `after` (their fields decrypted and
        encrypted again); (how many, the last id done)."""
        ciph = self.cipher
        query = select(*SEALED_COLUMNS).where(BorrowerRow.data_key.is_not(None)).order_by(BorrowerRow.id)
        if after is not None:
            query = query.where(BorrowerRow.id > after)
        rows = self.connection.execute(query.limit(limit)).mappings().all()
        for row in rows:
            borrower_id = str(row["id"])
            old = ciph.aead(borrower_id, str(row["key_id"]), str(row["data_key"]))
            sealed = ciph.seal(borrower_id, ciph.open(borrower_id, dict(row)))
            self._write_sealed(borrower_id, sealed)
            self._reseal_values(borrower_id, old, sealed)
        return len(rows), (str(rows[-1]["id"]) if rows else None)

    def _reseal_values(self, borrower_id: str, old: AESGCM | None, sealed: dict[str, Any]) -> None:
        """The borrower's facts' values under its new data key (`old`: the key they were under, None: plain)."""
        ciph = self.cipher
        new = ciph.aead(borrower_id, sealed["key_id"], sealed["data_key"])
        flags = self.connection.execute(
            select(BorrowerFlagRow.id, BorrowerFlagRow.value).where(
                BorrowerFlagRow.borrower_id == borrower_id, BorrowerFlagRow.value != ""
            )
        ).all()
        for flag_id, stored in flags:
            value = ciph.open_value(old, borrower_id, "flag", stored)
            self.connection.execute(
                update(BorrowerFlagRow)
                .where(BorrowerFlagRow.id == flag_id)
                .values(value=ciph.seal_value(new, borrower_id, "flag", value))
            )

    def seal_plain(self, limit: int) -> int:
        """Seal up to `limit` borrowers still stored in plain text; how many were sealed."""
        ciph = self.cipher
        rows = (
            self.connection.execute(
                select(BorrowerRow.id, *(getattr(BorrowerRow, name) for name in ENCRYPTED_FIELDS))
                .where(BorrowerRow.data_key.is_(None), BorrowerRow.erased_at.is_(None), _HAS_PLAIN)
                .order_by(BorrowerRow.id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        for row in rows:
            sealed = ciph.seal(str(row["id"]), dict(row))
            self._write_sealed(str(row["id"]), sealed)
            self._reseal_values(str(row["id"]), None, sealed)
        return len(rows)

    def _write_sealed(self, borrower_id: str, values: dict[str, Any]) -> None:
        self.connection.execute(update(BorrowerRow).where(BorrowerRow.id == borrower_id).values(**values))

    def find(self, kind: str, value: str) -> list[str]:
        """The borrowers whose `kind` (phone, id_number, email) equals `value` in its normal form, by the
        keyed hash (rows not yet sealed: by their plain text)."""
        column = getattr(BorrowerRow, f"{kind}_hash")
        digest = self.cipher.lookup(kind, value)  # None: not a valid value, which no hash can match
        plain = and_(BorrowerRow.data_key.is_(None), getattr(BorrowerRow, kind) == value.strip())
        where = or_(column == digest, plain) if digest is not None else plain
        query = select(BorrowerRow.id).where(where).order_by(BorrowerRow.id)
        return [str(b) for b in self.connection.scalars(query)]

    def duplicates(self, kind: str) -> list[list[str]]:
        """Groups of two or more borrowers sharing a phone, ID number or e-mail (by the keyed hash)."""
        column = getattr(BorrowerRow, f"{kind}_hash")
        shared = select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)
        groups: dict[str, list[str]] = {}
        query = select(column, BorrowerRow.id).where(column.in_(shared)).order_by(column, BorrowerRow.id)
        for digest, borrower_id in self.connection.execute(query):
            groups.setdefault(digest, []).append(str(borrower_id))
        return sorted(groups.values())

    def not_erased_loans(self) -> dict[str, list[str]]:
        """The borrowers not (fully) erased, each with the ids of its loans (none: an empty list)."""
        query = (
            select(BorrowerRow.id, LoanRow.id)
            .outerjoin(LoanRow, LoanRow.borrower_id == BorrowerRow.id)
            .where(BorrowerRow.erased_at.is_(None))
            .order_by(BorrowerRow.id, LoanRow.id)
        )
        out: dict[str, list[str]] = {}
        for borrower_id, loan_id in self.connection.execute(query):
            loans = out.setdefault(str(borrower_id), [])
            if loan_id is not None:
                loans.append(str(loan_id))
        return out

    def erased_at(self, borrower_id: str) -> datetime | None:
        return self.connection.scalar(select(BorrowerRow.erased_at).where(BorrowerRow.id == borrower_id))

    def erase(self, borrower_id: str, kinds: Sequence[str], at: datetime) -> dict[str, int]:
        """Overwrite the borrower's data of these kinds; once identity and contact data are both gone the
        data key is destroyed too. How many rows changed, per kind."""
        c = self.connection
        out: dict[str, int] = {}
        unknown = set(kinds) - set(DATA_KINDS)
        if unknown:
            raise ValueError(f"unknown data kinds {sorted(unknown)}")
        me = BorrowerRow.id == borrower_id
        if "identity" in kinds:
            cleared = {name: None for name in IDENTITY_FIELDS}
            has = or_(
                *(getattr(BorrowerRow, n).is_not(None) for n in IDENTITY_FIELDS),
                BorrowerRow.region.is_not(None),
            )
            out["identity"] = c.execute(
                update(BorrowerRow).where(me, has).values(**cleared, id_number_hash=None, region=None)
            ).rowcount
        if "contact" in kinds:
            cleared = {name: None for name in CONTACT_FIELDS}
            hashes = {f"{name}_hash": None for name in LOOKUP_FIELDS if name in CONTACT_FIELDS}
            has = or_(*(getattr(BorrowerRow, n).is_not(None) for n in CONTACT_FIELDS))
            out["contact"] = c.execute(
                update(BorrowerRow).where(me, has).values(**cleared, **hashes)
            ).rowcount
        if "contact_history" in kinds:
            n = c.execute(
                update(ContactAttemptRow)
                .where(ContactAttemptRow.borrower_id == borrower_id, ContactAttemptRow.target != "")
                .values(target="")
            ).rowcount
            n += c.execute(
                update(BorrowerFlagRow)
                .where(BorrowerFlagRow.borrower_id == borrower_id, BorrowerFlagRow.value != "")
                .values(value="")
            ).rowcount
            out["contact_history"] = n
        if "case_notes" in kinds:
            loans = select(LoanRow.id).where(LoanRow.borrower_id == borrower_id).scalar_subquery()
            cases = select(CaseRow.id).where(CaseRow.borrower_id == borrower_id).scalar_subquery()
            n = c.execute(
                update(DisputeRow)
                .where(DisputeRow.borrower_id == borrower_id, DisputeRow.description != ERASED_TEXT)
                .values(description=ERASED_TEXT)
            ).rowcount
            n += c.execute(
                update(CaseNoteRow)
                .where(CaseNoteRow.case_id.in_(cases), CaseNoteRow.note != ERASED_TEXT)
                .values(note=ERASED_TEXT)
            ).rowcount
            n += c.execute(
                update(AgencyActivityRow)
                .where(
                    AgencyActivityRow.loan_id.in_(loans),
                    AgencyActivityRow.note != "",
                    AgencyActivityRow.note != ERASED_TEXT,
                )
                .values(note=ERASED_TEXT)
            ).rowcount
            # A borrower's reply asking for a plan keeps its words in the event: the words go, the event stays.
            for event_id, detail in c.execute(
                select(AccountEventRow.id, AccountEventRow.detail).where(
                    AccountEventRow.loan_id.in_(loans), AccountEventRow.kind == "plan_request"
                )
            ).all():
                if isinstance(detail, dict) and detail.get("text") not in (None, ERASED_TEXT):
                    c.execute(
                        update(AccountEventRow)
                        .where(AccountEventRow.id == event_id)
                        .values(detail={**detail, "text": ERASED_TEXT})
                    )
                    n += 1
            out["case_notes"] = n
        # Nothing personal left under the data key: destroy it, and the borrower counts as erased.
        empty = and_(*(getattr(BorrowerRow, n).is_(None) for n in ENCRYPTED_FIELDS))
        c.execute(
            update(BorrowerRow)
            .where(me, empty, BorrowerRow.erased_at.is_(None))
            .values(data_key=None, key_id=None, erased_at=at)
        )
        return out
