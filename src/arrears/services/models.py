"""Risk-model use cases: train (and record) a model, list them, activate one, explain an account's score,
monitor a model's stability (PSI), and hand the daily run its active models.

A model is a JSON document (arrears.adapters.model_files writes it as a file); its id is
`<target>-<family>-<first 12 hex of the file's SHA-256>`, and the store records the file's path, its hash,
the training metadata and the document itself (so a server without the file can still score).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.errors import InputError
from arrears.domain.features import FeatureValue
from arrears.domain.model_records import AccountScore, ModelRecord
from arrears.domain.models import (
    BORROWER_FEATURES,
    PSI_ALERT,
    TARGETS,
    CalibrationTable,
    Characteristic,
    Scorecard,
    ScoringModel,
    feature_number,
    in_population,
    psi_from_shares,
    target,
)
from arrears.engine.model_scores import (
    LENDER_TABLE,
    explain_row,
    model_columns,
    needs_borrower_features,
    probabilities_bp,
    score_account,
)
from arrears.services import model_training
from arrears.services.model_data import build_dataset, features_on, observation_days
from arrears.services.unit_of_work import UnitOfWork

FORMAT = "arrears-model/1"


# ------------------------------------------------------------------------------------------ documents
def document_of(model: ScoringModel, info: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The model file's content (everything but the id, which is derived from the file's hash)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "target": model.target,
        "family": model.family,
        "features": list(model.features),
        **meta,
        **info,
    }
    if model.scorecard is not None:
        doc["scorecard"] = {
            "characteristics": [
                {"feature": c.feature, "splits": list(c.splits), "points": list(c.points)}
                for c in model.scorecard.characteristics
            ],
            "calibration": _calibration_doc(model.scorecard.calibration),
        }
    if model.gbm_text is not None and model.calibration is not None:
        doc["gbm"] = {"model": model.gbm_text, "calibration": _calibration_doc(model.calibration)}
    return doc


def _calibration_doc(table: CalibrationTable) -> dict[str, Any]:
    return {
        "thresholds": [None if math.isinf(t) else t for t in table.thresholds],
        "probabilities_bp": list(table.probabilities_bp),
    }


def _calibration(doc: dict[str, Any]) -> CalibrationTable:
    return CalibrationTable(
        tuple(-math.inf if t is None else float(t) for t in doc["thresholds"]),
        tuple(int(p) for p in doc["probabilities_bp"]),
    )


def encode(doc: dict[str, Any]) -> bytes:
    """The file's bytes: canonical JSON (sorted keys), so the same model has the same hash."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode()


def model_id_for(doc: dict[str, Any], content: bytes) -> str:
    return f"{doc['target']}-{doc['family']}-{hashlib.sha256(content).hexdigest()[:12]}"


def scoring_model(model_id: str, doc: dict[str, Any]) -> ScoringModel:
    """The model the engines evaluate, from its document."""
    if doc.get("format") != FORMAT:
        raise InputError(f"not an arrears model file (format {doc.get('format')!r})", field="format")
    features = tuple(doc["features"])
    if doc["family"] == "scorecard":
        card = doc["scorecard"]
        characteristics = tuple(
            Characteristic(
                c["feature"], tuple(float(s) for s in c["splits"]), tuple(int(p) for p in c["points"])
            )
            for c in card["characteristics"]
        )
        return ScoringModel(
            model_id,
            doc["target"],
            "scorecard",
            features,
            scorecard=Scorecard(characteristics, _calibration(card["calibration"])),
        )
    gbm = doc["gbm"]
    return ScoringModel(
        model_id,
        doc["target"],
        "gbm",
        features,
        gbm_text=gbm["model"],
        calibration=_calibration(gbm["calibration"]),
    )


# ------------------------------------------------------------------------------------------ training
@dataclass
class Trained:
    record: ModelRecord
    document: dict[str, Any]


def train_model(
    url: str | None,
    target_name: str,
    start: date,
    end: date,
    family: str,
    save: Callable[[str, bytes], str],
    *,
    every: int | None = None,
    activate: bool = True,
    calibration: str = "auto",
    progress: Callable[[date], None] | None = None,
) -> Trained:
    """Build the data from the store, train, write the file (`save(model_id, bytes) -> path`) and record it
    (the target's active model unless `activate` is false)."""
    t = target(target_name)
    step = every or 1
    days = observation_days(start, end, step)
    with UnitOfWork(url) as uow:
        known = uow.models.known_through()
        if known is None:
            raise InputError("the store has no daily run yet: nothing to learn from", field="--from")
        data = build_dataset(uow, t.name, days, known, progress=progress)
    model, info = model_training.train(data, family, t.name, "pending", calibration)
    meta = {
        "trained_from": start.isoformat(),
        "trained_to": end.isoformat(),
        "every_days": step,
        "observations": len(data),
        "events": int(data.labels.sum()),
        "skipped_days": [d.isoformat() for d in data.skipped_days],
        "known_through": known.isoformat(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    doc = document_of(model, info, meta)
    content = encode(doc)
    model_id = model_id_for(doc, content)
    path = save(model_id, content)
    record = ModelRecord(
        id=model_id,
        target=t.name,
        family=family,
        content_hash=hashlib.sha256(content).hexdigest(),
        path=path,
        created_at=datetime.now(UTC),
        trained_from=start,
        trained_to=end,
        active=activate,
        metrics=info["metrics"],
        document=content.decode(),
    )
    with UnitOfWork(url) as uow:
        uow.models.add(record)
        if activate:
            uow.models.activate(model_id, t.name)
        uow.commit()
    return Trained(record, doc)


# ------------------------------------------------------------------------------------------ registry
def resolve(uow: UnitOfWork, model_id: str) -> ModelRecord:
    """The model named by its id or the first characters of it; InputError when none or several match."""
    found = uow.models.get(model_id)
    if found is not None:
        return found
    matches = uow.models.find(model_id) if model_id else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"no model {model_id!r} (arrears model list)", field="ID")
    raise InputError(f"{model_id!r} names {len(matches)} models: give more of the id", field="ID")


def document(record: ModelRecord) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(record.document)
    return doc


def active_models(uow: UnitOfWork) -> list[ScoringModel]:
    """The active model of each target, as the engines evaluate them."""
    return [scoring_model(r.id, document(r)) for r in uow.models.active()]


def activate(url: str | None, model_id: str, *, active: bool = True) -> ModelRecord:
    with UnitOfWork(url) as uow:
        record = resolve(uow, model_id)
        if active:
            uow.models.activate(record.id, record.target)
        else:
            uow.models.deactivate(record.id)
        uow.commit()
        return replace(record, active=active)


def list_models(url: str | None) -> list[ModelRecord]:
    with UnitOfWork(url) as uow:
        return uow.models.all()


# ------------------------------------------------------------------------------------------ explain
def explain(url: str | None, model_id: str, loan_id: str, as_of: date, top: int = 3) -> dict[str, Any]:
    """An account's score by one model on a day, with its top reason codes."""
    with UnitOfWork(url) as uow:
        record = resolve(uow, model_id)
        model = scoring_model(record.id, document(record))
        portfolio, table = features_on(uow, as_of)
        mask = pc.equal(table["loan_id"], loan_id)
        row_table = table.filter(mask)
        if row_table.num_rows == 0:
            raise InputError(f"no loan {loan_id!r} in the store on {as_of}", field="--account")
        cols = model_columns(row_table, portfolio.tables.get(LENDER_TABLE), model.features)
        p = int(probabilities_bp(model, cols)[0])
        row = {f: float(cols[f][0]) for f in model.features}
        reasons = explain_row(model, row, top)
        out: dict[str, Any] = {
            "model_id": record.id,
            "target": record.target,
            "family": record.family,
            "account": loan_id,
            "as_of": as_of.isoformat(),
            "score": round(p / 10_000, 4),
            "reasons": [r.to_dict() for r in reasons],
            "features": {f: _plain(v) for f, v in row.items()},
        }
        if model.scorecard is not None:
            out["points"] = model.scorecard.points(row)
        return out


def _plain(x: float) -> float | int | None:
    if math.isnan(x):
        return None
    return int(x) if float(x).is_integer() else round(x, 6)


# ------------------------------------------------------------------------------------------ monitor
def monitor(url: str | None, model_id: str, as_of: date) -> dict[str, Any]:
    """PSI of the score and of each feature over the target's population on `as_of`, against training."""
    with UnitOfWork(url) as uow:
        record = resolve(uow, model_id)
        doc = document(record)
        model = scoring_model(record.id, doc)
        portfolio, table = features_on(uow, as_of)
    dpd = np.asarray(table["dpd"].to_numpy(), dtype=np.int64)
    offset = np.asarray(table["day_offset"].to_numpy(), dtype=np.int64)
    ev = portfolio["events"]
    kinds = {
        (e, k)
        for e, k, d in zip(
            ev["loan_id"].to_pylist(), ev["kind"].to_pylist(), ev["on"].to_pylist(), strict=True
        )
        if d == as_of
    }
    loans = table["loan_id"].to_pylist()
    contact = np.array([(x, "contact") in kinds for x in loans], dtype=bool)
    promised = np.array([(x, "promise_made") in kinds for x in loans], dtype=bool)
    mask = in_population(record.target, dpd, offset, contact, promised)
    observed = table.filter(pa.array(mask))
    cols = model_columns(observed, portfolio.tables.get(LENDER_TABLE), model.features)
    p = probabilities_bp(model, cols).astype(np.float64) / 10_000
    ref = doc["reference"]
    score_psi = psi_from_shares(ref["score"]["shares"], p, ref["score"]["edges"]) if len(p) else 0.0
    features = {
        f: round(
            psi_from_shares(
                ref["features"][f]["shares"], cols[f][np.isfinite(cols[f])], ref["features"][f]["edges"]
            ),
            4,
        )
        for f in model.features
    }
    worst = max([score_psi, *features.values()], default=0.0)
    return {
        "model_id": record.id,
        "target": record.target,
        "as_of": as_of.isoformat(),
        "accounts": int(mask.sum()),
        "score_psi": round(score_psi, 4),
        "feature_psi": dict(sorted(features.items(), key=lambda kv: -kv[1])),
        "threshold": PSI_ALERT,
        "drifted": worst > PSI_ALERT,
    }


# ------------------------------------------------------------------------------------------ scores
def model_scores(
    uow: UnitOfWork, features: Mapping[str, FeatureValue], loan_id: str, as_of: date
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The active models on one account's features (`policy explain`): `score.<target>` values in basis
    points (0 without a model), and each model's score with its top reason codes."""
    models = active_models(uow)
    lender = {}
    if models:
        lender = {
            f"lender.{v.name}": float(v.value)
            for v in uow.models.lender_features(as_of)
            if v.loan_id == loan_id
        }
    if needs_borrower_features(models):  # the borrower's other loans, as the daily run sees them
        _, table = features_on(uow, as_of)
        row = table.filter(pc.equal(table["loan_id"], loan_id)).to_pylist()
        features = {**features, **{f: int(row[0][f]) for f in BORROWER_FEATURES}} if row else features
    values = score_account(models, features, lender)
    details = []
    for m in models:
        row = {
            f: feature_number(features[f]) if f in features else lender.get(f, math.nan) for f in m.features
        }
        details.append(
            {
                "target": m.target,
                "model_id": m.id,
                "score": values[m.score_feature] / 10_000,
                "reasons": [r.to_dict() for r in explain_row(m, row)],
            }
        )
    return values, details


def account_scores(url: str | None, loan_id: str, on: date | None = None) -> list[AccountScore]:
    with UnitOfWork(url) as uow:
        return uow.models.scores_of(loan_id, on)


def known_targets() -> tuple[str, ...]:
    return tuple(TARGETS)
