"""The late end of the ladder in the KPIs (`arrears kpi`, docs/agencies.md): the agency league table, legal
recovery and cost, field visits' cost and recovery. Windows are [start, end] inclusive, as the KPIs'."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from arrears.domain.money import format_minor
from arrears.services.agencies import league_table
from arrears.services.litigation import litigation_kpis
from arrears.services.unit_of_work import UnitOfWork
from arrears.services.visits import visit_kpis


def field_kpis(uow: UnitOfWork, start: date, end: date) -> dict[str, Any]:
    after = end + timedelta(days=1)
    league = [
        {**r, "placed": format_minor(r["placed"]), "recovered": format_minor(r["recovered"]),
         "commission": format_minor(r["commission"]), "net_recovered": format_minor(r["net_recovered"])}
        for r in league_table(uow, start, after)
    ]  # fmt: skip
    return {
        "agency_league": league,
        "litigation": litigation_kpis(uow, start, after),
        "visits": visit_kpis(uow, start, after),
    }
