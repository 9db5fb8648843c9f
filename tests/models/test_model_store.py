"""The model registry, the daily scores and the lender's features in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from arrears.domain.model_records import AccountScore, LenderFeatureValue, ModelRecord
from arrears.services.unit_of_work import UnitOfWork


def record(model_id: str, target: str = "self_cure_30d") -> ModelRecord:
    return ModelRecord(
        id=model_id,
        target=target,
        family="scorecard",
        content_hash="ab" * 32,
        path=f"models/{model_id}.json",
        created_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        trained_from=date(2026, 3, 2),
        trained_to=date(2026, 6, 1),
        active=False,
        metrics={"test": {"auc": 0.8}},
        document='{"format": "arrears-model/1"}',
    )


def test_the_registry_keeps_one_active_model_per_target(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        for model_id in ("self_cure_30d-scorecard-aaa", "self_cure_30d-gbm-bbb"):
            uow.models.add(record(model_id))
        uow.models.add(record("roll_30d-gbm-ccc", "roll_30d"))
        uow.models.add(record("roll_30d-gbm-ccc", "roll_30d"))  # the same content twice: one row
        uow.models.activate("self_cure_30d-scorecard-aaa", "self_cure_30d")
        uow.models.activate("roll_30d-gbm-ccc", "roll_30d")
        uow.models.activate("self_cure_30d-gbm-bbb", "self_cure_30d")
        uow.commit()
    with UnitOfWork(store_url) as uow:
        assert [r.id for r in uow.models.active()] == ["roll_30d-gbm-ccc", "self_cure_30d-gbm-bbb"]
        assert [r.id for r in uow.models.find("self_cure_30d-")] != []
        assert len(uow.models.all()) == 3
        got = uow.models.get("roll_30d-gbm-ccc")
        assert got is not None and got.metrics == {"test": {"auc": 0.8}} and got.created_at.tzinfo is not None
        assert uow.models.find("roll_30d_") == []  # no wildcard


def test_scores_of_a_day_replace_a_rerun_and_the_latest_day_is_read(store_url: str) -> None:
    with UnitOfWork(store_url) as uow:
        day1, day2 = date(2026, 6, 1), date(2026, 6, 2)
        uow.models.write_scores(day1, [AccountScore("L1", day1, "self_cure_30d", "m", 4000, "dpd")])
        uow.models.write_scores(day2, [AccountScore("L1", day2, "self_cure_30d", "m", 5000, "dpd,late_fee")])
        uow.models.write_scores(day2, [AccountScore("L1", day2, "self_cure_30d", "m", 5100, "dpd")])
        uow.commit()
    with UnitOfWork(store_url) as uow:
        assert [s.score_bp for s in uow.models.scores_of("L1")] == [5100]
        assert [s.score_bp for s in uow.models.scores_of("L1", date(2026, 6, 1))] == [4000]
        assert uow.models.scores_of("L1", date(2026, 5, 31)) == []


def test_lender_features_hold_from_their_date(store_url: str) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    with UnitOfWork(store_url) as uow:
        uow.models.add_lender_features(
            [
                LenderFeatureValue("L1", "bureau_score", date(2026, 2, 1), "int", 700),
                LenderFeatureValue("L1", "bureau_score", date(2026, 4, 1), "int", 640),
                LenderFeatureValue("L2", "salary", date(2026, 2, 1), "money", 850000),
            ],
            "f.csv",
            at,
        )
        uow.models.add_lender_features(
            [LenderFeatureValue("L1", "bureau_score", date(2026, 4, 1), "int", 650)], "g.csv", at
        )
        uow.commit()
    with UnitOfWork(store_url) as uow:
        march = {(v.loan_id, v.name): v.value for v in uow.models.lender_features(date(2026, 3, 31))}
        april = {(v.loan_id, v.name): v.value for v in uow.models.lender_features(date(2026, 4, 1))}
        assert march == {("L1", "bureau_score"): 700, ("L2", "salary"): 850000}
        assert april == {("L1", "bureau_score"): 650, ("L2", "salary"): 850000}
        assert uow.models.lender_features(date(2026, 1, 31)) == []
        assert uow.models.lender_feature_types() == {"bureau_score": "int", "salary": "money"}
        assert uow.models.known_through() is None
        assert uow.models.interventions(date(2026, 1, 1), date(2026, 12, 31)).num_rows == 0
