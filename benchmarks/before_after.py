"""Run a benchmark script at an earlier revision and at the work tree, alternately, in one run, and print
their latency figures side by side (the machine's load changes over minutes; alternating rounds spreads it).

    .venv/bin/python benchmarks/before_after.py REV SCRIPT [--rounds 2] -- [the script's options]

e.g. `benchmarks/before_after.py 7c7da37 payment_webhook.py -- --seconds 20` or
`benchmarks/before_after.py 7c7da37 payment_event.py -- --loans 2000 --payments 1000`.
The revision's tree is exported with `git archive` into a temporary directory and its script runs with
that tree's `src` first on PYTHONPATH (its servers inherit it), so each side runs its own code. Every
line the scripts print that carries `p50 … ms` figures is a row: label, then p50 / p95 / p99 / max / mean.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURE = re.compile(r"\b(p50|p95|p99|max|mean) ([\d.]+) ms")


def export(rev: str) -> Path:
    """The tree of `rev` in a temporary directory."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="arrears-rev-"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    for name in (".pg_test_url",):  # local settings the scripts read from their tree
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder / name)
    return folder


def run(
    tree: Path, script: str, args: list[str], script_tree: Path | None = None
) -> list[tuple[str, dict[str, float]]]:
    """The script's rows of figures (label, {p50: …}), its output echoed to stderr."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    done = subprocess.run(
        [sys.executable, str((script_tree or tree) / "benchmarks" / script), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{script} at {tree} failed (exit {done.returncode})")
    rows = []
    for line in done.stdout.splitlines():
        figures = {k: float(v) for k, v in FIGURE.findall(line)}
        if "p50" in figures:
            rows.append((line.split(":")[0].strip(), figures))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("script", help="a script in benchmarks/, e.g. payment_webhook.py")
    parser.add_argument("--rounds", type=int, default=1, help="before/after pairs, alternating")
    parser.add_argument(
        "--same-script",
        action="store_true",
        help="run the work tree's script on both sides (each with its own src), e.g. for figures it adds",
    )
    argv = sys.argv[1:]
    passed = argv[argv.index("--") + 1 :] if "--" in argv else []  # the script's options, after --
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    before_tree = export(args.rev)
    label = subprocess.run(
        ["git", "log", "-1", "--format=%h %s", args.rev], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()[:70]
    results: dict[str, list[list[tuple[str, dict[str, float]]]]] = {"before": [], "after": []}
    try:
        for _ in range(args.rounds):
            script_tree = ROOT if args.same_script else None
            results["before"].append(run(before_tree, args.script, passed, script_tree))
            results["after"].append(run(ROOT, args.script, passed))
    finally:
        shutil.rmtree(before_tree, ignore_errors=True)
    print(f"before: {label}; after: the work tree; {args.rounds} round(s) each, alternating")
    print("| measure | round | p50 ms before → after | p95 ms | p99 ms |")
    print("|---|---:|---|---|---|")
    for n, (before, after) in enumerate(zip(results["before"], results["after"], strict=True), start=1):
        for (name, b), (_, a) in zip(before, after, strict=False):
            cells = [
                f"{b.get(q, float('nan')):.1f} → {a.get(q, float('nan')):.1f}" for q in ("p50", "p95", "p99")
            ]
            print(f"| {name} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
