"""The KPI cost file is read by the adapter; the service turns the entries into a cost table."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.adapters.kpi_costs import load_costs
from arrears.domain.errors import InputError
from arrears.services.kpi import DEFAULT_UNIT_COSTS, cost_table


def test_defaults_and_overrides(tmp_path: Path) -> None:
    assert load_costs(None).of("sms") == DEFAULT_UNIT_COSTS["sms"]
    path = tmp_path / "costs.yaml"
    path.write_text('sms: "0.07"\n')
    table = load_costs(path)
    assert table.of("sms") == 7
    assert table.of("letter") == DEFAULT_UNIT_COSTS["letter"]
    assert cost_table({"sms": "0.07"}) == table


def test_bad_amount_names_file_line_and_channel(tmp_path: Path) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text('sms: "0.07"\nletter: abc\n')
    with pytest.raises(InputError) as err:
        load_costs(path)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 2, "letter")


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "costs.yaml"
    path.write_text("- sms\n")
    with pytest.raises(InputError, match="must map channels to amounts"):
        load_costs(path)
