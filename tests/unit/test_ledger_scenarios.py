"""Literal ledger scenarios: each YAML file holds a loan and the numbers expected as of given dates.

A case may expect `error: {field, message}` instead: the ledger must refuse the loan as of that date
(InputError naming the field, its message containing `message`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from arrears.adapters.loan_document import parse_loan_document
from arrears.domain.errors import InputError
from arrears.domain.ledger import compute_position

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios" / "ledger").glob("*.yaml"))


def _normalise(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def assert_subset(expected: Any, actual: Any, path: str = "") -> None:
    """Every key the scenario names must match; keys it leaves out are not checked."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: missing in result"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(expected) <= len(actual), f"{path}: expected {len(expected)} items, got {len(actual)}"
        for i, value in enumerate(expected):
            assert_subset(value, actual[i], f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 25


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    loan = parse_loan_document(doc)
    assert doc["expect"], "a scenario must expect something"
    for case in doc["expect"]:
        case = _normalise(case)
        as_of = date.fromisoformat(case.pop("as_of"))
        if "error" in case:
            with pytest.raises(InputError) as err:
                compute_position(loan, as_of)
            assert err.value.field == case["error"]["field"], f"{path.name}@{as_of}"
            assert case["error"]["message"] in err.value.message, f"{path.name}@{as_of}"
            continue
        result = compute_position(loan, as_of).to_dict()
        assert_subset(case, result, f"{path.name}@{as_of}")


def test_a_key_given_twice_is_bad_input(tmp_path: Path) -> None:
    from arrears.adapters.yamlfile import load_document
    from arrears.domain.errors import InputError

    path = tmp_path / "loan.yaml"
    path.write_text('instalments:\n  - {due: 2026-01-10, principal: "1.00"}\ninstalments: []\n')
    with pytest.raises(InputError) as err:
        load_document(path)
    assert err.value.line == 3 and err.value.field == "instalments"
