"""decide() on literal feature rows under the small policy of conftest.py."""

from __future__ import annotations

import duckdb
import pytest

from arrears.domain.features import FeatureValue, parse_feature_row
from arrears.domain.policy import Policy, arm_bucket, arm_bucket_sql, decide

# acc-1 hashes to 3087 in soft-test (< 5000: champion, the soft ladder); acc-2 to 9376 (challenger, firm)
CHAMPION, CHALLENGER = "acc-1", "acc-2"


def row(**values: object) -> dict[str, FeatureValue]:
    return parse_feature_row(values)


def actions(
    policy: Policy, account: str, features: dict[str, FeatureValue], history: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    return [(a.kind, a.step.id) for a in decide(policy, account, features, history).actions]


def test_arm_bucket_is_md5_of_experiment_and_account_in_python_and_sql() -> None:
    assert arm_bucket("soft-test", CHAMPION) == 3087
    assert arm_bucket("soft-test", CHALLENGER) == 9376
    sql = arm_bucket_sql("soft-test", "'acc-1'")
    assert duckdb.sql(f"SELECT {sql}").fetchall() == [(3087,)]


def test_the_first_matching_segment_wins_and_explains_why(small: Policy) -> None:
    t = decide(small, CHAMPION, row(broken_promises_90d=2, identity_dispute=True, day_offset=1, dpd=1))
    assert (t.segment, t.paused, t.ladder, t.actions) == ("paused", True, "", ())
    assert [(c.name, c.held) for c in t.segment_checks] == [("paused", True)]

    t = decide(small, CHAMPION, row(broken_promises_90d=2, day_offset=1, dpd=1))
    assert (t.segment, t.ladder, t.experiment, t.arm) == ("risky", "firm", "", "")
    assert [(c.name, c.held) for c in t.segment_checks] == [("paused", False), ("risky", True)]
    assert t.segment_checks[1].parts == (("broken_promises_90d >= 2", True), ("ews_level == 'high'", False))
    assert [(a.kind, a.step.id, a.step.tone) for a in t.actions] == [("step", "reminder", "firm")]


def test_early_warning_points_and_levels(small: Policy) -> None:
    t = decide(small, CHAMPION, row(max_dpd_12m=31))
    assert (t.ews_score, t.ews_level, t.segment) == (40, "medium", "rest")
    t = decide(small, CHAMPION, row(max_dpd_12m=31, broken_promises_90d=1))
    assert (t.ews_score, t.ews_level, t.segment) == (65, "high", "risky")
    assert [(line.label, line.points, line.check.held) for line in t.ews_lines] == [
        ("max_dpd_12m > 30", 40, True),
        ("broke a promise", 25, True),
    ]
    assert t.features["ews_score"] == 65 and t.features["ews_level"] == "high"


def test_experiment_arms_choose_the_ladder(small: Policy) -> None:
    one = decide(small, CHAMPION, row(day_offset=1, dpd=1))
    two = decide(small, CHALLENGER, row(day_offset=1, dpd=1))
    assert (one.experiment, one.arm, one.ladder) == ("soft-test", "champion", "soft")
    assert (two.experiment, two.arm, two.ladder) == ("soft-test", "challenger", "firm")
    assert [a.step.tone for a in one.actions] == ["regular"]
    assert [a.step.tone for a in two.actions] == ["firm"]


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-4, []), (-3, [("step", "pre_due")]), (0, []), (1, [("step", "reminder")]), (7, [("step", "strong")])],
)
def test_steps_fall_on_their_offset_from_the_oldest_unpaid_due_date(
    small: Policy, offset: int, expected: list
) -> None:
    assert actions(small, CHAMPION, row(day_offset=offset, dpd=max(0, offset))) == expected


SENT_BY_DAY_9 = ("pre_due", "reminder", "strong")


def test_a_step_condition_must_hold(small: Policy) -> None:
    assert actions(small, CHAMPION, row(day_offset=10, dpd=10, overdue_total="49.99"), SENT_BY_DAY_9) == []
    assert actions(small, CHAMPION, row(day_offset=10, dpd=10, overdue_total="50.00"), SENT_BY_DAY_9) == [
        ("step", "call")
    ]


def test_nothing_is_sent_twice_in_an_episode(small: Policy) -> None:
    assert actions(small, CHAMPION, row(day_offset=1, dpd=1), history=("reminder",)) == []


def test_only_catch_up_steps_are_sent_late_and_only_the_latest(small: Policy) -> None:
    # the account jumped from day 5 to day 9 (a reversed payment): 'strong' (day 7) is sent late, the
    # day-1 reminder (no catch_up) is not
    features = row(day_offset=9, dpd=9)
    assert actions(small, CHAMPION, features, history=("pre_due",)) == [("catch_up", "strong")]
    assert actions(small, CHAMPION, features, history=("pre_due", "strong")) == []
    # two missed catch-up steps: only the latest whose condition holds is sent
    assert actions(small, CHAMPION, row(day_offset=12, dpd=12, overdue_total="100.00")) == [
        ("catch_up", "call")
    ]
    assert actions(small, CHAMPION, row(day_offset=12, dpd=12, overdue_total="10.00")) == [
        ("catch_up", "strong")
    ]


def test_a_jump_fires_once_when_its_condition_first_holds(small: Policy) -> None:
    features = row(broken_promises_90d=2, day_offset=40, dpd=40)
    assert actions(small, CHAMPION, features) == [("jump", "agency")]
    assert actions(small, CHAMPION, features, history=("agency",)) == []
    # only for the segments it names
    assert actions(small, CHAMPION, row(day_offset=40, dpd=40), SENT_BY_DAY_9) == []


def test_treatment_as_json(small: Policy) -> None:
    t = decide(
        small, CHAMPION, row(day_offset=10, dpd=10, overdue_total="1234.50", on_time_ratio=0.5), SENT_BY_DAY_9
    )
    out = t.to_dict()
    assert out["policy"] == "small@3" and out["segment"] == "rest" and out["arm"] == "champion"
    assert out["day_offset"] == 10
    assert out["features"]["overdue_total"] == "1234.50"
    assert out["features"]["on_time_ratio"] == "0.5000"
    assert out["actions"] == [
        {
            "kind": "step",
            "ladder": "soft",
            "step_id": "call",
            "offset": 10,
            "channel": "agent_call",
            "template": "agent/call_script",
            "tone": "regular",
            "requires": [],
            "catch_up": True,
            "why": {
                "name": "call",
                "condition": "overdue_total >= 50",
                "held": True,
                "parts": [{"condition": "overdue_total >= 50", "held": True}],
            },
        }
    ]
    assert out["ews"] == {
        "score": 0,
        "level": "low",
        "lines": [
            {
                "label": "max_dpd_12m > 30",
                "points": 40,
                "name": "max_dpd_12m > 30",
                "condition": "max_dpd_12m > 30",
                "held": False,
                "parts": [{"condition": "max_dpd_12m > 30", "held": False}],
            },
            {
                "label": "broke a promise",
                "points": 25,
                "name": "broke a promise",
                "condition": "broken_promises_90d >= 1",
                "held": False,
                "parts": [{"condition": "broken_promises_90d >= 1", "held": False}],
            },
        ],
    }


def test_experiment_split_is_stable_and_close_to_the_weights() -> None:
    from arrears.domain.policy import Arm, Experiment, assign_arm

    exp = Experiment("split", "rest", (Arm("a", 8000, "x"), Arm("b", 1500, "y"), Arm("c", 500, "z")))
    ids = [f"loan-{i}" for i in range(20_000)]
    first = [assign_arm(exp, i).name for i in ids]
    assert first == [assign_arm(exp, i).name for i in ids]  # stable
    shares = {name: first.count(name) / len(ids) for name in "abc"}
    assert abs(shares["a"] - 0.80) < 0.015
    assert abs(shares["b"] - 0.15) < 0.01
    assert abs(shares["c"] - 0.05) < 0.006
