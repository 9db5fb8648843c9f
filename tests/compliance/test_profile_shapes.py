"""Shape in the adapter, meaning in the domain: what each side of a profile or check document decides."""

from __future__ import annotations

from datetime import time

import pytest

from arrears.adapters.check_document import parse_check_document
from arrears.adapters.profile_file import load_profile
from arrears.adapters.profile_shapes import parse_profile
from arrears.domain.compliance.profile import CapRule, HoursRule, ProfileSpec, RuleSpec, build_profile
from arrears.domain.errors import InputError

ZONES = {"name": "x", "unknown_timezones": ["UTC"]}


def test_the_domain_builds_a_profile_from_typed_values_and_refuses_a_loosening() -> None:
    cn = load_profile("cn")
    tighter = build_profile(
        ProfileSpec("lender", "cn", rules=(RuleSpec("cn.hours", "hours", {"end": time(21)}),)), cn
    )
    hours = tighter.rule("cn.hours")
    assert isinstance(hours, HoursRule) and (hours.start, hours.end) == (time(8), time(21))
    with pytest.raises(InputError) as caught:
        build_profile(
            ProfileSpec("lender", "cn", rules=(RuleSpec("cn.hours", "hours", {"end": time(23)}),)), cn
        )
    assert caught.value.field == "rules[0].end" and "may only tighten" in caught.value.message


def test_an_interval_is_a_cap_of_one_in_a_rolling_window() -> None:
    profile = parse_profile(
        {
            **ZONES,
            "rules": [
                {
                    "id": "gap",
                    "kind": "interval",
                    "applies_to": {"channels": ["voice"]},
                    "counts": {"channels": ["voice"]},
                    "hours": 2,
                }
            ],
        }
    )
    gap = profile.rule("gap")
    assert isinstance(gap, CapRule) and (gap.kind, gap.max, gap.window.describe()) == (
        "interval",
        1,
        "2 h rolling",
    )


def test_an_unknown_key_names_the_rule_kind_and_null_counts_as_left_out() -> None:
    with pytest.raises(InputError) as caught:
        parse_profile({**ZONES, "rules": [{"id": "a", "kind": "opt_out", "max": 3}]})
    assert (caught.value.field, caught.value.message) == (
        "rules[0].max",
        "unknown key 'max' for a opt_out rule",
    )
    profile = parse_profile(
        {**ZONES, "rules": [{"id": "a", "kind": "opt_out", "exempt_message_types": None}]}
    )
    assert profile.rule("a").describe() == "honour per-channel opt-outs"


@pytest.mark.parametrize(
    ("attempt", "field", "words"),
    [
        (
            {"channel": "call", "at": "2026-03-10T10:00:00+08:00", "kind": "credit_report"},
            "attempt.kind",
            "does not fit",
        ),
        (
            {"channel": "voice", "at": "2026-03-10T10:00:00+08:00"},
            "attempt.channel",
            "unknown channel 'voice'",
        ),
        ({"channel": "call", "at": "2026-03-10"}, "attempt.at", "needs a UTC offset"),
        (
            {"channel": "call", "at": "2026-03-10T10:00:00+08:00", "law_firm": {"nme": "x"}},
            "attempt.law_firm.nme",
            "did you mean 'name'",
        ),
    ],
)
def test_check_document_errors_name_the_field(attempt: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_check_document({"attempt": attempt})
    assert caught.value.field == field and words in caught.value.message


def test_a_check_document_means_what_the_domain_says() -> None:
    doc = parse_check_document(
        {
            "debtor": {
                "timezone": "Asia/Shanghai",
                "timezones": ["Asia/Urumqi", "Asia/Shanghai"],
                "hardship_until": "2026-04-01",
            },
            "attempt": {
                "channel": "lawyer_letter",
                "at": "2026-03-10T10:00:00+08:00",
                "law_firm": "Acme",
                "target": 13812345678,
            },
        }
    )
    assert doc.profile == "cn" and doc.debtor.timezones == ("Asia/Shanghai", "Asia/Urumqi")
    assert doc.debtor.hardship  # a hardship end date is a hardship
    assert (doc.attempt.message_type, doc.attempt.target) == ("lawyer_letter", "13812345678")
    assert doc.attempt.law_firm is not None and not doc.attempt.law_firm.engaged  # a name alone: not engaged
