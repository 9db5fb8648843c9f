"""The parameter file: the built-in one loads; mistakes are named with their file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.domain.errors import InputError
from arrears.sim.portfolio_params import load_params


def test_built_in_parameters() -> None:
    params = load_params()
    assert params.personas.shares() == pytest.approx([0.195, 0.55, 0.15, 0.08, 0.02, 0.005])
    assert params.loans.purchase.median == 80000 and params.loans.purchase.max == 3_000_000
    assert params.loans.products["baitiao-12"].instalments == 12
    assert params.loans.products["baitiao-30d"].period_days == 30
    assert params.borrowers.timezone[None] == 0.03


BUILT_IN = (Path(__file__).parents[2] / "src" / "arrears" / "sim" / "portfolio_params.yaml").read_text(
    encoding="utf-8"
)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("    share: 0.55\n", "    share: 0.95\n", "personas", "must sum to 1"),
        ("baitiao-12: {share: 0.12,", "baitiao-99: {share: 0.12,", "loans", "unknown products"),
        ('median: "800.00"', 'median: "800.001"', "loans.purchase.median", "more decimals"),
        ("zh-TW: 0.04", "zh-TW: 0.05", "borrowers.language", "must sum to 1"),
        (
            "window_days: {min: 20, max: 85}",
            "window_days: {min: 90, max: 85}",
            "personas.hardship.shock.window_days",
            "max is below min",
        ),
    ],
)
def test_bad_parameters(tmp_path: Path, old: str, new: str, field: str, message: str) -> None:
    assert old in BUILT_IN
    path = tmp_path / "p.yaml"
    path.write_text(BUILT_IN.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_params(path)
    err = caught.value
    assert err.file == str(path) and err.field == field and message in err.message
    assert err.line is not None and err.line > 1
