"""Risk models in the store (migration 0011_risk_models): the model registry (each model's file, content
hash, training metadata and whether it is the active one of its target), the scores the daily run wrote per
account and day, and the lender-supplied features, versioned by the date from which a value holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.models import Base
from arrears.adapters.store.run_models import OutboxRow, RunRow
from arrears.adapters.store.types import JSONDoc, UtcDateTime
from arrears.domain.model_records import AccountScore, LenderFeatureValue, ModelRecord
from arrears.domain.models import INTERVENTION_CHANNELS

# Outbox statuses of an action that did or may still happen (a cancelled or blocked one never reached anyone).
_HAPPENED = ("pending", "sending", "awaiting_approval", "deferred", "sent", "delivered", "claimed")


class RiskModelRow(Base):
    __tablename__ = "risk_models"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(32), index=True)
    family: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trained_from: Mapped[date] = mapped_column(Date)
    trained_to: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    document: Mapped[str] = mapped_column(Text)  # the model file's text (its hash is content_hash)


class AccountScoreRow(Base):
    __tablename__ = "account_scores"
    __table_args__ = (Index("ix_account_scores_day", "day", "target"),)

    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(64))
    score_bp: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="")


class LenderFeatureRow(Base):
    __tablename__ = "lender_features"

    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


def _record(row: Any) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        target=row.target,
        family=row.family,
        content_hash=row.content_hash,
        path=row.path,
        created_at=row.created_at,
        trained_from=row.trained_from,
        trained_to=row.trained_to,
        active=bool(row.active),
        metrics=dict(row.metrics or {}),
        document=row.document,
    )


class ModelRepository:
    """The registry, the scores and the lender's features on the unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- the registry
    def add(self, record: ModelRecord) -> None:
        """Record a model; the same content (same id) recorded twice is one row."""
        if self.get(record.id) is not None:
            return
        self.connection.execute(
            RiskModelRow.__table__.insert().values(
                id=record.id,
                target=record.target,
                family=record.family,
                content_hash=record.content_hash,
                path=record.path,
                created_at=record.created_at,
                trained_from=record.trained_from,
                trained_to=record.trained_to,
                active=False,
                metrics=record.metrics,
                document=record.document,
            )
        )

    def get(self, model_id: str) -> ModelRecord | None:
        row = self.connection.execute(
            select(RiskModelRow.__table__).where(RiskModelRow.id == model_id)
        ).first()
        return _record(row) if row is not None else None

    def find(self, prefix: str) -> list[ModelRecord]:
        """Models whose id starts with `prefix` (a model may be named by the first characters of its id)."""
        table = RiskModelRow.__table__
        rows = self.connection.execute(select(table).where(table.c.id.startswith(prefix, autoescape=True)))
        return [_record(r) for r in rows]

    def all(self) -> list[ModelRecord]:
        table = RiskModelRow.__table__
        return [_record(r) for r in self.connection.execute(select(table).order_by(table.c.created_at))]

    def active(self) -> list[ModelRecord]:
        table = RiskModelRow.__table__
        rows = self.connection.execute(select(table).where(table.c.active.is_(True)).order_by(table.c.target))
        return [_record(r) for r in rows]

    def has_active(self, target: str) -> bool:
        table = RiskModelRow.__table__
        query = select(table.c.id).where(table.c.active.is_(True), table.c.target == target).limit(1)
        return self.connection.execute(query).first() is not None

    def activate(self, model_id: str, target: str) -> None:
        """Make the model the active one of its target (the previous one is retired)."""
        table = RiskModelRow.__table__
        self.connection.execute(update(table).where(table.c.target == target).values(active=False))
        self.connection.execute(update(table).where(table.c.id == model_id).values(active=True))

    def deactivate(self, model_id: str) -> None:
        table = RiskModelRow.__table__
        self.connection.execute(update(table).where(table.c.id == model_id).values(active=False))

    # --- scores
    def write_scores(self, day: date, scores: Sequence[AccountScore]) -> int:
        """The day's scores (a re-run of the day replaces them)."""
        table = AccountScoreRow.__table__
        targets = sorted({s.target for s in scores})
        if targets:
            self.connection.execute(delete(table).where(table.c.day == day, table.c.target.in_(targets)))
        for start in range(0, len(scores), 5000):
            chunk = scores[start : start + 5000]
            self.connection.execute(
                table.insert(),
                [
                    {
                        "loan_id": s.loan_id,
                        "day": day,
                        "target": s.target,
                        "model_id": s.model_id,
                        "score_bp": s.score_bp,
                        "reasons": s.reasons,
                    }
                    for s in chunk
                ],
            )
        return len(scores)

    def scores_of(self, loan_id: str, on: date | None = None) -> list[AccountScore]:
        """The account's scores of day `on`, or of its latest scored day on or before it (all targets)."""
        table = AccountScoreRow.__table__
        query = select(table.c.day).where(table.c.loan_id == loan_id)
        if on is not None:
            query = query.where(table.c.day <= on)
        latest = self.connection.execute(query.order_by(table.c.day.desc()).limit(1)).scalar()
        if latest is None:
            return []
        rows = self.connection.execute(
            select(table).where(table.c.loan_id == loan_id, table.c.day == latest).order_by(table.c.target)
        )
        return [AccountScore(r.loan_id, r.day, r.target, r.model_id, r.score_bp, r.reasons) for r in rows]

    # --- labels
    def known_through(self) -> date | None:
        """The last day a daily run covered: outcomes are known up to it."""
        value = self.connection.execute(select(func.max(RunRow.__table__.c.as_of))).scalar()
        return value if value is None or isinstance(value, date) else date.fromisoformat(str(value))

    def interventions(self, start: date, end: date) -> pa.Table:
        """Agent calls and legal steps planned for a day in [start, end] that were not cancelled or blocked:
        loan_id, day (the self-cure label reads them)."""
        table = OutboxRow.__table__
        rows = self.connection.execute(
            select(table.c.loan_id, table.c.as_of)
            .where(
                table.c.as_of >= start,
                table.c.as_of <= end,
                table.c.channel.in_(sorted(INTERVENTION_CHANNELS)),
                table.c.status.in_(_HAPPENED),
            )
            .distinct()
        ).all()
        return pa.table(
            {
                "loan_id": pa.array([r[0] for r in rows], pa.string()),
                "day": pa.array([r[1] for r in rows], pa.date32()),
            }
        )

    def contacted(self, start: date, end: date) -> dict[date, set[str]]:
        """The loans a contact attempt was recorded for, by UTC day, from `start` to `end` (included)."""
        table = ContactAttemptRow.__table__
        low = datetime.combine(start, time(0), UTC)
        high = datetime.combine(end + timedelta(days=1), time(0), UTC)
        rows = self.connection.execute(
            select(table.c.loan_id, table.c.at).where(table.c.at >= low, table.c.at < high)
        )
        out: dict[date, set[str]] = {}
        for loan_id, at in rows:
            out.setdefault(at.astimezone(UTC).date(), set()).add(loan_id)
        return out

    # --- the lender's features
    def add_lender_features(self, values: Iterable[LenderFeatureValue], source: str, at: datetime) -> int:
        """Insert the values; a value already on file for the same loan, name and date is replaced."""
        table = LenderFeatureRow.__table__
        rows = [
            {
                "loan_id": v.loan_id,
                "name": v.name,
                "as_of": v.as_of,
                "type": v.type,
                "value": v.value,
                "source": source,
                "imported_at": at,
            }
            for v in values
        ]
        for r in rows:
            self.connection.execute(
                delete(table).where(
                    table.c.loan_id == r["loan_id"], table.c.name == r["name"], table.c.as_of == r["as_of"]
                )
            )
        for start in range(0, len(rows), 5000):
            self.connection.execute(table.insert(), rows[start : start + 5000])
        return len(rows)

    def lender_feature_types(self) -> dict[str, str]:
        table = LenderFeatureRow.__table__
        rows = self.connection.execute(select(table.c.name, table.c.type).distinct())
        return {r[0]: r[1] for r in rows}

    def lender_features(self, as_of: date) -> list[LenderFeatureValue]:
        """Each loan's latest value of each feature dated on or before `as_of` (nothing later leaks in)."""
        table = LenderFeatureRow.__table__
        rows = self.connection.execute(
            select(table.c.loan_id, table.c.name, table.c.as_of, table.c.type, table.c.value)
            .where(table.c.as_of <= as_of)
            .order_by(table.c.loan_id, table.c.name, table.c.as_of)
        )
        latest: dict[tuple[str, str], LenderFeatureValue] = {}
        for r in rows:
            latest[(r[0], r[1])] = LenderFeatureValue(r[0], r[1], r[2], r[3], int(r[4]))
        return list(latest.values())
