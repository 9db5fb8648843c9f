"""Write the README's demo figures from what `make demo` itself wrote (out/demo.json, out/compare.json).

    make readme-demo                       # runs the demo, then this script
    .venv/bin/python scripts/readme_demo.py [--check] [--demo out/demo.json] [--compare out/compare.json]

Replaces the text between the README's `<!-- demo:begin -->` and `<!-- demo:end -->` markers; nothing else.
With --check it writes nothing and exits 1 when the README's block differs from what the files say (0 when
it matches), so a stale table is caught without rerunning anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arrears.adapters.lab_report.language import ReportLanguage
from arrears.adapters.lab_report.text import format_change, format_interval, format_value
from arrears.domain.bootstrap import Estimate
from arrears.domain.comparison import METRIC_BY_KEY

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- demo:begin: scripts/readme_demo.py writes this block from make demo's out/*.json -->"
END = "<!-- demo:end -->"
HEADLINE = (
    "recovered",
    "recovery_rate",
    "roll:M1",
    "cost",
    "complaints_per_10k_contacts",
    "accidental_legal_threat_share",
)


def _estimate(cell: dict[str, Any]) -> Estimate:
    return Estimate(cell["value"], cell["low"], cell["high"], cell["n"])


def _cell(cell: dict[str, Any], kind: str, change: bool = False) -> str:
    english = ReportLanguage()
    estimate = _estimate(cell)
    value = format_change(estimate.value, kind, english) if change else format_value(estimate.value, kind)
    return f"{value} {format_interval(estimate, kind, english, change)}"


def render_block(demo: dict[str, Any], comparison: dict[str, Any]) -> str:
    """The README block: the replay table of `arrears demo`, then the headline KPIs of `sim compare`."""
    lines = [BEGIN, ""]
    lines.append(
        f"Replaying the last {demo['replay_days']} days of the sample portfolio under each policy (dry run, "
        f"as of {demo['as_of']}):"
    )
    lines += [
        "",
        "| policy | actions planned | lawyer's letters | …to accidental late payers |",
        "|---|--:|--:|--:|",
    ]
    for row in demo["replay"]:
        lines.append(
            f"| {row['policy']} | {row['planned']:,} | {row['lawyer_letters']:,} | "
            f"{row['accidental_lawyer_letters']:,} |"
        )
    names = comparison["policies"]
    first, second = names[0], names[1]
    seeds = comparison["seeds"]
    lines += [
        "",
        f"Then {comparison['days']} days simulated for {comparison['borrowers']:,} borrowers with "
        f"{len(seeds)} paired seeds ({', '.join(str(s) for s in seeds)}): each cell is the mean over the seeds "
        "and its 95 % bootstrap interval; the last column is the paired difference.",
        "",
        f"| KPI | {first} | {second} | {second} − {first} |",
        "|---|--:|--:|--:|",
    ]
    rows = {row["metric"]: row for row in comparison["table"]}
    for key in HEADLINE:
        row = rows[key]
        kind = METRIC_BY_KEY[key].kind
        lines.append(
            f"| {row['label']} | {_cell(row['arms'][first], kind)} | {_cell(row['arms'][second], kind)} | "
            f"{_cell(row['difference_from_first'][second], kind, change=True)} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def rewrite(readme: str, block: str) -> str:
    """`readme` with the text between the markers (markers included) replaced by `block`."""
    start = readme.find(BEGIN)
    end = readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README: the markers {BEGIN!r} … {END!r} are missing")
    return readme[:start] + block + readme[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=ROOT / "out" / "demo.json")
    parser.add_argument("--compare", type=Path, default=ROOT / "out" / "compare.json")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's block is stale")
    args = parser.parse_args(argv)
    for path in (args.demo, args.compare):
        if not path.exists():
            print(f"error: {path} does not exist: run `make demo` first", file=sys.stderr)
            return 2
    demo = json.loads(args.demo.read_text(encoding="utf-8"))
    comparison = json.loads(args.compare.read_text(encoding="utf-8"))
    readme = args.readme.read_text(encoding="utf-8")
    updated = rewrite(readme, render_block(demo, comparison))
    if args.check:
        if updated != readme:
            print(f"{args.readme}: the demo table is stale: run `make readme-demo`", file=sys.stderr)
            return 1
        print(f"{args.readme}: the demo table matches {args.demo.name} and {args.compare.name}")
        return 0
    args.readme.write_text(updated, encoding="utf-8")
    print(f"{args.readme}: demo table written from {args.demo} and {args.compare}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
