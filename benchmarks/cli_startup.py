"""CLI start-up: wall time of `arrears` commands that touch no engine, each run repeatedly as a subprocess.

    python benchmarks/cli_startup.py                          # this tree, 10 runs a command
    python benchmarks/cli_startup.py --before /tmp/cli_before # and an older checkout side by side
    python benchmarks/cli_startup.py --before /tmp/cli_before --write-docs   # docs/performance.md

`--before DIR` is a git worktree of an earlier commit (`git worktree add --detach DIR COMMIT`); it runs with
the same interpreter and packages, its own source first on PYTHONPATH. The runs of the two trees alternate,
so a busy machine slows both alike. Each tree gets a store of its own (made by its own `db upgrade`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- cli-startup:begin (benchmarks/cli_startup.py) -->", "<!-- cli-startup:end -->"

CHECK = """\
profile: cn
debtor: {timezone: Asia/Shanghai}
history: []
attempt: {channel: sms, at: "2026-03-09T10:00:00+08:00", target: "+8613800138000"}
"""


def commands(work: Path) -> list[tuple[str, list[str]]]:
    check = work / "check.yaml"
    check.write_text(CHECK, encoding="utf-8")
    return [
        ("--help", ["--help"]),
        ("--version", ["--version"]),
        ("policy validate", ["policy", "validate", str(ROOT / "policies" / "segmented.yaml")]),
        ("compliance check", ["compliance", "check", str(check)]),
        ("db info (store)", ["db", "info"]),
        ("borrower show (store)", ["borrower", "show", "B00001"]),
        ("outbox list (store)", ["outbox", "list"]),
    ]


def runner(source: Path, store: Path) -> tuple[list[str], dict[str, str]]:
    """The console script's own start (`from arrears.entrypoints.cli import main; main()`) for `source`."""
    env = {**os.environ, "PYTHONPATH": str(source / "src"), "ARREARS_DB_URL": f"sqlite:///{store}"}
    env.update({"COLUMNS": "100", "ARREARS_AUDIT_CHECKPOINTS": str(store.parent / "checkpoints")})
    return [sys.executable, "-c", "from arrears.entrypoints.cli import main; main()"], env


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, of the child) and the exit code of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, cwd=env["ARREARS_AUDIT_CHECKPOINTS"])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.returncode


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure(trees: dict[str, Path], runs: int) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="arrears-cli-startup-") as tmp:
        work = Path(tmp)
        setups = {}
        for label, source in trees.items():
            store = work / label / "arrears.db"
            (work / label / "checkpoints").mkdir(parents=True)
            command, env = runner(source, store)
            subprocess.run([*command, "db", "upgrade"], env=env, capture_output=True, check=True)
            setups[label] = (command, env)
        rows = []
        for name, args in commands(work):
            times: dict[str, list[float]] = {label: [] for label in trees}
            cpus: dict[str, list[float]] = {label: [] for label in trees}
            codes: dict[str, set[int]] = {label: set() for label in trees}
            for label in trees:  # one unmeasured run each: the byte-code caches are written
                command, env = setups[label]
                timed([*command, *args], env)
            for _ in range(runs):
                for label in trees:
                    command, env = setups[label]
                    seconds, cpu, code = timed([*command, *args], env)
                    times[label].append(seconds)
                    cpus[label].append(cpu)
                    codes[label].add(code)
            row: dict[str, object] = {"command": name}
            for label in trees:
                row[label] = (
                    statistics.median(times[label]),
                    p90(times[label]),
                    statistics.median(cpus[label]),
                    sorted(codes[label]),
                )
            rows.append(row)
            print(format_row(row, list(trees)), flush=True)
        return rows


def format_row(row: dict[str, object], labels: list[str]) -> str:
    cells = [f"{row['command']:<24}"]
    for label in labels:
        median, tail, cpu, codes = row[label]  # type: ignore[misc]
        exits = ",".join(map(str, codes))
        cells.append(f"{label}: median {median:.2f} s, p90 {tail:.2f} s, CPU {cpu:.2f} s (exit {exits})")
    return "  ".join(cells)


def markdown(rows: list[dict[str, object]], labels: list[str], runs: int, load: str, load_end: str) -> str:
    head = "| command | " + " | ".join(f"{label}: median / p90 (CPU)" for label in labels) + " |"
    lines = [head, "|---|" + "---:|" * len(labels)]
    for row in rows:
        cells = []
        for label in labels:
            median, tail, cpu, _codes = row[label]  # type: ignore[misc]
            cells.append(f"{median:.2f} s / {tail:.2f} s ({cpu:.2f} s)")
        lines.append(f"| `arrears {row['command']}` | " + " | ".join(cells) + " |")
    note = (
        f"\n{runs} runs a command, the trees alternating; wall time of the whole process (interpreter start "
        f"included), median / p90, and the median CPU time (user + system) in brackets; load average (1, 5, 15 min) {load} at the start, {load_end} at the end. `(store)`: a store at the newest migration "
        "with no rows (the borrower is unknown: exit 2 after opening it)."
    )
    return "\n".join(lines) + "\n" + note + "\n"


def write_docs(table: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{table}{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: block, text, flags=re.DOTALL)
    else:
        text += f"\n## CLI start-up\n\n{block}\n"
    DOC.write_text(text, encoding="utf-8")


def load_average() -> str:
    path = Path("/proc/loadavg")
    return " / ".join(path.read_text().split()[:3]) if path.exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--before", type=Path, help="A checkout of an earlier commit, measured alongside.")
    parser.add_argument("--write-docs", action="store_true", help="Rewrite the table in docs/performance.md.")
    args = parser.parse_args()
    trees = {"before": args.before.resolve()} if args.before else {}
    trees["after" if args.before else "now"] = ROOT
    load = load_average()
    rows = measure(trees, args.runs)
    table = markdown(rows, list(trees), args.runs, load, load_average())
    print()
    print(table)
    if args.write_docs:
        write_docs(table)


if __name__ == "__main__":
    main()
