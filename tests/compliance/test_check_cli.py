"""`arrears compliance check` and `arrears compliance profiles` through the CLI: exit codes, JSON, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]

ALLOW = """profile: cn
debtor: {timezone: Asia/Shanghai}
attempt: {channel: call, at: "2026-03-10T21:59:00+08:00", target: "13812345678"}
"""
DEFER = """profile: us-reg-f
debtor: {timezone: America/New_York, validation_notice_sent_at: "2026-01-15T10:00:00-05:00"}
history:
  - {channel: call, at: "2026-03-02T15:00:00-05:00", outcome: conversation, target: "+16175550100"}
attempt: {channel: call, at: "2026-03-08T20:00:00-04:00", target: "+16175550100"}
"""
BLOCK = """profile: cn
debtor: {timezone: Asia/Shanghai, disputed: true}
attempt: {channel: sms, at: "2026-03-10T10:00:00+08:00", message_type: reminder}
"""


def _write(tmp_path: Path, text: str, name: str = "check.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_allow_exits_0_with_the_json_contract(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli("compliance", "check", _write(tmp_path, ALLOW), "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["decision"] == "allow"
    assert data["rules"] == [] and data["next_allowed_at"] is None
    assert data["reasons"] == {"en": [], "zh-CN": []}
    assert data["profile"] == "cn" and data["timezones"] == ["Asia/Shanghai"]
    assert "cn.hours" in data["checked"]


def test_defer_exits_1_with_rules_reasons_and_next_instant(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("compliance", "check", _write(tmp_path, DEFER), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["decision"] == "defer"
    assert data["rules"] == ["regf.7after_conversation", "regf.hours"]
    assert data["next_allowed_at"] == "2026-03-09T08:00:00-04:00"
    assert data["reasons"]["en"][0].startswith("regf.7after_conversation: within 7 days after")
    assert data["reasons"]["zh-CN"][1].startswith("regf.hours：不在允许联系时段 08:00–21:00")
    assert [d["effect"] for d in data["details"]] == ["defer", "defer"]


def test_block_exits_1(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("compliance", "check", _write(tmp_path, BLOCK), "--json")
    data = json.loads(out)
    assert (code, data["decision"], data["rules"], data["next_allowed_at"]) == (
        1,
        "block",
        ["cn.dispute_hold"],
        None,
    )
    assert data["reasons"]["zh-CN"] == ["cn.dispute_hold：债务存在异议，处理完毕前暂停催收"]


def test_json_input_works_too(cli: Cli, tmp_path: Path) -> None:
    doc = {
        "profile": "us-ma",
        "debtor": {"timezone": "America/New_York", "validation_notice_sent_at": "2026-01-15T10:00:00-05:00"},
        "history": [{"channel": "call", "at": "2026-03-02T10:00:00-05:00", "outcome": "no_answer"}],
        "attempt": {"channel": "call", "at": "2026-03-05T10:00:00-05:00"},
    }
    code, out, _ = cli("compliance", "check", _write(tmp_path, json.dumps(doc), "check.json"), "--json")
    assert (code, json.loads(out)["decision"]) == (0, "allow")


def test_human_output_names_the_decision_in_the_chosen_language(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("compliance", "check", _write(tmp_path, DEFER))
    assert code == 1
    assert "DEFER" in out and "next allowed at 2026-03-09T08:00:00-04:00" in out
    assert "regf.hours" in out and "outside contact hours" in out and "不在允许联系时段" not in out
    code, out, _ = cli("--lang", "zh-CN", "compliance", "check", _write(tmp_path, DEFER))
    assert code == 1
    assert "推迟" in out and "最早可联系时间 2026-03-09T08:00:00-04:00" in out
    assert "regf.hours" in out and "不在允许联系时段" in out and "outside contact hours" not in out


def test_profile_option_overrides_the_document(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("compliance", "check", _write(tmp_path, ALLOW), "--profile", "cn-strict", "--json")
    data = json.loads(out)
    assert (code, data["decision"], data["rules"]) == (1, "defer", ["cn.hours"])
    assert data["next_allowed_at"] == "2026-03-11T09:00:00+08:00"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            ALLOW.replace('"2026-03-10T21:59:00+08:00"', '"2026-03-10T21:59:00"'),
            "check.yaml:3: field 'attempt.at': needs a UTC offset",
        ),
        (
            ALLOW.replace("channel: call", "channel: pigeon"),
            "check.yaml:3: field 'attempt.channel': unknown channel 'pigeon'",
        ),
        (
            ALLOW.replace("Asia/Shanghai", "Asia/Atlantis"),
            "check.yaml:2: field 'debtor.timezone': unknown time zone",
        ),
        (
            ALLOW.replace("profile: cn", "profile: nowhere"),
            "check.yaml:1: field 'profile': unknown compliance profile 'nowhere'",
        ),
        ("profile: cn\ndebtor: {}\n", "field 'attempt': is required"),
        (
            BLOCK.replace("disputed: true", "disputed: maybe"),
            "check.yaml:2: field 'debtor.disputed': must be true or false",
        ),
        (
            DEFER.replace("outcome: conversation", "outcome: chatted"),
            "check.yaml:4: field 'history[0].outcome': unknown outcome 'chatted'",
        ),
        ("profile: cn\nattempt: [1, 2\n", "check.yaml:3: invalid YAML"),
    ],
)
def test_bad_input_exits_2_naming_the_field(cli: Cli, tmp_path: Path, text: str, needle: str) -> None:
    code, out, err = cli("compliance", "check", _write(tmp_path, text), "--json")
    assert code == 2 and out == ""
    assert needle in " ".join(err.split()), err
    assert "Traceback" not in err


def test_missing_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("compliance", "check", str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err


def test_profiles_lists_every_shipped_profile(cli: Cli) -> None:
    code, out, _ = cli("compliance", "profiles", "--json")
    data = {p["name"]: p for p in json.loads(out)}
    assert code == 0
    assert {"cn", "us-reg-f", "us-ma", "cn-strict"} <= set(data)
    assert data["us-ma"]["extends"] == "us-reg-f"
    ids = [r["id"] for r in data["us-ma"]["rules"]]
    assert "regf.7in7" in ids and "ma.calls.2in7" in ids
    code, out, _ = cli("compliance", "profiles", "us-ma")
    assert code == 0 and "ma.calls.2in7" in out and "regf.7after_conversation" in out
