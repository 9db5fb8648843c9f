"""scripts/readme_demo.py writes the README's demo block from the demo's own JSON, and --check catches a stale
one; the README and `arrears demo` name the parameters the Makefile's demo target runs."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from arrears.entrypoints.cli.demo import DEMO_SEEDS, DEMO_SIM_BORROWERS
from tests.lab.test_report_browser import comparison

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_demo", ROOT / "scripts" / "readme_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEMO = {
    "as_of": "2026-03-31",
    "replay_days": 14,
    "replay": [
        {
            "policy": "jd-baitiao-11day",
            "planned": 5221,
            "lawyer_letters": 161,
            "accidental_lawyer_letters": 38,
        },
        {"policy": "segmented", "planned": 7371, "lawyer_letters": 184, "accidental_lawyer_letters": 0},
    ],
}


def test_the_block_is_written_from_the_json_and_check_sees_when_it_is_stale(tmp_path: Path) -> None:
    script = _script()
    demo, compare, readme = tmp_path / "demo.json", tmp_path / "compare.json", tmp_path / "README.md"
    demo.write_text(json.dumps(DEMO), encoding="utf-8")
    compare.write_text(json.dumps(comparison().to_dict()), encoding="utf-8")
    readme.write_text(
        f"# title\n\nbefore\n{script.BEGIN}\nold figures\n{script.END}\nafter\n", encoding="utf-8"
    )
    paths = ["--demo", str(demo), "--compare", str(compare), "--readme", str(readme)]
    assert script.main([*paths, "--check"]) == 1
    assert script.main(paths) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{script.END}\nafter\n")
    assert "old figures" not in text
    assert "| jd-baitiao-11day | 5,221 | 161 | 38 |" in text
    # recovered: 900 and 1,100 for jd, 850 and 950 for segmented; paired differences −50, −150
    assert "| Recovered (¥) | 1,000 [900, 1,100] | 900 [850, 950] | −100 [−150, −50] |" in text
    assert "2 paired seeds (0, 1)" in text
    assert script.main([*paths, "--check"]) == 0


def test_missing_json_asks_for_make_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _script().main(["--demo", str(tmp_path / "none.json")]) == 2
    assert "make demo" in capsys.readouterr().err


def test_the_readme_and_the_demo_command_name_what_make_demo_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    seeds = int(re.search(r"--seeds (\d+)", target).group(1))  # type: ignore[union-attr]
    borrowers = int(re.search(r"--borrowers (\d+)", target).group(1))  # type: ignore[union-attr]
    days = int(re.search(r"--days (\d+)", target).group(1))  # type: ignore[union-attr]
    assert seeds >= 5
    assert (seeds, borrowers) == (DEMO_SEEDS, DEMO_SIM_BORROWERS)
    assert "--data out/demo.json" in target and "--data out/compare.json" in target
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = _script()
    block = readme.split(script.BEGIN, 1)[1].split(script.END, 1)[0]
    assert f"{days} days simulated for {borrowers:,} borrowers with {seeds} paired seeds" in block
