"""The literal rule tables (cases/*.yaml): each case is a check document with the expected decision."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from arrears.adapters.check_document import parse_check_document
from arrears.domain.compliance import decide
from arrears.entrypoints.cli.compliance import load_profile

CASES = Path(__file__).parent / "cases"


def _cases() -> list[Any]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = data.get("defaults", {})
        for case in data["cases"]:
            merged = {**defaults, **case}
            out.append(pytest.param(merged, id=f"{path.stem}: {case['name']}"))
    return out


ALL_CASES = _cases()


def test_there_are_at_least_sixty_cases_across_both_profiles() -> None:
    profiles = {c.values[0]["profile"] for c in ALL_CASES}
    assert len(ALL_CASES) >= 60
    assert {"cn", "us-reg-f", "us-ma", "cn-strict"} <= profiles


@pytest.mark.parametrize("case", ALL_CASES)
def test_rule_table(case: dict[str, Any]) -> None:
    doc = parse_check_document({k: v for k, v in case.items() if k != "name"})
    decision = decide(load_profile(doc.profile), doc.debtor, doc.history, doc.attempt)
    expect = case["expect"]
    got = decision.to_dict()
    assert decision.decision == expect["decision"], got["reasons"]
    if "rules" in expect:
        assert sorted(decision.rules) == sorted(expect["rules"]), got["reasons"]
    if expect["decision"] == "defer":
        wanted = datetime.fromisoformat(expect["next_allowed_at"])
        assert decision.next_allowed_at == wanted
        assert got["next_allowed_at"] == expect["next_allowed_at"]  # same instant, written in local time
        # The deferral is exact: at next_allowed_at the attempt is allowed, a microsecond earlier it is not.
        later = decide(load_profile(doc.profile), doc.debtor, doc.history, doc.attempt.moved_to(wanted))
        assert later.decision == "allow", later.to_dict()["reasons"]
    else:
        assert decision.next_allowed_at is None
