"""Write the layer diagram of docs/architecture.md from the code itself.

    .venv/bin/python scripts/architecture.py          # rewrites the block between the markers
    .venv/bin/python scripts/architecture.py --check  # exit 1 when the block is out of date

The import graph comes from grimp (what import-linter reads, function-level imports included), collapsed
to the layers; the contracts come from pyproject.toml's [tool.importlinter] section.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- layers:begin (scripts/architecture.py) -->", "<!-- layers:end -->"
# The units of the diagram, top to bottom: a module belongs to the first unit its name starts with.
UNITS = (
    "arrears.bootstrap",
    "arrears.entrypoints.cli",
    "arrears.entrypoints.api",
    "arrears.sim",
    "arrears.services",
    "arrears.engine",
    "arrears.adapters.store",
    "arrears.adapters.channels",
    "arrears.adapters",
    "arrears.domain",
)


def _unit(module: str) -> str | None:
    return next((u for u in UNITS if module == u or module.startswith(u + ".")), None)


def diagram() -> str:
    graph = grimp.build_graph("arrears")
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        source = _unit(module)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = _unit(imported)
            if target is not None and target != source:
                edges[source].add(target)
    short = {u: u.removeprefix("arrears.") for u in UNITS}
    lines = ["```", "what each part imports (from the code; arrows point down the layers):", ""]
    for unit in UNITS:
        targets = [short[t] for t in UNITS if t in edges.get(unit, ())]
        lines.append(f"{short[unit]:<22} → {', '.join(targets) if targets else '(nothing of arrears)'}")
    lines.append("```")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config.get("tool", {}).get("importlinter", {}).get("contracts", [])
    lines += ["", "Contracts `make test` holds (`lint-imports`, pyproject.toml):", ""]
    lines += [f"- {c['name']}" for c in contracts]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{DOC}: the markers {BEGIN} … {END} are missing", file=sys.stderr)
        return 2
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{diagram()}\n{END}{tail}"
    if args.check:
        if new != text:
            print("docs/architecture.md: the layer diagram is out of date (run scripts/architecture.py)")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
