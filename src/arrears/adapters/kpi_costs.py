"""The KPI cost file (docs/kpi.md): a YAML mapping channel → cost per send as a decimal string ("0.05").
Read here, on the caller's side; `arrears.services.kpi.cost_table` turns the parsed entries into the
service's `CostTable` over the defaults."""

from __future__ import annotations

from pathlib import Path

from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError
from arrears.services.kpi import CostTable, cost_table


def load_costs(path: str | Path | None) -> CostTable:
    """The cost table of the file at `path` (the defaults when None); errors name file:line:channel."""
    if path is None:
        return CostTable()
    doc = load_document(path)
    data = doc.data
    if not isinstance(data, dict):
        raise InputError("the cost file must map channels to amounts", file=str(path), line=1)
    try:
        return cost_table(data)
    except InputError as err:
        raise doc.locate(err) from None
