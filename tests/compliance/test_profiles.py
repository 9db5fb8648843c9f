"""Profiles as data: the shipped ones load, an overlay may tighten, and any loosening is refused with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.adapters.profile_file import load_profile
from arrears.adapters.profile_shapes import parse_profile
from arrears.domain.compliance.profile import CapRule, HoursRule
from arrears.domain.errors import InputError


def test_shipped_profiles_load_with_their_rule_ids() -> None:
    cn = load_profile("cn")
    assert [r.id for r in cn.rules][:5] == [
        "cn.hours",
        "cn.holidays",
        "cn.calls.connected_per_day",
        "cn.calls.unanswered_per_number_per_day",
        "cn.calls.interval",
    ]
    hours = cn.rule("cn.hours")
    assert isinstance(hours, HoursRule) and f"{hours.start:%H:%M}-{hours.end:%H:%M}" == "08:00-22:00"
    regf = load_profile("us-reg-f")
    cap = regf.rule("regf.7in7")
    assert isinstance(cap, CapRule) and (cap.max, cap.window.calendar_days, cap.per) == (7, 7, "debt")
    ma = load_profile("us-ma")
    assert ma.extends == "us-reg-f" and ma.lineage == ("us-reg-f",)
    assert {r.id for r in regf.rules} < {r.id for r in ma.rules}
    ma_cap = ma.rule("ma.calls.2in7")
    assert isinstance(ma_cap, CapRule) and ma_cap.max == 2
    assert ma.templates.opt_out_electronic is True and cn.templates.opt_out_electronic is False
    strict = load_profile("cn-strict")
    assert strict.lineage == ("cn",)
    strict_cap = strict.rule("cn.calls.connected_per_day")
    assert isinstance(strict_cap, CapRule) and strict_cap.max == 2


def _overlay(tmp_path: Path, body: str, base: str = "cn") -> Path:
    path = tmp_path / "lender.yaml"
    path.write_text(f"name: lender\nextends: {base}\nrules:\n{body}", encoding="utf-8")
    return path


LOOSENINGS = [
    ('  - id: cn.hours\n    end: "23:00"\n', "cn", 5, "rules[0].end", "ends later"),
    ('  - id: cn.hours\n    start: "07:00"\n', "cn", 5, "rules[0].start", "starts earlier"),
    ("  - id: cn.hours\n    channels: [voice]\n", "cn", 5, "rules[0].channels", "fewer channels"),
    ("  - id: cn.calls.connected_per_day\n    max: 4\n", "cn", 5, "rules[0].max", "raises the cap"),
    (
        "  - id: cn.calls.unanswered_per_number_per_day\n    counts: {channels: [voice], outcomes: [no_answer]}\n",
        "cn",
        5,
        "rules[0].counts.outcomes",
        "drops outcome",
    ),
    ("  - id: cn.calls.interval\n    minutes: 10\n", "cn", 5, "rules[0].minutes", "shortens"),
    ("  - id: cn.holidays\n    enabled: false\n", "cn-strict", 5, "rules[0].enabled", "switches off"),
    (
        "  - id: cn.cease\n    exempt_message_types: [reminder]\n",
        "cn",
        5,
        "rules[0].exempt_message_types",
        "exempts more",
    ),
    (
        "  - id: cn.third_party\n    require_unreachable: false\n",
        "cn",
        5,
        "rules[0].require_unreachable",
        "reachable",
    ),
    ("  - id: cn.credit_report_notice\n    days: 3\n", "cn", 5, "rules[0].days", "shortens"),
    (
        "  - id: cn.legal_document\n    require_approval: false\n",
        "cn",
        5,
        "rules[0].require_approval",
        "approval",
    ),
    ("  - id: regf.7in7\n    window: {calendar_days: 6}\n", "us-reg-f", 5, "rules[0].window", "shortens"),
    ("  - id: regf.7after_conversation\n    days: 6\n", "us-reg-f", 5, "rules[0].days", "shortens"),
    ("  - id: ma.calls.2in7\n    max: 3\n", "us-ma", 5, "rules[0].max", "raises the cap"),
    ("  - id: regf.7in7\n    max: 8\n", "us-ma", 5, "rules[0].max", "raises the cap"),
]


@pytest.mark.parametrize(("body", "base", "line", "field", "words"), LOOSENINGS)
def test_an_overlay_may_not_loosen_its_base(
    tmp_path: Path, body: str, base: str, line: int, field: str, words: str
) -> None:
    path = _overlay(tmp_path, body, base)
    with pytest.raises(InputError) as caught:
        load_profile(str(path))
    err = caught.value
    assert (err.file, err.line, err.field) == (str(path), line, field)
    assert words in err.message and "may only tighten" in err.message


def test_an_overlay_may_tighten_and_add_rules(tmp_path: Path) -> None:
    body = (
        '  - id: cn.hours\n    start: "09:00"\n    end: "20:00"\n'
        "  - id: lender.sms.per_day\n    kind: cap\n    applies_to: {channels: [sms]}\n"
        "    counts: {channels: [sms]}\n    per: debtor\n    window: {calendar_days: 1}\n    max: 2\n"
    )
    profile = load_profile(str(_overlay(tmp_path, body)))
    hours = profile.rule("cn.hours")
    assert isinstance(hours, HoursRule) and f"{hours.start:%H:%M}-{hours.end:%H:%M}" == "09:00-20:00"
    assert profile.rules[-1].id == "lender.sms.per_day"
    assert len(profile.rules) == len(load_profile("cn").rules) + 1


def test_opt_out_requirement_cannot_be_dropped(tmp_path: Path) -> None:
    path = tmp_path / "lender.yaml"
    path.write_text(
        "name: lender\nextends: us-reg-f\ntemplates:\n  opt_out_electronic: false\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        load_profile(str(path))
    assert (caught.value.line, caught.value.field) == (4, "templates.opt_out_electronic")


def test_unknown_zones_may_only_grow(tmp_path: Path) -> None:
    path = tmp_path / "lender.yaml"
    path.write_text("name: lender\nextends: cn\nunknown_timezones: [Asia/Shanghai]\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_profile(str(path))
    assert (caught.value.line, caught.value.field) == (3, "unknown_timezones")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            'name: x\nunknown_timezones: [Asia/Shanghai]\nrules:\n  - id: a\n    kind: hours\n    start: "08:00"\n',
            4,
            "rules[0].end",
            "is required",
        ),
        (
            "name: x\nunknown_timezones: [Mars/Olympus]\nrules: []\n",
            2,
            "unknown_timezones[0]",
            "unknown time zone",
        ),
        (
            "name: x\nunknown_timezones: [UTC]\nrules:\n  - id: a\n    kind: curfew\n",
            5,
            "rules[0].kind",
            "unknown or missing kind",
        ),
        (
            "name: x\nunknown_timezones: [UTC]\nrules:\n  - id: a\n    kind: opt_out\n    colour: red\n",
            6,
            "rules[0].colour",
            "unknown key",
        ),
        (
            "name: x\nunknown_timezones: [UTC]\nrules:\n  - id: a\n    kind: cap\n    applies_to: {channels: [fax]}\n",
            6,
            "rules[0].applies_to.channels[0]",
            "unknown channel",
        ),
        (
            'name: x\nunknown_timezones: [UTC]\nrules:\n  - id: a\n    kind: hours\n    start: "22:00"\n    end: "08:00"\n    channels: [all]\n',
            7,
            "rules[0].end",
            "after start",
        ),
        (
            "name: x\nunknown_timezones: [UTC]\nrules:\n  - {id: a, kind: opt_out}\n  - {id: a, kind: opt_out}\n",
            5,
            "rules[1].id",
            "duplicate",
        ),
        (
            "name: x\nextends: y\nunknown_timezones: [UTC]\nrules: []\n",
            2,
            "extends",
            "unknown compliance profile",
        ),
    ],
)
def test_bad_profiles_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_profile(str(path))
    err = caught.value
    assert words in err.message
    assert (err.file, err.line, err.field) == (str(path), line, field)


def test_profiles_extending_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: b\nunknown_timezones: [UTC]\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: b\nextends: a\nunknown_timezones: [UTC]\n", encoding="utf-8")
    with pytest.raises(InputError, match="cycle"):
        load_profile(str(tmp_path / "a.yaml"))


def test_parse_profile_is_pure_and_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        parse_profile(
            {"name": "x", "unknown_timezones": ["UTC"], "rules": [{"id": "a", "kind": "cap", "max": -1}]}
        )
    assert caught.value.field in {"rules[0].applies_to", "rules[0].max"}
