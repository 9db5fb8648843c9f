"""`arrears sim compare`: policies side by side over several seeds, as a terminal table and an HTML report.

Each (policy, seed) pair is one full simulation (sim/simulation.py) in a store of its own; the pairs run in
parallel processes. Every figure is the mean over the seeds with a 95 % Student-t interval
(mean ± t(0.975, K−1) · s / √K). The HTML report is one self-contained file: the charts are inline SVG
drawn here, with no script, stylesheet or font fetched from anywhere.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from arrears.domain.money import parse_minor

# Two-sided 95 % quantiles of Student's t by degrees of freedom (1..30); beyond, the normal 1.96.
T_975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

# (KPI key, label, kind): kind "money" are decimal strings in yuan, "rate" shares shown as %, "count" and
# "number" plain.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("recovered", "Recovered (¥)", "money"),
    ("recovery_rate", "Recovery rate of opening arrears", "rate"),
    ("cure_rate", "Cure rate", "rate"),
    ("self_cure_rate", "Self-cure rate", "rate"),
    ("cei", "CEI", "number"),
    ("roll_m1", "Roll rate M1 → worse", "rate"),
    ("right_party_contact_rate", "Right-party contact rate", "rate"),
    ("promise_kept_rate", "Promise kept rate", "rate"),
    ("contacts", "Contacts", "count"),
    ("contacts_per_yuan_recovered", "Contacts per ¥ recovered", "number"),
    ("cost", "Cost (¥)", "money"),
    ("cost_to_collect", "Cost to collect (¥ per ¥)", "number"),
    ("complaints", "Complaints", "count"),
    ("complaints_per_10k_contacts", "Complaints per 10k contacts", "number"),
    ("accidental_legal_threat_share", "Accidental late payers threatened", "rate"),
    ("compliance_blocked", "Compliance blocks", "count"),
    ("compliance_deferred", "Compliance defers", "count"),
)
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


@dataclass(frozen=True)
class Interval:
    mean: float
    half: float  # half-width of the 95 % interval (0 with one seed)
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half


def t_interval(values: Sequence[float]) -> Interval:
    """Mean and 95 % Student-t half-width of `values` (half-width 0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return Interval(math.nan, 0.0, 0)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, 0.0, n)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = T_975[n - 2] if n - 2 < len(T_975) else 1.96
    return Interval(mean, t * sd / math.sqrt(n), n)


def metric_value(kpis: dict[str, Any], key: str) -> float | None:
    """One KPI as a number (money in yuan); None when it is undefined (e.g. a rate with no denominator)."""
    value = kpis["roll_rates"].get("M1", {}).get("rate") if key == "roll_m1" else kpis.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return parse_minor(value) / 100
    return float(value)


@dataclass
class PolicyRuns:
    """The KPIs of one policy over every seed."""

    name: str
    path: str
    runs: list[dict[str, Any]] = field(default_factory=list)  # kpis per seed, in seed order
    seconds: list[float] = field(default_factory=list)

    def interval(self, key: str) -> Interval:
        values = [v for v in (metric_value(k, key) for k in self.runs) if v is not None]
        return t_interval(values)


@dataclass
class Comparison:
    policies: list[PolicyRuns]
    seeds: list[int]
    days: int
    borrowers: int
    start: date
    seconds: float = 0.0

    def table(self) -> list[dict[str, Any]]:
        """One row per metric: label, and per policy mean / low / high."""
        rows = []
        for key, label, kind in METRICS:
            row: dict[str, Any] = {"metric": key, "label": label, "kind": kind}
            for p in self.policies:
                iv = p.interval(key)
                row[p.name] = {"mean": _round(iv.mean), "low": _round(iv.low), "high": _round(iv.high)}
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "policies": [p.name for p in self.policies],
            "files": [p.path for p in self.policies],
            "seeds": self.seeds,
            "days": self.days,
            "borrowers": self.borrowers,
            "from": self.start.isoformat(),
            "seconds": round(self.seconds, 2),
            "table": self.table(),
            "runs": {p.name: p.runs for p in self.policies},
        }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def simulate_one(
    policy_path: str, seed: int, days: int, borrowers: int, start: date, keep_store: bool = False
) -> tuple[str, int, dict[str, Any], float]:
    """One simulation in a fresh SQLite store (run in a worker process); (policy id, seed, kpis, seconds)."""
    from arrears.adapters.policy_file import load_policy
    from arrears.adapters.profile_file import load_profile
    from arrears.sim.simulation import fresh_store_url, simulate

    policy = load_policy(policy_path)
    profile = load_profile(policy.compliance_profile)
    url = fresh_store_url()
    try:
        result = simulate(policy, profile, days=days, seed=seed, borrowers=borrowers, url=url, start=start)
    finally:
        if not keep_store:
            from arrears.adapters.store import forget_engines

            forget_engines()
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    return policy.id, seed, result.kpis, result.seconds


def compare(
    policy_paths: Sequence[str],
    *,
    days: int,
    seeds: Sequence[int],
    borrowers: int,
    start: date,
    jobs: int | None = None,
    on_done: Callable[[str, int, float], None] | None = None,
) -> Comparison:
    """Simulate every policy with every seed (the same seeds for all: common random numbers)."""
    import time

    started = time.perf_counter()
    tasks = [(path, seed) for path in policy_paths for seed in seeds]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    results: dict[tuple[str, int], tuple[str, dict[str, Any], float]] = {}
    if workers == 1:
        for path, seed in tasks:
            name, _, kpis, secs = simulate_one(path, seed, days, borrowers, start)
            results[(path, seed)] = (name, kpis, secs)
            if on_done is not None:
                on_done(name, seed, secs)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(simulate_one, path, seed, days, borrowers, start): (path, seed)
                for path, seed in tasks
            }
            for future, key in futures.items():
                name, _, kpis, secs = future.result()
                results[key] = (name, kpis, secs)
                if on_done is not None:
                    on_done(name, key[1], secs)
    policies = []
    for path in policy_paths:
        name = results[(path, seeds[0])][0]
        if any(p.name == name for p in policies):
            name = f"{name} ({Path(path).name})"
        runs = PolicyRuns(name, str(path))
        for seed in seeds:
            runs.runs.append(results[(path, seed)][1])
            runs.seconds.append(results[(path, seed)][2])
        policies.append(runs)
    return Comparison(policies, list(seeds), days, borrowers, start, time.perf_counter() - started)


def format_value(value: float | None, kind: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "count":
        return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
    return f"{value:,.4g}"


def format_interval(cell: dict[str, Any], kind: str) -> str:
    """ "mean ± half" in the metric's unit."""
    mean, low, high = cell["mean"], cell["low"], cell["high"]
    if mean is None:
        return "–"
    half = (high - low) / 2
    if half == 0:
        return format_value(mean, kind)
    return f"{format_value(mean, kind)} ± {format_value(half, kind)}"


# --- HTML --------------------------------------------------------------------------------------------


def _svg_open(width: int, height: int, chart: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{chart}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
    )


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _axes(x0: int, y0: int, w: int, h: int, top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = [
        f'<line x1="{x0}" y1="{y0}" x2="{x0 + w}" y2="{y0}" stroke="#333"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 - h}" stroke="#333"/>',
    ]
    for i in range(5):
        v = top * i / 4
        y = y0 - h * i / 4
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{escape(fmt(v))}</text>'
        )
    return parts


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="{y + 16 * i}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18}" y="{y + 10 + 16 * i}" font-size="12">{escape(name)}</text>')
    return parts


def bar_chart(
    chart: str,
    title: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Interval]]],
    fmt: Callable[[float], str],
    ceiling: float | None = None,
) -> str:
    """Grouped bars (one group per category, one bar per series) with 95 % interval whiskers; `ceiling`
    caps the axis (a share never exceeds 1, whatever its interval says)."""
    width, height = 640, 300
    x0, y0, w, h = 70, height - 40, width - 90 - 140, height - 80
    top = _nice_max(max((iv.high for _, ivs in series for iv in ivs if not math.isnan(iv.high)), default=1))
    if ceiling is not None:
        top = min(top, ceiling)
    parts = [_svg_open(width, height, chart, title)]
    parts.append(f'<text x="{width / 2}" y="18" font-size="14" text-anchor="middle">{escape(title)}</text>')
    parts += _axes(x0, y0, w, h, top, fmt)
    slot = w / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    for g, group in enumerate(groups):
        gx = x0 + g * slot + slot * 0.1
        parts.append(
            f'<text x="{x0 + g * slot + slot / 2:.1f}" y="{y0 + 16}" font-size="11" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
        for s, (_, ivs) in enumerate(series):
            iv = ivs[g]
            if math.isnan(iv.mean):
                continue
            bh = h * min(top, max(0.0, iv.mean)) / top
            x = gx + s * bar
            colour = COLOURS[s % len(COLOURS)]
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y0 - bh:.1f}" width="{bar * 0.9:.1f}" height="{bh:.1f}" '
                f'fill="{colour}"><title>{escape(series[s][0])} {escape(group)}: {escape(fmt(iv.mean))}'
                f"</title></rect>"
            )
            if iv.half > 0:
                cx = x + bar * 0.45
                ylo = y0 - h * min(top, max(0.0, iv.low)) / top
                yhi = y0 - h * min(top, iv.high) / top
                parts.append(
                    f'<line x1="{cx:.1f}" y1="{ylo:.1f}" x2="{cx:.1f}" y2="{yhi:.1f}" stroke="#000"/>'
                )
    parts += _legend([name for name, _ in series], x0 + w + 16, 40)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    chart: str,
    title: str,
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    fmt: Callable[[float], str],
) -> str:
    """Lines over days (cumulative curves)."""
    width, height = 640, 300
    x0, y0, w, h = 80, height - 40, width - 100 - 150, height - 80
    top = _nice_max(max((v for _, vs in series for v in vs), default=1))
    parts = [_svg_open(width, height, chart, title)]
    parts.append(f'<text x="{width / 2}" y="18" font-size="14" text-anchor="middle">{escape(title)}</text>')
    parts += _axes(x0, y0, w, h, top, fmt)
    n = max(1, len(days) - 1)
    for label_at in sorted({0, len(days) // 2, len(days) - 1}):
        if 0 <= label_at < len(days):
            parts.append(
                f'<text x="{x0 + w * label_at / n:.1f}" y="{y0 + 16}" font-size="11" '
                f'text-anchor="middle">{escape(days[label_at][5:])}</text>'
            )
    for s, (name, values) in enumerate(series):
        points = " ".join(f"{x0 + w * i / n:.1f},{y0 - h * v / top:.1f}" for i, v in enumerate(values))
        colour = COLOURS[s % len(COLOURS)]
        parts.append(
            f'<polyline class="line" fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    parts += _legend([name for name, _ in series], x0 + w + 16, 40)
    parts.append("</svg>")
    return "".join(parts)


def scatter_chart(chart: str, title: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> str:
    """One dot per (cost, recovered) of a seed; the policy's mean as a larger ring."""
    width, height = 640, 320
    x0, y0, w, h = 80, height - 50, width - 100 - 150, height - 90
    xs = [x for _, pts in series for x, _ in pts] or [1.0]
    ys = [y for _, pts in series for _, y in pts] or [1.0]
    xtop, ytop = _nice_max(max(xs)), _nice_max(max(ys))
    parts = [_svg_open(width, height, chart, title)]
    parts.append(f'<text x="{width / 2}" y="18" font-size="14" text-anchor="middle">{escape(title)}</text>')
    parts += _axes(x0, y0, w, h, ytop, lambda v: f"¥{v:,.0f}")
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + w}" y2="{y0}" stroke="#333"/>')
    for i in range(5):
        v = xtop * i / 4
        parts.append(
            f'<text x="{x0 + w * i / 4:.1f}" y="{y0 + 16}" font-size="11" text-anchor="middle">¥{v:,.0f}</text>'
        )
    parts.append(
        f'<text x="{x0 + w / 2}" y="{y0 + 34}" font-size="12" text-anchor="middle">cost of contacts</text>'
    )
    for s, (name, pts) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        for x, y in pts:
            parts.append(
                f'<circle class="dot" cx="{x0 + w * x / xtop:.1f}" cy="{y0 - h * y / ytop:.1f}" r="4" '
                f'fill="{colour}" fill-opacity="0.7"><title>{escape(name)}: cost ¥{x:,.2f}, '
                f"recovered ¥{y:,.2f}</title></circle>"
            )
        if pts:
            mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
            parts.append(
                f'<circle cx="{x0 + w * mx / xtop:.1f}" cy="{y0 - h * my / ytop:.1f}" r="9" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
    parts += _legend([name for name, _ in series], x0 + w + 16, 40)
    parts.append("</svg>")
    return "".join(parts)


def _cumulative(by_day: dict[str, str], days: Sequence[str]) -> list[float]:
    total, out = 0.0, []
    for d in days:
        total += parse_minor(by_day[d]) / 100 if d in by_day else 0.0
        out.append(total)
    return out


def _window_days(c: Comparison) -> list[str]:
    from datetime import timedelta

    return [(c.start + timedelta(days=i)).isoformat() for i in range(c.days)]


def charts(c: Comparison) -> dict[str, str]:
    """The report's SVG charts by name."""
    days = _window_days(c)
    buckets = [
        b
        for b in ("M0", "M1", "M2", "M3", "M4", "M5", "M6")
        if any(b in k["roll_rates"] for p in c.policies for k in p.runs)
    ]
    roll = [
        (
            p.name,
            [
                t_interval(
                    [
                        k["roll_rates"][b]["rate"]
                        for k in p.runs
                        if b in k["roll_rates"] and k["roll_rates"][b]["rate"] is not None
                    ]
                )
                for b in buckets
            ],
        )
        for p in c.policies
    ]
    out = {
        "roll_rates": bar_chart(
            "roll_rates",
            "Roll rate: share of each opening bucket that rolled worse",
            buckets,
            roll,
            _pct,
            ceiling=1.0,
        ),
        "recovery": line_chart(
            "recovery",
            "Cumulative recovery (mean over seeds)",
            days,
            [
                (p.name, _mean_curves([_cumulative(k["recovered_by_day"], days) for k in p.runs]))
                for p in c.policies
            ],
            lambda v: f"¥{v:,.0f}",
        ),
    }
    for i, p in enumerate(c.policies):
        segments = sorted({s for k in p.runs for s in k["segments"]})
        out[f"recovery_segments_{i}"] = line_chart(
            "recovery_segments",
            f"Recovery by segment — {p.name}",
            days,
            [
                (
                    s,
                    _mean_curves(
                        [
                            _cumulative(k["segments"].get(s, {}).get("recovered_by_day", {}), days)
                            for k in p.runs
                        ]
                    ),
                )
                for s in segments
            ],
            lambda v: f"¥{v:,.0f}",
        )
    out["cost_recovery"] = scatter_chart(
        "cost_recovery",
        "Cost vs recovery (one dot per seed)",
        [
            (
                p.name,
                [(parse_minor(k["cost"]) / 100, parse_minor(k["recovered"]) / 100) for k in p.runs],
            )
            for p in c.policies
        ],
    )
    out["complaints"] = bar_chart(
        "complaints",
        "Complaints per 10k contacts (95 % interval)",
        ["complaints / 10k contacts"],
        [(p.name, [p.interval("complaints_per_10k_contacts")]) for p in c.policies],
        lambda v: f"{v:,.1f}",
    )
    out["legal_threats"] = bar_chart(
        "legal_threats",
        "Accidental late payers who received a legal threat",
        ["legal threat share"],
        [(p.name, [p.interval("accidental_legal_threat_share")]) for p in c.policies],
        _pct,
        ceiling=1.0,
    )
    return out


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


def _mean_curves(curves: Sequence[Sequence[float]]) -> list[float]:
    if not curves:
        return []
    return [sum(values) / len(curves) for values in zip(*curves, strict=True)]


def render_html(c: Comparison) -> str:
    """The self-contained report: the comparison table with intervals, then the charts."""
    names = [p.name for p in c.policies]
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = []
    for row in c.table():
        cells = "".join(f"<td>{escape(format_interval(row[n], row['kind']))}</td>" for n in names)
        body.append(f"<tr><th scope='row'>{escape(row['label'])}</th>{cells}</tr>")
    figures = "".join(f'<figure id="{name}">{svg}</figure>' for name, svg in charts(c).items())
    files = ", ".join(f"{escape(p.name)} ({escape(p.path)})" for p in c.policies)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>arrears — policy comparison</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 24px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
th[scope=row] {{ text-align: left; font-weight: normal; }}
figure {{ display: inline-block; margin: 8px; }}
.note {{ color: #555; font-size: 13px; max-width: 60em; }}
</style></head>
<body>
<h1>Policy comparison</h1>
<p class="note">Policies: {files}. {c.borrowers:,} synthetic borrowers, {c.days} days from
{c.start.isoformat()}, seeds {", ".join(str(s) for s in c.seeds)} (each policy sees the same borrowers and
the same luck). Each cell: mean over the seeds ± the half-width of a 95 % Student-t interval. KPI
definitions: docs/kpi.md; behaviour model: docs/simulation.md.</p>
<table id="kpis"><thead><tr><th>KPI</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
{figures}
</body></html>
"""


def write_report(c: Comparison, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(c), encoding="utf-8")
    return path
