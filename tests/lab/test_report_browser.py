"""The comparison report opens in a real browser (Debian's Chromium through Playwright) with its charts."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date
from pathlib import Path

import pytest

from arrears.adapters.lab_report.html import render_html, write_report
from arrears.domain.comparison import Comparison, PolicyRuns
from tests.browser import ARGS, CHROMIUM, needs_chromium


def _month(n: int, m0: tuple[int, int], m1: tuple[int, int], m2: tuple[int, int]) -> dict:
    rolls = {
        b: {"accounts": a, "rolled": r, "rate": round(r / a, 4) if a else None}
        for b, (a, r) in (("M0", m0), ("M1", m1), ("M2", m2))
    }
    return {"month": n, "from": "", "to": "", "roll_rates": rolls}


def _kpis(
    recovered: str,
    cost: str,
    complaints: float,
    threatened: float,
    day_amounts: list[str],
    roll: int = 0,
) -> dict:
    by_day = {f"2026-03-0{i + 2}": a for i, a in enumerate(day_amounts)}
    return {
        "recovered": recovered,
        "recovery_rate": 0.2,
        "cure_rate": 0.3,
        "self_cure_rate": 0.05,
        "cei": 55.0,
        "roll_rates": {"M0": {"rate": 0.02}, "M1": {"rate": 0.35}, "M2": {"rate": 0.6}},
        "right_party_contact_rate": 0.4,
        "promise_kept_rate": 0.6,
        "contacts": 900,
        "contacts_per_yuan_recovered": 0.01,
        "cost": cost,
        "cost_to_collect": 0.05,
        "complaints": 3,
        "complaints_per_10k_contacts": complaints,
        "accidental_legal_threat_share": threatened,
        "compliance_blocked": 4,
        "compliance_deferred": 1,
        "recovered_by_day": by_day,
        "segments": {"accidental": {"loans": 10, "recovered_by_day": by_day}},
        # two months: M1→M2 rolled 10 + roll of 40, then 12 of 30
        "monthly_roll_rates": [
            _month(1, (100, 5), (40, 10 + roll), (10, 6)),
            _month(2, (90, 4), (30, 12), (20, 15)),
        ],
    }


def comparison() -> Comparison:
    a = PolicyRuns("jd-baitiao-11day", "policies/jd-baitiao-11day.yaml")
    a.runs = [
        _kpis("900.00", "120.00", 40.0, 0.45, ["100.00", "300.00", "500.00"]),
        _kpis("1100.00", "140.00", 60.0, 0.55, ["200.00", "400.00", "500.00"], roll=4),
    ]
    b = PolicyRuns("segmented", "policies/segmented.yaml")
    b.runs = [
        _kpis("850.00", "60.00", 5.0, 0.05, ["100.00", "250.00", "500.00"]),
        _kpis("950.00", "70.00", 7.0, 0.1, ["150.00", "300.00", "500.00"]),
    ]
    return Comparison([a, b], [0, 1], 3, 100, date(2026, 3, 2))


def test_report_is_self_contained() -> None:
    html = render_html(comparison())
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    # 2 × roll rates by month, recovery, 2 × by segment, cost vs recovery, complaints, threats, differences
    assert html.count("<svg") == 9
    # recovered: 900 and 1100 → mean 1,000, the bootstrap interval of two values is their range
    assert '<td>1,000</td><td class="interval">[900, 1,100]</td>' in html
    # segmented − jd: recovered (850 − 900, 950 − 1100) → mean −100 in [−150, −50]
    assert '<td class="diff">−100</td><td class="diff interval">[−150, −50]</td>' in html


def _png_pixels(png: bytes) -> list[int]:
    """Decoded bytes of the PNG's rows (enough to measure variance; filters ignored on purpose)."""
    stream = io.BytesIO(png[8:])
    data = b""
    while True:
        head = stream.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        chunk = stream.read(length)
        stream.read(4)
        if kind == b"IDAT":
            data += chunk
    return list(zlib.decompress(data))


@needs_chromium
def test_report_opens_in_chromium_with_its_charts(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_report(comparison(), tmp_path / "report.html")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.resolve().as_uri())
            assert page.title() == "arrears — policy comparison"
            assert page.locator("table#kpis tbody tr").count() == 18
            assert page.locator("table#monthly_roll_rates tbody tr").count() == 6  # 3 transitions × 2 months
            for chart in ("recovery", "cost_recovery", "complaints", "legal_threats", "differences"):
                assert page.locator(f'svg[data-chart="{chart}"]').count() == 1, chart
            # per policy: roll rates month by month and recovery by segment
            assert page.locator('svg[data-chart="roll_rates"]').count() == 2
            assert page.locator('svg[data-chart="recovery_segments"]').count() == 2
            # 3 transitions × 2 months in each policy's chart, each bar with its interval (two seeds)
            assert page.locator('svg[data-chart="roll_rates"] rect.bar').count() == 12
            assert page.locator('svg[data-chart="roll_rates"] line.whisker').count() == 12
            assert page.locator('svg[data-chart="differences"] circle.difference').count() == 8  # rate KPIs
            assert page.locator('svg[data-chart="cost_recovery"] polyline.pair').count() == 2  # one per seed
            assert page.locator('svg[data-chart="recovery"] polyline.line').count() == 2
            assert page.locator('svg[data-chart="cost_recovery"] circle.dot').count() == 4
            box = page.locator('svg[data-chart="recovery"]').bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 200
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    (tmp_path / "report.png").write_bytes(shot)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
    pixels = _png_pixels(shot)
    mean = sum(pixels) / len(pixels)
    variance = sum((v - mean) ** 2 for v in pixels[::7]) / len(pixels[::7])
    assert variance > 100  # not a blank page: coloured bars, lines and text on white
