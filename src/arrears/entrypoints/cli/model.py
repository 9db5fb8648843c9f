"""`arrears model ...`: risk models trained on the store (docs/models.md).

train --target T --from D1 --to D2 [--family scorecard|gbm] [--json] · list · activate / deactivate ID ·
explain ID --account LOAN --as-of D · report ID [--out FILE] · monitor ID --as-of D (exit 1 when PSI > 0.25) ·
features import FILE (the lender's own features, CSV / Parquet).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import console, parse_as_of, print_json

model_app = typer.Typer(
    help="Risk models trained on the store: scorecards and gradient boosting, with reason codes.",
    no_args_is_help=True,
)
features_app = typer.Typer(help="The lender's own features, versioned by date.", no_args_is_help=True)
model_app.add_typer(features_app, name="features")

DB_HELP = "Store URL (default ARREARS_DB_URL or ./arrears.db)."


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")


@model_app.command("train")
def train(
    target: str = typer.Option(
        ..., "--target", help="self_cure_30d | roll_30d | pay_7d_after_contact | promise_kept | miss_next_due"
    ),
    start: str = typer.Option(..., "--from", help="First observation day, YYYY-MM-DD."),
    end: str = typer.Option(
        ..., "--to", help="Last observation day (days whose outcome is not known yet are left out)."
    ),
    family: str = typer.Option("scorecard", "--family", help="scorecard (optbinning) or gbm (LightGBM)."),
    every: int = typer.Option(None, "--every", help="Days between observation days (default 1: every day)."),
    calibration: str = typer.Option(
        "auto",
        "--calibration",
        help="platt, isotonic, or auto: the one that does better on the later validation days.",
    ),
    no_activate: bool = typer.Option(
        False, "--no-activate", help="Record the model without making it the target's active one."
    ),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Train a model on the store's history; prints model_id, auc, ks and brier on the test days."""
    from arrears.adapters.model_files import save_model
    from arrears.services.models import train_model

    first, last = parse_as_of(start, "--from"), parse_as_of(end, "--to")
    if family not in ("scorecard", "gbm"):
        raise InputError(f"--family must be scorecard or gbm, got {family!r}", field="--family")
    if calibration not in ("auto", "platt", "isotonic"):
        raise InputError(
            f"--calibration must be auto, platt or isotonic, got {calibration!r}", field="--calibration"
        )
    trained = train_model(
        db,
        target,
        first,
        last,
        family,
        save_model,
        every=every,
        activate=not no_activate,
        calibration=calibration,
        progress=None if json_out else lambda d: console.print(f"observing {d.isoformat()}", style="dim"),
    )
    test = trained.record.metrics["test"]
    out = {
        "model_id": trained.record.id,
        "target": trained.record.target,
        "family": trained.record.family,
        "active": trained.record.active,
        "path": trained.record.path,
        "sha256": trained.record.content_hash,
        "observations": trained.document["observations"],
        "split": trained.document["split"],
        "auc": test["auc"],
        "ks": test["ks"],
        "brier": test["brier"],
        "calibration_error": test["calibration_error"],
        "calibration": trained.document.get("calibration_method"),
        "test_accounts": test["accounts"],
        "test_event_rate": test["event_rate"],
        "validation_auc": trained.record.metrics["valid"]["auc"],
    }
    if json_out:
        print_json(out)
        return
    console.print(
        f"{out['model_id']}  auc {out['auc']:.3f}  ks {out['ks']:.3f}  brier {out['brier']:.4f}  "
        f"(test {out['split']['test'][0]}..{out['split']['test'][1]}, {out['test_accounts']} observations)"
    )
    console.print(f"file {out['path']}" + ("  [active]" if out["active"] else ""))


@model_app.command("list")
def list_(
    db: str = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The recorded models, oldest first, with their test metrics and which is active."""
    from arrears.services.models import list_models

    records = list_models(db)
    rows = [
        {
            "model_id": r.id,
            "target": r.target,
            "family": r.family,
            "active": r.active,
            "trained_from": r.trained_from.isoformat(),
            "trained_to": r.trained_to.isoformat(),
            "created_at": r.created_at.isoformat(),
            "auc": r.metrics.get("test", {}).get("auc"),
            "ks": r.metrics.get("test", {}).get("ks"),
            "brier": r.metrics.get("test", {}).get("brier"),
            "path": r.path,
        }
        for r in records
    ]
    if json_out:
        print_json(rows)
        return
    table = Table(title="Risk models")
    table.add_column("model_id", no_wrap=True)
    for column in ("target", "family", "active", "trained", "auc", "ks", "brier"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["model_id"],
            r["target"],
            r["family"],
            "yes" if r["active"] else "",
            f"{r['trained_from']}..{r['trained_to']}",
            *(str(r[k]) for k in ("auc", "ks", "brier")),
        )
    console.print(table)


@model_app.command("activate")
def activate_(
    model_id: str = typer.Argument(..., metavar="ID"),
    db: str = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Make the model its target's active one (the daily run scores with it)."""
    from arrears.services.models import activate

    record = activate(db, model_id)
    console.print(f"{record.id} is the active {record.target} model")


@model_app.command("deactivate")
def deactivate_(
    model_id: str = typer.Argument(..., metavar="ID"),
    db: str = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Stop scoring with the model."""
    from arrears.services.models import activate

    record = activate(db, model_id, active=False)
    console.print(f"{record.id} is no longer active")


@model_app.command("explain")
def explain_(
    model_id: str = typer.Argument(..., metavar="ID"),
    account: str = typer.Option(..., "--account", help="Loan id."),
    as_of: str = typer.Option(..., "--as-of", help="The day, YYYY-MM-DD."),
    top: int = typer.Option(3, "--top", help="How many reason codes."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """An account's score on a day and its top reason codes."""
    from arrears.services.models import explain

    out = explain(db, model_id, account, parse_as_of(as_of), top)
    if json_out:
        print_json(out)
        return
    extra = f", {out['points']} points" if "points" in out else ""
    console.print(
        f"{out['account']} on {out['as_of']}: {out['target']} = {out['score']:.4f}{extra} ({out['model_id']})"
    )
    what = "points lost" if out["family"] == "scorecard" else "SHAP toward the event"
    for k, r in enumerate(out["reasons"], start=1):
        where = f" in {r['bin']}" if r.get("bin") else ""
        console.print(f"  {k}. {r['feature']} = {r['value']}{where}: {r['weight']} {what}")
    if not out["reasons"]:
        console.print("  no reason code: every characteristic is at its best")


@model_app.command("report")
def report_(
    model_id: str = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, "--out", help="HTML file (default <model_id>.html)."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """A self-contained HTML report: ROC, KS, calibration, importance, the scorecard table."""
    from arrears.adapters.model_report import render_report
    from arrears.services.models import document, resolve
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork(db) as uow:
        record = resolve(uow, model_id)
    html = render_report(record.id, document(record))
    path = out or Path(f"{record.id}.html")
    path.write_text(html, encoding="utf-8")
    console.print(f"wrote {path}")


@model_app.command("monitor")
def monitor_(
    model_id: str = typer.Argument(..., metavar="ID"),
    as_of: str = typer.Option(..., "--as-of", help="The day to compare with training, YYYY-MM-DD."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """PSI of the score and of each feature against training; exit 1 when one is above 0.25."""
    from arrears.services.models import monitor

    out = monitor(db, model_id, parse_as_of(as_of))
    if json_out:
        print_json(out)
    else:
        console.print(
            f"{out['model_id']} on {out['as_of']} ({out['accounts']} accounts): score PSI {out['score_psi']}"
        )
        table = Table(title="Feature PSI (> 0.25: the population moved)")
        table.add_column("feature")
        table.add_column("PSI", justify="right")
        for name, value in out["feature_psi"].items():
            table.add_row(name, f"{value:.4f}")
        console.print(table)
    if out["drifted"]:
        sys.stderr.write(f"drift: a PSI above {out['threshold']}\n")
        raise typer.Exit(1)


@features_app.command("import")
def import_features(
    file: Path = typer.Argument(
        ..., help="CSV or Parquet: loan_id, as_of, then one column per feature (name:type)."
    ),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Import the lender's own features (all or nothing; a value holds from its as_of date on)."""
    from arrears.adapters.lender_feature_file import read_feature_file
    from arrears.services.lender_features import import_lender_features

    rows = read_feature_file(file)
    result: dict[str, Any] = import_lender_features(db, rows, str(file))
    if json_out:
        print_json(result)
        return
    console.print(
        f"{result['values']} values of {len(result['features'])} features for {result['loans']} loans"
    )
