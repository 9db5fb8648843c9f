"""The risk models against the simulation's truth, at the size of the issue's journey.

    python benchmarks/models_truth.py [--db sqlite:///lab.db] [--borrowers 5000] [--days 120] [--seed 7]
                                      [--train-to 2026-05-10] [--later-to 2026-05-30] [--write-docs]

Without --db it simulates the history first (`arrears sim run --policy policies/segmented.yaml`). Trains the
self_cure_30d scorecard and GBM on the observation days 2026-03-02 .. --train-to, then scores the later days
up to --later-to (outcomes the simulation produced) and prints, per family: AUC on the later outcomes, AUC
against the true persona (good and forgetful borrowers are the self-curers), KS, Brier, the largest
calibration gap by decile (and, for scale, the gap an exactly calibrated model shows on the same accounts:
outcomes drawn from its own probabilities, 300 times), and the deciles. --write-docs puts the table in
docs/models.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from arrears.bootstrap import configure
from arrears.domain.models import auc, brier, calibration_error, deciles, ks
from arrears.services import model_training
from arrears.services.model_data import build_dataset, observation_days
from arrears.services.unit_of_work import UnitOfWork

ROOT = Path(__file__).parents[1]
START = date(2026, 3, 2)


def simulate(borrowers: int, days: int, seed: int) -> str:
    folder = Path(tempfile.mkdtemp(prefix="models-truth-"))
    url = f"sqlite:///{folder / 'lab.db'}"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from arrears.entrypoints.cli import main; main()",
            *("sim", "run", "--policy", str(ROOT / "policies" / "segmented.yaml"), "--days", str(days)),
            *("--borrowers", str(borrowers), "--seed", str(seed), "--db", url, "--json"),
        ],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    return url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db")
    parser.add_argument("--borrowers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-to", type=date.fromisoformat, default=date(2026, 5, 10))
    parser.add_argument("--later-to", type=date.fromisoformat, default=date(2026, 5, 30))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    configure()
    started = time.perf_counter()
    url = args.db or simulate(args.borrowers, args.days, args.seed)
    simulated = time.perf_counter() - started
    with UnitOfWork(url) as uow:
        known = uow.models.known_through()
        assert known is not None, "the store has no daily run"
        data = build_dataset(uow, "self_cure_30d", observation_days(START, args.train_to, 1), known)
        later_days = observation_days(args.train_to + timedelta(days=1), args.later_to, 1)
        later = build_dataset(uow, "self_cure_30d", later_days, known)
        tables = uow.snapshot(known, ("loans", "borrowers"))
    persona = dict(
        zip(
            tables["borrowers"]["borrower_id"].to_pylist(),
            tables["borrowers"]["persona"].to_pylist(),
            strict=True,
        )
    )
    owner = dict(
        zip(tables["loans"]["loan_id"].to_pylist(), tables["loans"]["borrower_id"].to_pylist(), strict=True)
    )
    truth = np.array([(persona[owner[x]] or "good") in ("good", "forgetful") for x in later.loans])
    lines = [
        f"History: {url if args.db else f'{args.borrowers} borrowers x {args.days} days, seed {args.seed}'}; "
        f"trained on {START} .. {args.train_to} ({len(data)} observations, {int(data.labels.sum())} self-cures), "
        f"scored on {later_days[0]} .. {later_days[-1]} ({len(later)} observations of {len(set(later.loans))} "
        f"loans, rate {later.labels.mean():.3f}).",
        "",
        "| family | AUC (later outcomes) | AUC (true persona) | KS | Brier | largest decile gap | "
        "same, exactly calibrated (median / p90) | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    tables_out = []
    for family in ("scorecard", "gbm"):
        t0 = time.perf_counter()
        model, _ = model_training.train(data, family, "self_cure_30d", family)
        seconds = time.perf_counter() - t0
        p, _ = model_training.evaluate(model, later)
        # the gap an exactly calibrated model would show here: outcomes drawn from its own probabilities
        rng = np.random.default_rng(args.seed)
        noise = [calibration_error(rng.uniform(size=len(p)) < p, p) for _ in range(300)]
        lines.append(
            f"| {family} | {auc(later.labels, p):.3f} | {auc(truth, p):.3f} | {ks(later.labels, p):.3f} | "
            f"{brier(later.labels, p):.4f} | {100 * calibration_error(later.labels, p):.1f} pp | "
            f"{100 * np.median(noise):.1f} / {100 * np.quantile(noise, 0.9):.1f} pp | {seconds:.1f} |"
        )
        rows = ", ".join(f"{d.predicted:.3f}/{d.observed:.3f}" for d in deciles(later.labels, p))
        tables_out.append(f"- {family}, predicted/observed by decile (1 = highest): {rows}")
    text = "\n".join([*lines, "", *tables_out])
    print(text)
    print(f"\n(simulation {simulated:.0f} s)", file=sys.stderr)
    if args.write_docs:
        doc = ROOT / "docs" / "models.md"
        body = doc.read_text(encoding="utf-8")
        head, rest = body.split("<!-- models-truth:begin -->", 1)
        _, tail = rest.split("<!-- models-truth:end -->", 1)
        doc.write_text(
            f"{head}<!-- models-truth:begin -->\n{text}\n<!-- models-truth:end -->{tail}", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
