"""The shipped policies: they validate, and day-by-day episodes of literal loans give the expected steps.

Features come from the domain's reference definition (arrears.domain.account_features) over a real
loan and its events, as the reference engine computes them; what was sent becomes the history.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arrears.adapters.policy_file import load_policy
from arrears.domain.account_features import AccountEvent, account_features
from arrears.domain.ledger import compute_position
from arrears.domain.loans import Instalment, Loan, Payment
from arrears.domain.policy import Policy, decide
from tests.policy.conftest import ROOT, SHIPPED

DUE = date(2026, 3, 10)
US_EXAMPLE = ROOT / "policies" / "us-reg-f-example.yaml"


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return {name: load_policy(path) for name, path in SHIPPED.items()}


def episode(
    policy: Policy,
    loan: Loan,
    events: list[AccountEvent],
    account: str = "acc-7",
    product: str = "baitiao-30d",
    first_day: int = -5,
) -> list[tuple]:
    """(day from the due date, segment, kind, step id, channel) for every action from `first_day` to 65."""
    sent: set[str] = set()
    out = []
    for d in range(first_day, 66):
        position = compute_position(loan, DUE + timedelta(days=d))
        features = account_features(loan, position, events, product)
        treatment = decide(policy, account, features, sent)
        for a in treatment.actions:
            sent.add(a.step.id)
            out.append((d, treatment.segment, a.kind, a.step.id, a.step.channel))
    return out


def one_purchase(policy: Policy) -> Loan:
    """A 白条 30-day purchase of 800.00 due on 10 March, never paid."""
    return Loan("l1", (Instalment(1, DUE, 80000),), settings=policy.products["baitiao-30d"])


def test_both_validate(policies: dict[str, Policy]) -> None:
    assert {p.id for p in policies.values()} == {"jd-baitiao-11day@1", "segmented@1"}
    assert policies["segmented"].warnings() == [] and policies["jd-baitiao-11day"].warnings() == []


def test_every_template_exists_in_every_language(policies: dict[str, Policy]) -> None:
    for policy in policies.values():
        for template in policy.templates():
            for language in ("zh-CN", "zh-TW", "en"):
                assert (ROOT / "templates" / language / f"{template}.j2").is_file(), (language, template)


def lawyer_letters(actions: list[tuple]) -> list[int]:
    return [day for day, _, _, _, channel in actions if channel == "lawyer_letter"]


def test_an_accidental_late_payer_gets_the_lawyers_letter_on_day_11_under_the_seeds_policy(
    policies: dict[str, Policy],
) -> None:
    policy = policies["jd-baitiao-11day"]
    actions = episode(policy, one_purchase(policy), [AccountEvent("autodebit_failed", DUE)])
    assert lawyer_letters(actions) == [11]
    assert [(d, step) for d, _, _, step, _ in actions] == [
        (-3, "pre_due_sms"),
        (0, "due_today_push"),
        (1, "reminder_sms_d1"),
        (2, "reminder_push_d2"),
        (3, "robocall_d3"),
        (5, "reminder_email_d5"),
        (8, "strong_sms_d8"),
        (10, "legal_warning_sms_d10"),
        (11, "lawyer_letter_d11"),
        (11, "lawyer_letter_sms_d11"),
        (14, "agent_call_d14"),
        (21, "agent_call_d21"),
        (25, "bureau_notice_d25"),
        (25, "bureau_notice_sms_d25"),
        (35, "agent_call_d35"),
        (50, "agent_call_d50"),
        (61, "agency_d61"),
    ]


def test_an_accidental_late_payer_gets_no_lawyers_letter_before_m2_under_the_segmented_policy(
    policies: dict[str, Policy],
) -> None:
    policy = policies["segmented"]
    actions = episode(policy, one_purchase(policy), [AccountEvent("autodebit_failed", DUE)])
    assert lawyer_letters(actions) == [31]  # the first day of M2
    assert [(d, seg, step) for d, seg, _, step, _ in actions] == [
        (-3, "accidental", "pre_due_push"),
        (-1, "accidental", "pre_due_sms"),
        (0, "accidental", "due_today_push"),
        (1, "accidental", "reminder_push_d1"),
        (2, "accidental", "reminder_sms_d2"),
        (4, "accidental", "reminder_email_d4"),
        (7, "accidental", "reminder_sms_d7"),
        (10, "accidental", "robocall_d10"),
        (15, "accidental", "agent_call_d15"),
        (20, "accidental", "strong_sms"),
        (25, "accidental", "bureau_notice"),
        (25, "accidental", "bureau_notice_sms"),
        (28, "accidental", "agent_call_d28"),
        # past 30 days the early-warning score reaches medium: the middle ladder's letter is due that day
        (31, "standard", "lawyer_letter"),
        (40, "standard", "agent_call_d40"),
    ]


def test_whichever_arm_an_accidental_payer_is_in_no_lawyers_letter_before_m2(
    policies: dict[str, Policy],
) -> None:
    policy = policies["segmented"]
    for account in (f"acc-{i}" for i in range(12)):  # both arms appear among these
        actions = episode(policy, one_purchase(policy), [AccountEvent("autodebit_failed", DUE)], account)
        assert min(lawyer_letters(actions)) >= 31


def test_a_repeat_defaulter_is_escalated_fast(policies: dict[str, Policy]) -> None:
    policy = policies["segmented"]
    # the previous instalment was paid 50 days late in January
    loan = Loan(
        "l2",
        (Instalment(1, date(2025, 12, 1), 40000), Instalment(2, DUE, 40000)),
        payments=(Payment("p1", date(2026, 1, 20), 42000),),
        settings=policy.products["baitiao-30d"],
    )
    actions = episode(policy, loan, [])
    assert {seg for _, seg, _, _, _ in actions} == {"strategic"}
    assert [(d, kind, step) for d, _, kind, step, _ in actions] == [
        (-3, "step", "pre_due_sms"),
        (1, "step", "reminder_sms_d1"),
        (3, "step", "robocall_d3"),
        (5, "step", "strong_sms"),
        (7, "step", "legal_warning_sms"),
        (8, "step", "agent_call_d8"),
        (11, "step", "lawyer_letter"),
        (11, "step", "lawyer_letter_sms"),
        (14, "step", "agent_call_d14"),
        (21, "step", "agent_call_d21"),
        (25, "jump", "bureau_notice"),
        (25, "jump", "bureau_notice_sms"),
        (31, "jump", "agency_placement"),
        (31, "jump", "freeze_line"),
    ]


def test_hardship_gets_plan_offers_and_no_legal_steps(policies: dict[str, Policy]) -> None:
    policy = policies["segmented"]
    actions = episode(policy, one_purchase(policy), [AccountEvent("hardship_flag", DUE - timedelta(days=1))])
    assert [(d, step) for d, seg, _, step, _ in actions if seg == "hardship"] == [
        (1, "plan_offer_sms_d1"),
        (2, "plan_offer_email_d2"),
        (5, "plan_offer_push_d5"),
        (7, "consultation_call_d7"),
        (15, "plan_offer_sms_d15"),
        (25, "bureau_notice"),
        (25, "bureau_notice_sms"),
        (30, "consultation_call_d30"),
    ]


def test_an_identity_dispute_stops_every_action(policies: dict[str, Policy]) -> None:
    policy = policies["segmented"]
    actions = episode(
        policy, one_purchase(policy), [AccountEvent("identity_dispute", DUE + timedelta(days=4))]
    )
    assert max(d for d, *_ in actions) == 2  # nothing after the dispute on day 4


# --- the US example (profile us-reg-f) ---------------------------------------------------------------


def us_loan(policy: Policy) -> Loan:
    """A personal-loan instalment of $500.00 + $25.00 interest due on 10 March, never paid."""
    return Loan("l9", (Instalment(1, DUE, 50000, 2500),), settings=policy.products["us-personal-loan"])


def test_the_us_example_validates_with_english_templates() -> None:
    policy = load_policy(US_EXAMPLE)
    assert policy.id == "us-reg-f-example@1"
    assert (policy.compliance_profile, policy.currency) == ("us-reg-f", "USD")
    assert policy.warnings() == []
    assert policy.products["us-personal-loan"].currency == "USD"
    for template in policy.templates():
        assert (ROOT / "templates" / "en" / f"{template}.j2").is_file(), template


def test_the_us_example_sends_the_validation_notice_first_and_calls_well_inside_7_in_7() -> None:
    policy = load_policy(US_EXAMPLE)
    actions = episode(policy, us_loan(policy), [], product="us-personal-loan")
    assert [(d, step) for d, _, _, step, _ in actions] == [
        (1, "validation_notice_letter"),
        (1, "validation_notice_email"),
        (3, "reminder_email_d3"),
        (5, "reminder_sms_d5"),
        (7, "robocall_d7"),
        (10, "agent_call_d10"),
        (12, "reminder_sms_d12"),
        (14, "robocall_d14"),
        (18, "strong_sms_d18"),
        (21, "agent_call_d21"),
        (28, "agent_call_d28"),
        (30, "bureau_notice"),
        (45, "agent_call_d45"),
        (60, "lawyer_letter"),
    ]
    calls = [d for d, _, _, _, channel in actions if channel in ("robocall", "agent_call")]
    assert max(sum(1 for c in calls if start <= c < start + 7) for start in range(66)) <= 2  # Reg F: 7
    (letter,) = [s for s in policy.ladders["us_standard"].steps if s.channel == "lawyer_letter"]
    assert letter.requires == ("legal_review",)


def test_an_account_that_enters_the_us_ladder_late_gets_the_validation_notice_first() -> None:
    policy = load_policy(US_EXAMPLE)
    actions = episode(policy, us_loan(policy), [], product="us-personal-loan", first_day=9)
    assert [(d, kind, step) for d, _, kind, step, _ in actions][:3] == [
        (9, "catch_up", "validation_notice_letter"),
        (9, "catch_up", "validation_notice_email"),
        (10, "step", "agent_call_d10"),
    ]
