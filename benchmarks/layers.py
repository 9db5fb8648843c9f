"""The ports and layers of issue 13 must not cost the bulk paths: import and daily run, side by side.

    git worktree add /tmp/before13 b52e32a        # the last commit before the unit-of-work port
    .venv/bin/python benchmarks/layers.py --before /tmp/before13 [--borrowers 20000] [--rows 200000]
        [--rounds 3] [--json]

Each version runs through its own `arrears` command (PYTHONPATH=<checkout>/src, this venv) in a
subprocess, alternating before / after every round so both see the same machine load:
- import: `arrears bench import --rows R --json` (a generated Parquet payments file into a fresh SQLite
  store); the figure is the importer's own `seconds` (start-up excluded);
- daily run: a portfolio of N borrowers generated and loaded once per version (`arrears sim portfolio
  --load`), copied fresh for each round, then `arrears run --as-of D --json`; the figure is the run's own
  `seconds` (snapshot, engine, compliance filter, outbox write), start-up excluded.
Prints the medians and after / before. What changed between the two checkouts besides the layers (other
work that landed meanwhile) is in the ratio too: name the commits when quoting it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-31"


def arrears(src: Path, args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `arrears ARGS --json` with the code of `src`; its JSON output."""
    environ = {**os.environ, "PYTHONPATH": str(src), **(env or {})}
    environ.pop("COLUMNS", None)
    code = "import sys; from arrears.entrypoints.cli import main; sys.argv[0] = 'arrears'; main()"
    done = subprocess.run(  # in the checkout: each version runs its own default policy and profiles
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=1800,
        cwd=src.parent,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{src}: arrears {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}"
        )
    out = done.stdout
    return json.loads(out[out.index("{") if out.lstrip()[0] != "[" else out.index("[") :])


def load_average() -> str:
    path = Path("/proc/loadavg")
    return " / ".join(path.read_text().split()[:3]) if path.exists() else "?"


def commit_of(checkout: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h"], capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a checkout from before (git worktree)")
    parser.add_argument(
        "--after", default=str(ROOT), help="the checkout measured against it (default: this one)"
    )
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_at_start = load_average()

    after = Path(args.after).resolve()
    versions = {"before": Path(args.before).resolve() / "src", "after": after / "src"}
    work = Path(tempfile.mkdtemp(prefix="arrears-layers-"))
    keys = {"ARREARS_AUDIT_CHECKPOINTS": str(work / "checkpoints")}
    try:
        bases = {}
        for name, src in versions.items():
            folder = work / name
            folder.mkdir()
            url = f"sqlite:///{folder}/base.db"
            arrears(
                src,
                ["sim", "portfolio", "--borrowers", str(args.borrowers), "--seed", "1", "--as-of", AS_OF,
                 "--out", str(folder / "files"), "--load", "--json"],
                {"ARREARS_DB_URL": url, **keys},
            )  # fmt: skip
            bases[name] = folder / "base.db"
        figures: dict[str, dict[str, list[float]]] = {n: {"import": [], "run": []} for n in versions}
        for _ in range(args.rounds):
            for name, src in versions.items():
                imported = arrears(src, ["bench", "import", "--rows", str(args.rows), "--json"], keys)
                figures[name]["import"].append(float(imported["seconds"]))
                copy = work / name / "run.db"
                shutil.copyfile(bases[name], copy)
                ran = arrears(src, ["run", "--as-of", AS_OF, "--db", f"sqlite:///{copy}", "--json"], keys)
                figures[name]["run"].append(float(ran["seconds"]))
        result = {
            "before": commit_of(Path(args.before)),
            "after": commit_of(after),
            "load_average": load_average(),
            "borrowers": args.borrowers,
            "rows": args.rows,
            "rounds": args.rounds,
            "median_seconds": {
                n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()
            },
        }
        med = result["median_seconds"]
        result["after_over_before"] = {k: med["after"][k] / med["before"][k] for k in ("import", "run")}
        if args.json:
            print(json.dumps(result))
            return
        print(f"before = {result['before']}, after = {result['after']}, medians of {args.rounds} rounds")
        print(
            f"load average (1 / 5 / 15 min): {load_at_start} at the start, {result['load_average']} at the end"
        )
        print(f"{'':24}{'before':>10}{'after':>10}{'after/before':>14}")
        for key, label in (
            ("import", f"import {args.rows:,} payments"),
            ("run", f"run {args.borrowers:,} b."),
        ):
            b, a = med["before"][key], med["after"][key]
            print(f"{label:24}{b:>9.2f}s{a:>9.2f}s{a / b:>14.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
