"""The comparison report's charts, drawn here as inline SVG (no script, no font or file fetched).

Per policy: month-by-month roll rates with their bootstrap intervals, recovery by segment; side by side:
cumulative recovery, cost against recovery (one dot per seed, a seed's runs joined by a line: they faced the
same borrowers), complaints and legal threats per policy with intervals, and each challenger's differences
from the first policy (B − A) with paired intervals around zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from arrears.adapters.lab_report.language import ReportLanguage
from arrears.adapters.lab_report.text import format_change
from arrears.domain.bootstrap import RATE, Estimate, bootstrap_mean, defined
from arrears.domain.comparison import MONTHLY_BUCKETS, Comparison, Row, monthly_roll_value
from arrears.domain.money import parse_minor
from arrears.domain.roll_rates import next_bucket

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
MONTH_COLOURS = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#041f45", "#020f22")


def _svg_open(width: int, height: int, chart: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{chart}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text x="{width / 2}" y="18" font-size="14" text-anchor="middle">{escape(title)}</text>'
    )


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    exp = 10.0 ** math.floor(math.log10(value))
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


def _legend(names: Sequence[str], x: int, y: int, colours: Sequence[str] = COLOURS) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        colour = colours[i % len(colours)]
        parts.append(f'<rect x="{x}" y="{y + 16 * i}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 18}" y="{y + 10 + 16 * i}" font-size="12">{escape(name)}</text>')
    return parts


def bar_chart(
    chart: str,
    title: str,
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[Estimate]]],
    fmt: Callable[[float], str],
    ceiling: float | None = None,
    colours: Sequence[str] = COLOURS,
) -> str:
    """Grouped bars (one group per category, one bar per series) with whiskers for the 95 % interval where
    there is one; `ceiling` caps the axis (a share never exceeds 1)."""
    width, height = 640, 300
    x0, y0, w, h = 70, height - 40, width - 90 - 150, height - 80
    highs = [e.high if e.high is not None else e.value for _, es in series for e in es]
    top = _nice_max(max((v for v in highs if v is not None), default=1.0))
    if ceiling is not None:
        top = min(top, ceiling)
    parts = [_svg_open(width, height, chart, title)]
    parts += _axes(x0, y0, w, h, top, fmt)
    slot = w / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    for g, group in enumerate(groups):
        gx = x0 + g * slot + slot * 0.1
        parts.append(
            f'<text x="{x0 + g * slot + slot / 2:.1f}" y="{y0 + 16}" font-size="11" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
        for s, (name, estimates) in enumerate(series):
            e = estimates[g]
            if e.value is None:
                continue
            bh = h * min(top, max(0.0, e.value)) / top
            x = gx + s * bar
            colour = colours[s % len(colours)]
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y0 - bh:.1f}" width="{bar * 0.9:.1f}" height="{bh:.1f}" '
                f'fill="{colour}"><title>{escape(name)} {escape(group)}: {escape(fmt(e.value))}</title></rect>'
            )
            if e.low is not None and e.high is not None:
                cx = x + bar * 0.45
                ylo = y0 - h * min(top, max(0.0, e.low)) / top
                yhi = y0 - h * min(top, max(0.0, e.high)) / top
                parts.append(
                    f'<line class="whisker" x1="{cx:.1f}" y1="{ylo:.1f}" x2="{cx:.1f}" y2="{yhi:.1f}" '
                    f'stroke="#000"/>'
                )
    parts += _legend([name for name, _ in series], x0 + w + 16, 40, colours)
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


def scatter_chart(
    chart: str, title: str, x_label: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]
) -> str:
    """One dot per (cost, recovered) of a seed; a seed's dots across policies joined by a grey line (the
    same borrowers), the policy's mean as a larger ring."""
    width, height = 640, 320
    x0, y0, w, h = 80, height - 50, width - 100 - 150, height - 90
    xs = [x for _, pts in series for x, _ in pts] or [1.0]
    ys = [y for _, pts in series for _, y in pts] or [1.0]
    xtop, ytop = _nice_max(max(xs)), _nice_max(max(ys))
    parts = [_svg_open(width, height, chart, title)]
    parts += _axes(x0, y0, w, h, ytop, lambda v: f"¥{v:,.0f}")
    for i in range(5):
        v = xtop * i / 4
        parts.append(
            f'<text x="{x0 + w * i / 4:.1f}" y="{y0 + 16}" font-size="11" text-anchor="middle">¥{v:,.0f}</text>'
        )
    parts.append(
        f'<text x="{x0 + w / 2}" y="{y0 + 34}" font-size="12" text-anchor="middle">{escape(x_label)}</text>'
    )

    def at(x: float, y: float) -> tuple[float, float]:
        return x0 + w * x / xtop, y0 - h * y / ytop

    seeds = min((len(pts) for _, pts in series), default=0)
    for i in range(seeds):
        points = " ".join("{:.1f},{:.1f}".format(*at(*pts[i])) for _, pts in series)
        parts.append(f'<polyline class="pair" fill="none" stroke="#bbbbbb" points="{points}"/>')
    for s, (name, pts) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        for x, y in pts:
            cx, cy = at(x, y)
            parts.append(
                f'<circle class="dot" cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}" fill-opacity="0.7">'
                f"<title>{escape(name)}: ¥{x:,.2f} → ¥{y:,.2f}</title></circle>"
            )
        if pts:
            cx, cy = at(sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="9" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    parts += _legend([name for name, _ in series], x0 + w + 16, 40)
    parts.append("</svg>")
    return "".join(parts)


def difference_chart(
    chart: str, title: str, rows: Sequence[Row], challenger: str, language: ReportLanguage
) -> str:
    """Each rate KPI's difference B − A as a dot with its paired interval, around a zero line (percentage
    points; the axis is symmetric and never wider than ±100)."""
    width = 640
    line = 24
    height = 60 + line * len(rows)
    x0, w = 250, width - 250 - 30
    reach = max(
        (
            abs(v)
            for r in rows
            for e in (r.differences[challenger],)
            for v in (e.value, e.low, e.high)
            if v is not None
        ),
        default=0.0,
    )
    span = min(1.0, _nice_max(reach * 1.1) if reach > 0 else 0.01)
    zero = x0 + w / 2
    parts = [_svg_open(width, height, chart, title)]
    parts.append(f'<line x1="{zero:.1f}" y1="30" x2="{zero:.1f}" y2="{height - 24}" stroke="#333"/>')
    for frac in (-1.0, -0.5, 0.5, 1.0):
        x = zero + frac * w / 2
        parts.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{height - 24}" stroke="#e5e5e5"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle">'
            f"{escape(format_change(frac * span, 'rate', language))}</text>"
        )

    def at(v: float) -> float:
        return zero + (v / span) * w / 2

    for i, row in enumerate(rows):
        y = 44 + line * i
        e = row.differences[challenger]
        parts.append(
            f'<text x="{x0 - 10}" y="{y + 4}" font-size="12" text-anchor="end">{escape(language.t(row.label))}</text>'
        )
        if e.value is None:
            continue
        if e.low is not None and e.high is not None:
            parts.append(
                f'<line class="whisker" x1="{at(e.low):.1f}" y1="{y}" x2="{at(e.high):.1f}" y2="{y}" '
                f'stroke="#000" stroke-width="2"/>'
            )
        parts.append(
            f'<circle class="difference" cx="{at(e.value):.1f}" cy="{y}" r="5" fill="{COLOURS[1]}">'
            f"<title>{escape(format_change(e.value, 'rate', language))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _cumulative(by_day: dict[str, str], days: Sequence[str]) -> list[float]:
    total, out = 0.0, []
    for d in days:
        total += parse_minor(by_day[d]) / 100 if d in by_day else 0.0
        out.append(total)
    return out


def _mean_curves(curves: Sequence[Sequence[float]]) -> list[float]:
    if not curves:
        return []
    return [sum(values) / len(curves) for values in zip(*curves, strict=True)]


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


def charts(c: Comparison, language: ReportLanguage) -> dict[str, str]:
    """The report's SVG charts by name."""
    t = language.t
    days = c.window_days()
    out: dict[str, str] = {}
    months = c.months()
    transitions = [f"{b}→{next_bucket(b)}" for b in MONTHLY_BUCKETS]
    for i, p in enumerate(c.policies):
        if months:
            out[f"roll_rates_{i}"] = bar_chart(
                "roll_rates",
                t("Roll rates month by month — {policy}", policy=p.name),
                transitions,
                [
                    (
                        t("month {n}", n=m),
                        [
                            bootstrap_mean(defined([monthly_roll_value(k, m, b) for k in p.runs]), RATE)
                            for b in MONTHLY_BUCKETS
                        ],
                    )
                    for m in range(1, months + 1)
                ],
                _pct,
                ceiling=1.0,
                colours=MONTH_COLOURS,
            )
    out["recovery"] = line_chart(
        "recovery",
        t("Cumulative recovery (mean over seeds)"),
        days,
        [
            (p.name, _mean_curves([_cumulative(k["recovered_by_day"], days) for k in p.runs]))
            for p in c.policies
        ],
        lambda v: f"¥{v:,.0f}",
    )
    for i, p in enumerate(c.policies):
        segments = sorted({s for k in p.runs for s in k["segments"]})
        out[f"recovery_segments_{i}"] = line_chart(
            "recovery_segments",
            t("Recovery by segment — {policy}", policy=p.name),
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
        t("Cost vs recovery (one dot per seed; a seed's runs joined)"),
        t("cost of contacts"),
        [
            (p.name, [(parse_minor(k["cost"]) / 100, parse_minor(k["recovered"]) / 100) for k in p.runs])
            for p in c.policies
        ],
    )
    out["complaints"] = bar_chart(
        "complaints",
        t("Complaints per 10k contacts (95 % interval)"),
        [t("complaints / 10k contacts")],
        [(p.name, [p.estimate("complaints_per_10k_contacts")]) for p in c.policies],
        lambda v: f"{v:,.1f}",
    )
    out["legal_threats"] = bar_chart(
        "legal_threats",
        t("Accidental late payers who received a legal threat"),
        [t("legal threat share")],
        [(p.name, [p.estimate("accidental_legal_threat_share")]) for p in c.policies],
        _pct,
        ceiling=1.0,
    )
    rate_rows = [r for r in c.rows() if r.kind == "rate"]
    first = c.names[0]
    for i, name in enumerate(c.names[1:], start=1):
        out[f"differences_{i}"] = difference_chart(
            "differences",
            t("{b} − {a}: rate differences with paired 95 % intervals", a=first, b=name),
            rate_rows,
            name,
            language,
        )
    return out
