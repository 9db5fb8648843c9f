"""`sim compare` runs paired seeds: both policies face the same borrowers and the same luck; the comparison
reports each policy's values and the differences with bootstrap intervals, through the CLI, in either
language, and shows no interval from one seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from arrears.adapters.policy_file import load_policy
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store import forget_engines
from arrears.services.channels import OutgoingMessage
from arrears.sim.behaviour import load_behaviour
from arrears.sim.simulation import SimulatedChannel, simulate

ROOT = Path(__file__).resolve().parents[2]
SEGMENTED = ROOT / "policies" / "segmented.yaml"
JD = ROOT / "policies" / "jd-baitiao-11day.yaml"
START = date(2026, 3, 2)
# what the portfolio held before the simulated window (the simulation adds payments from START on)
POPULATION = {
    # personal data is stored encrypted with a fresh nonce per store: its keyed hashes stand for it
    "borrowers": "SELECT id, timezone, region, language, persona, phone_hash, id_number_hash FROM borrowers "
    "ORDER BY id",
    "loans": "SELECT id, borrower_id, product_code, currency, opened_on FROM loans ORDER BY id",
    "instalments": "SELECT * FROM instalments ORDER BY loan_id, seq",
    "payments": "SELECT loan_id, paid_on, amount FROM payments WHERE paid_on < '2026-03-02' ORDER BY id",
}


def _population(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return {name: [tuple(r) for r in c.execute(text(sql))] for name, sql in POPULATION.items()}
    finally:
        engine.dispose()


def _simulate(tmp_path: Path, policy: Path, seed: int) -> tuple[str, str]:
    chosen = load_policy(policy)
    url = f"sqlite:///{tmp_path / policy.stem}-{seed}.db"
    result = simulate(
        chosen, load_profile(chosen.compliance_profile), days=3, seed=seed, borrowers=40, url=url
    )
    forget_engines()
    return url, result.population


def test_paired_seeds_give_both_policies_the_same_borrowers(tmp_path: Path) -> None:
    jd_url, jd_digest = _simulate(tmp_path, JD, 5)
    seg_url, seg_digest = _simulate(tmp_path, SEGMENTED, 5)
    jd, seg = _population(jd_url), _population(seg_url)
    assert len(jd["borrowers"]) == 40 and len(jd["instalments"]) > 40
    for name in POPULATION:
        assert jd[name] == seg[name], name
    assert jd_digest == seg_digest
    _, other = _simulate(tmp_path, JD, 6)
    assert other != jd_digest


def test_whether_a_borrower_answers_is_their_luck_not_the_policys_step() -> None:
    params = load_behaviour()
    one, other = SimulatedChannel("robocall", 3, params), SimulatedChannel("robocall", 3, params)
    answers = []
    for day in (date(2026, 3, 2), date(2026, 3, 3)):
        one.start_day(day)
        other.start_day(day)
        for n in range(200):
            message = OutgoingMessage("robocall", "+8613800000000", "", borrower_id=f"B{n}")
            # the two policies reach the borrower through different steps (different idempotency keys)
            a = one.send(message, f"L{n}:{day}:robocall_d3:robocall").status
            b = other.send(message, f"L{n}:{day}:ladder_call_7:robocall").status
            assert a == b
            answers.append(a)
    assert 0 < answers.count("answered") < len(answers)


def test_cli_compare_paired_in_chinese_with_the_data_file(
    lab_cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    out, data = tmp_path / "report.html", tmp_path / "compare.json"
    code, stdout, err = lab_cli(
        "sim", "compare", str(JD), str(SEGMENTED), "--days", "30", "--seeds", "2", "--borrowers", "30",
        "--jobs", "1", "--lang", "zh-CN", "--out", str(out), "--data", str(data),
    )  # fmt: skip
    assert code == 0, err
    assert "配对种子" in stdout and "指标" in stdout
    document = json.loads(data.read_text(encoding="utf-8"))
    jd, seg = document["policies"]
    assert document["populations"][jd] == document["populations"][seg]  # paired: the same borrowers per seed
    rows = {row["metric"]: row for row in document["table"]}
    for row in rows.values():
        if row["kind"] == "rate":
            for estimate in row["arms"].values():
                for v in (estimate["value"], estimate["low"], estimate["high"]):
                    assert v is None or 0.0 <= v <= 1.0
            diff = row["difference_from_first"][seg]
            for v in (diff["value"], diff["low"], diff["high"]):
                assert v is None or -1.0 <= v <= 1.0
    # the difference is the mean of the per-seed differences
    recovered = [[float(k["recovered"]) for k in document["runs"][name]] for name in document["policies"]]
    expected = sum(b - a for a, b in zip(*recovered, strict=True)) / 2
    assert abs(rows["recovered"]["difference_from_first"][seg]["value"] - expected) < 1e-6
    assert {(m["month"], m["bucket"]) for m in document["monthly_roll_rates"]} == {
        (1, "M0"),
        (1, "M1"),
        (1, "M2"),
    }
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "逐月迁徙率" in html


def test_cli_compare_with_one_seed_shows_no_interval(
    lab_cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, stdout, err = lab_cli(
        "sim", "compare", str(JD), str(SEGMENTED), "--days", "3", "--seeds", "1", "--borrowers", "20",
        "--jobs", "1", "--out", str(tmp_path / "r.html"), "--data", str(tmp_path / "c.json"),
    )  # fmt: skip
    assert code == 0, err
    assert "no interval can be computed" in stdout and "—" in stdout
    assert "±" not in stdout
    document = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    for row in document["table"]:
        for estimate in row["arms"].values():
            assert estimate["low"] is None and estimate["high"] is None
    code, _, err = lab_cli("sim", "compare", str(JD), str(SEGMENTED), "--lang", "fr")
    assert code == 2 and "--lang" in err


def test_the_console_script_follows_the_users_language(tmp_path: Path) -> None:
    """`arrears sim compare` in a zh_CN locale, through the installed console script: the table and the
    report in Chinese, one seed shown without an interval."""
    arrears = Path(sys.executable).parent / "arrears"
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "COLUMNS": "100"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    done = subprocess.run(
        [str(arrears), "sim", "compare", str(JD), str(SEGMENTED), "--days", "2", "--seeds", "1",
         "--borrowers", "15", "--jobs", "1", "--out", str(tmp_path / "r.html")],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "只有一个种子：无法计算区间（—）" in done.stdout and "回收金额" in done.stdout
    assert '<html lang="zh-CN">' in (tmp_path / "r.html").read_text(encoding="utf-8")
