"""The borrower's record across their loans (a model feature), and the calibration fitted on the
validation days: Platt or isotonic, chosen by how each does forward in time."""

from __future__ import annotations

import numpy as np

from arrears.domain.models import borrower_features, calibration_error
from arrears.services.model_training import calibrate, choose_calibration


def test_borrower_features_gather_every_loan_of_the_borrower() -> None:
    # borrower 7: three loans, two past due; borrower 3: one loan, current
    got = borrower_features(
        borrower=np.array([7, 3, 7, 7]),
        dpd=np.array([12, 0, 0, 40]),
        on_time_ratio=np.array([9000, 10000, 6000, 10000]),
        prior_max_dpd_12m=np.array([0, 0, 25, 4]),
    )
    assert got["borrower_loans"].tolist() == [3, 1, 3, 3]
    assert got["borrower_loans_past_due"].tolist() == [2, 0, 2, 2]
    assert got["borrower_min_on_time_ratio"].tolist() == [6000, 10000, 6000, 6000]
    assert got["borrower_max_prior_dpd_12m"].tolist() == [25, 0, 25, 25]


def _days(n: int, per_day: int) -> np.ndarray:
    return np.repeat(np.arange(n), per_day)


def test_a_step_shaped_truth_chooses_isotonic_and_is_calibrated_by_decile() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0, 1, 6000)
    truth = np.where(raw < 0.7, 0.05, 0.6)  # a jump no logistic curve follows
    labels = rng.uniform(0, 1, 6000) < truth
    days = _days(20, 300)
    assert choose_calibration(raw, labels, days) == "isotonic"
    table, method = calibrate(raw, labels, days, np.linspace(0, 1, 501), logit=False)
    assert method == "isotonic"
    held_raw = rng.uniform(0, 1, 60_000)
    held = rng.uniform(0, 1, 60_000) < np.where(held_raw < 0.7, 0.05, 0.6)
    assert calibration_error(held, table.of_many(held_raw) / 10_000) <= 0.03
    platt, _ = calibrate(raw, labels, days, np.linspace(0, 1, 501), logit=False, method="platt")
    assert calibration_error(held, platt.of_many(held_raw) / 10_000) > 0.05


def test_a_logistic_truth_keeps_platt_and_a_falling_score_is_read_the_right_way_round() -> None:
    rng = np.random.default_rng(4)
    points = rng.uniform(400, 700, 6000)  # scorecard points: more points, less likely the event
    truth = 1 / (1 + np.exp((points - 500) / 40))
    labels = rng.uniform(0, 1, 6000) < truth
    days = _days(20, 300)
    for method in ("platt", "isotonic"):
        table, used = calibrate(
            points, labels, days, np.arange(400, 701), logit=False, rising=False, method=method
        )
        assert used == method
        p = table.of_many(np.array([420.0, 500.0, 680.0]))
        assert p[0] > p[1] > p[2]
    assert choose_calibration(points, labels, days, rising=False) == "platt"
