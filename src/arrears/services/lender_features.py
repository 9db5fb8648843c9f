"""Importing the lender's own features: checked in full (types, known loans, one type per feature) and
written in one transaction, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from arrears.domain.errors import InputError
from arrears.domain.lender_features import RawFeatureRow, parse_rows
from arrears.services.unit_of_work import UnitOfWork


def import_lender_features(url: str | None, rows: list[RawFeatureRow], source: str) -> dict[str, Any]:
    values = parse_rows(rows)
    with UnitOfWork(url) as uow:
        known_types = uow.models.lender_feature_types()
        for v in values:
            if known_types.get(v.name, v.type) != v.type:
                raise InputError(
                    f"{source}: {v.name} was imported as {known_types[v.name]}, this file says {v.type}",
                    field=v.name,
                )
        loans = sorted({v.loan_id for v in values})
        known = set(uow.loans.ids())
        missing = [x for x in loans if x not in known]
        if missing:
            line = next(r.line for r in rows if (r.values.get("loan_id") or "").strip() == missing[0])
            raise InputError(
                f"{source}:{line}: unknown loan {missing[0]!r} ({len(missing)} unknown in all)",
                field="loan_id",
            )
        written = uow.models.add_lender_features(values, source, datetime.now(UTC))
        uow.commit()
    return {"values": written, "loans": len(loans), "features": sorted({v.name for v in values})}
