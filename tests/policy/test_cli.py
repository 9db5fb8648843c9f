"""`arrears policy ...` through the real entry point: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.policy.conftest import SHIPPED, SMALL

Cli = Callable[..., tuple[int, str, str]]

FEATURES = """\
account_id: acc-42
sent: [pre_due_sms, due_today_push, reminder_sms_d1, reminder_push_d2, robocall_d3, reminder_email_d5]
features:
  dpd: 11
  day_offset: 11
  overdue_total: "812.40"
  autodebit_failed: true
  on_time_ratio: 0.95
"""


def test_validate_the_shipped_policies(cli: Cli) -> None:
    code, out, err = cli("policy", "validate", *map(str, SHIPPED.values()))
    assert (code, err) == (0, "")
    assert "jd-baitiao-11day@1" in out and "segmented@1" in out


def test_validate_json_summary(cli: Cli) -> None:
    code, out, _ = cli("policy", "validate", str(SHIPPED["segmented"]), "--json")
    assert code == 0
    [summary] = json.loads(out)
    assert summary["id"] == "segmented@1" and summary["ok"] is True
    assert [s["name"] for s in summary["segments"]] == [
        "identity_dispute",
        "dispute_open",
        "hardship",
        "strategic",
        "accidental",
        "standard",
    ]
    assert summary["experiments"][0]["arms"] == [
        {"name": "champion", "weight": 80.0, "ladder": "gentle"},
        {"name": "challenger", "weight": 20.0, "ladder": "gentle_self_serve"},
    ]
    assert len(summary["content_hash"]) == 64


def test_validate_a_bad_file_exits_2_with_file_and_line(cli: Cli, write_policy: Callable[..., Path]) -> None:
    bad = write_policy(
        SMALL.replace("channel: sms, template: sms/strong", "channel: fax, template: sms/strong")
    )
    code, out, err = cli("policy", "validate", str(SHIPPED["segmented"]), str(bad))
    assert code == 2
    assert "segmented@1" in out  # the good file is still reported
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}:21: field 'ladders.soft[2].channel': unknown channel 'fax'" in err


def test_validate_json_reports_the_error(cli: Cli, write_policy: Callable[..., Path]) -> None:
    bad = write_policy(SMALL.replace("    ladder: soft\n", "    ladder: sofft\n"))
    code, out, _ = cli("policy", "validate", str(bad), "--json")
    assert code == 2
    assert json.loads(out) == [
        {
            "file": str(bad),
            "ok": False,
            "error": {
                "file": str(bad),
                "line": 11,
                "field": "segments[2].ladder",
                "message": "unknown ladder 'sofft' (did you mean 'soft'?)",
            },
        }
    ]


def test_explain_json(cli: Cli, write_policy: Callable[..., Path]) -> None:
    features = write_policy(FEATURES, "features.yaml")
    code, out, _ = cli(
        "policy", "explain", str(SHIPPED["jd-baitiao-11day"]), "--features", str(features), "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert (result["account_id"], result["segment"], result["day_offset"]) == ("acc-42", "everyone", 11)
    assert [(a["step_id"], a["channel"], a["requires"]) for a in result["actions"]] == [
        ("lawyer_letter_d11", "lawyer_letter", ["legal_review"]),
        ("lawyer_letter_sms_d11", "sms", []),
    ]
    assert result["features"]["overdue_total"] == "812.40"


def test_explain_for_people(cli: Cli, write_policy: Callable[..., Path]) -> None:
    features = write_policy(FEATURES, "features.yaml")
    code, out, _ = cli(
        "policy", "explain", str(SHIPPED["segmented"]), "--features", str(features), "--account", "x"
    )
    assert code == 0
    assert "segment accidental" in out and "✓ accidental" in out and "due today: nothing" in out


def test_explain_bad_features_name_the_line(cli: Cli, write_policy: Callable[..., Path]) -> None:
    features = write_policy(FEATURES.replace("  dpd: 11", "  dpd_: 11"), "features.yaml")
    code, _, err = cli("policy", "explain", str(SHIPPED["segmented"]), "--features", str(features))
    assert code == 2
    assert f"{features}:4: field 'features.dpd_': unknown feature 'dpd_' (did you mean 'dpd'?)" in err
    features = write_policy(FEATURES.replace("  dpd: 11", "  ews_score: 80"), "features.yaml")
    code, _, err = cli("policy", "explain", str(SHIPPED["segmented"]), "--features", str(features))
    assert code == 2 and "ews_score is computed by the policy's points table" in err


def test_features_lists_the_registry(cli: Cli) -> None:
    code, out, _ = cli("policy", "features", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["days_since_last_payment"]["default"] == 9999
    assert rows["on_time_ratio"]["default"] == "1.0000" and rows["on_time_ratio"]["type"] == "ratio"
    assert rows["overdue_total"]["default"] == "0.00"


def test_sql_prints_the_engine_queries(cli: Cli) -> None:
    code, out, _ = cli(
        "policy", "sql", str(SHIPPED["segmented"]), "--query", "assignment", "--dialect", "spark"
    )
    assert code == 0 and "`segment`" in out and "conv(" in out
    code, _, err = cli("policy", "sql", str(SHIPPED["segmented"]), "--dialect", "oracle")
    assert code == 2 and "--dialect must be one of duckdb, spark" in err
