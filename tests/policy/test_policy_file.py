"""Loading policy files: a good one loads; each kind of mistake is an error naming file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from arrears.adapters.policy_file import load_policy
from arrears.domain.errors import InputError
from arrears.domain.policy import Policy
from tests.policy.conftest import SMALL


def test_the_small_policy_loads(small: Policy) -> None:
    assert small.id == "small@3"
    assert [s.name for s in small.segments] == ["paused", "risky", "rest"]
    assert [s.id for s in small.ladders["soft"].steps] == ["pre_due", "reminder", "strong", "call"]
    assert small.ladders["firm"].steps[1].requires == ("legal_review",)
    assert small.early_warning.rows[0].label == "max_dpd_12m > 30"  # the condition is the default label
    assert small.experiments[0].arms[0].weight_bp == 5000
    assert small.compliance_profile == "cn" and small.currency == "CNY"
    assert len(small.content_hash) == 64
    assert small.templates() == [
        "agency/placement",
        "agent/call_script",
        "letter/lawyer_letter",
        "push/pre_due",
        "sms/reminder",
        "sms/strong",
    ]


def test_content_hash_ignores_comments_and_key_order(write_policy: Callable[..., Path]) -> None:
    a = load_policy(write_policy(SMALL, "a.yaml"))
    reordered = SMALL.replace("name: small\nversion: 3\n", "version: 3\n# a comment\nname: small\n")
    b = load_policy(write_policy(reordered, "b.yaml"))
    c = load_policy(write_policy(SMALL.replace("points: 40", "points: 41"), "c.yaml"))
    assert a.content_hash == b.content_hash != c.content_hash


def _error(write_policy: Callable[..., Path], text: str) -> InputError:
    path = write_policy(text)
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert caught.value.file == str(path)
    return caught.value


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        # a misspelt feature in a segment condition
        (
            "broken_promises_90d >= 2 or",
            "broken_promise_90d >= 2 or",
            8,
            "segments[1].when",
            "unknown feature 'broken_promise_90d' (did you mean 'broken_promises_90d'?) at column 1",
        ),
        # an offset that is a string, not a whole number of days
        (
            "{id: strong, offset: 7,",
            "{id: strong, offset: '7',",
            21,
            "ladders.soft[2].offset",
            "must be a whole number, got '7'",
        ),
        (
            "{id: strong, offset: 7,",
            "{id: strong, offset: 7.5,",
            21,
            "ladders.soft[2].offset",
            "must be a whole number, got 7.5",
        ),
        # a segment naming a ladder that does not exist
        (
            "    ladder: soft\n",
            "    ladder: sofft\n",
            11,
            "segments[2].ladder",
            "unknown ladder 'sofft' (did you mean 'soft'?)",
        ),
        # two steps with one id in a ladder
        (
            "{id: strong, offset: 7,",
            "{id: reminder, offset: 7,",
            21,
            "ladders.soft[2].id",
            "duplicate step id 'reminder'",
        ),
        # a channel the product does not have
        (
            "channel: sms, template: sms/strong",
            "channel: fax, template: sms/strong",
            21,
            "ladders.soft[2].channel",
            "unknown channel 'fax'",
        ),
        ("tone: firm, catch_up", "tone: angry, catch_up", 21, "ladders.soft[2].tone", "unknown tone 'angry'"),
        (
            "template: sms/strong,",
            "template: strong,",
            21,
            "ladders.soft[2].template",
            "template must look like 'sms/reminder'",
        ),
        # a lawyer's letter must pass legal review
        (
            ", requires: [legal_review]}",
            "}",
            25,
            "ladders.firm[1].requires",
            "a lawyer_letter step must require legal_review",
        ),
        (
            "catch_up: true}",
            "catchup: true}",
            21,
            "ladders.soft[2].catchup",
            "unknown key 'catchup' (did you mean 'catch_up'?)",
        ),
        ("    ladder: soft\n", "", 10, "segments[2].ladder", "needs a ladder (or pause: true)"),
        (
            "    pause: true\n",
            "    pause: true\n    ladder: soft\n",
            7,
            "segments[0].ladder",
            "a paused segment takes no ladder",
        ),
        (
            "  - name: rest\n",
            "  - name: rest\n    when: dpd > 0\n",
            11,
            "segments[2].when",
            "the last segment must have no condition",
        ),
        (
            "    when: identity_dispute\n",
            "",
            4,
            "segments[0].when",
            "has no condition, so the segments after it can never match",
        ),
        ("  - name: rest\n", "  - name: risky\n", 10, "segments[2].name", "duplicate segment 'risky'"),
        (
            '{when: "max_dpd_12m > 30",',
            '{when: "ews_score > 30",',
            14,
            "early_warning.points[0].when",
            "the points table cannot read ews_score",
        ),
        (
            "levels: {medium: 30, high: 60}",
            "levels: {medium: 70, high: 60}",
            16,
            "early_warning.levels",
            "the medium threshold must not exceed",
        ),
        (
            "weight: 50, ladder: firm",
            "weight: 40, ladder: firm",
            34,
            "experiments[0].arms",
            "arm weights must add up to 100 (they add up to 90)",
        ),
        (
            "weight: 50, ladder: firm",
            "weight: 50.001, ladder: firm",
            36,
            "experiments[0].arms[1].weight",
            "at most 2 decimals",
        ),
        (
            "weight: 50, ladder: firm",
            "weight: 50, ladder: harsh",
            36,
            "experiments[0].arms[1].ladder",
            "unknown ladder 'harsh'",
        ),
        (
            "    segment: rest\n",
            "    segment: paused\n",
            33,
            "experiments[0].segment",
            "segment 'paused' is paused",
        ),
        (
            "    segments: [risky]\n",
            "    segments: [risk]\n",
            29,
            "jumps[0].segments[0]",
            "unknown segment 'risk' (did you mean 'risky'?)",
        ),
        (
            "  - id: agency\n",
            "  - id: reminder\n",
            27,
            "jumps[0].id",
            "jump id 'reminder' is also a ladder step id",
        ),
        (
            'when: "dpd >= 31"',
            "when: \"dpd >= 31 and bucket == 'M9'\"",
            28,
            "jumps[0].when",
            "'M9' is not a value of bucket",
        ),
        ("name: small\n", "name: Small Policy\n", 1, "name", "'Small Policy' is not a valid name"),
        ("version: 3\n", "", None, "version", "is required"),
    ],
)
def test_errors_name_file_line_and_field(
    write_policy: Callable[..., Path], old: str, new: str, line: int | None, field: str, message: str
) -> None:
    assert old in SMALL
    err = _error(write_policy, SMALL.replace(old, new, 1))
    assert (err.line, err.field) == (line, field)
    assert message in err.message


def test_the_error_prints_as_one_line_with_file_and_line(write_policy: Callable[..., Path]) -> None:
    err = _error(write_policy, SMALL.replace("broken_promises_90d >= 2 or", "broken_promise_90d >= 2 or"))
    assert str(err) == (
        f"{err.file}:8: field 'segments[1].when': unknown feature 'broken_promise_90d' "
        "(did you mean 'broken_promises_90d'?) at column 1 of `broken_promise_90d >= 2 or ews_level == 'high'`"
    )


def test_syntax_errors_and_wrong_shapes(write_policy: Callable[..., Path]) -> None:
    err = _error(write_policy, SMALL.replace("  soft:\n", "  soft\n"))
    assert err.line == 19 and "invalid YAML" in err.message  # where the parser noticed
    err = _error(write_policy, "- just\n- a list\n")
    assert "must be a mapping" in err.message
    err = _error(
        write_policy, SMALL.replace("segments:\n  - name: paused", "segments: paused\nx:\n  - name: paused")
    )
    assert (err.line, err.field) == (3, "segments") and "must be a list" in err.message


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")


def test_products_reuse_the_ledger_settings_parser(write_policy: Callable[..., Path]) -> None:
    text = SMALL.replace(
        "segments:\n",
        "products:\n  baitiao-30d: {grace_days: 5}\n  own-loan:\n    late_fee: {daily_rate: '0.0007'}\n"
        "    buckets: [{name: A, min: 0, max: 0}, {name: B, min: 1}]\nsegments:\n",
        1,
    )
    policy = load_policy(write_policy(text))
    assert policy.products["baitiao-30d"].grace_days == 5
    assert policy.products["baitiao-30d"].late_fee.cap is not None  # the catalogue's cap is kept
    assert str(policy.products["own-loan"].late_fee.daily_rate) == "0.0007"
    assert policy.products["own-loan"].buckets.names() == ["A", "B"]
    err = _error(write_policy, text.replace("{grace_days: 5}", "{grace_days: -1}"))
    assert (err.line, err.field) == (4, "products.baitiao-30d.grace_days")
    # the policy's own bucket names become known values of `bucket`
    load_policy(write_policy(text.replace("dpd >= 31", "bucket == 'B'")))
