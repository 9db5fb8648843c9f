"""Every KPI of a period in one dict: the contact and recovery KPIs (services/kpi.py), the books' charge-off
and recovery figures (docs/books.md) and the field's agency league, litigation and visits (docs/agencies.md).
`arrears kpi` and the strategy lab read the same dict, so a figure one shows the other shows too."""

from __future__ import annotations

from datetime import date
from typing import Any

from arrears.domain.products import LedgerSettings
from arrears.services.books import charge_off_kpis
from arrears.services.field_kpis import field_kpis
from arrears.services.kpi import CostTable, compute_kpis
from arrears.services.unit_of_work import UnitOfWork


def all_kpis(
    uow: UnitOfWork,
    start: date,
    end: date,
    costs: CostTable | None = None,
    *,
    products: dict[str, LedgerSettings] | None = None,
) -> dict[str, Any]:
    result = compute_kpis(uow, start, end, costs, products=products)
    result["charge_off"] = charge_off_kpis(uow, start, end)
    result.update(field_kpis(uow, start, end))
    return result
