"""Small server-drawn SVG charts (no script, no CDN): bars for rates by bucket, a line for a daily series."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 560, 200, 32


def bars(points: list[tuple[str, float]], *, percent: bool = False, label: str = "") -> str:
    """A bar chart of (name, value); values as percentages when `percent`."""
    if not points:
        return ""
    top = max(v for _, v in points) or 1.0
    step = (WIDTH - 2 * PAD) / len(points)
    parts = []
    for i, (name, value) in enumerate(points):
        h = (HEIGHT - 2 * PAD) * value / top
        x = PAD + i * step + step * 0.15
        shown = f"{value * 100:.1f}%" if percent else f"{value:,.0f}"
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'class="bar"><title>{escape(name)}: {shown}</title></rect>'
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle">{escape(name)}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD - h - 4:.1f}" text-anchor="middle">{shown}</text>'
        )
    return _svg(label, "".join(parts))


def line(points: list[tuple[str, float]], *, label: str = "") -> str:
    """A cumulative line of a daily series (name = day)."""
    if not points:
        return ""
    total, cumulative = 0.0, []
    for name, value in points:
        total += value
        cumulative.append((name, total))
    top = cumulative[-1][1] or 1.0
    n = max(1, len(cumulative) - 1)
    coords = " ".join(
        f"{PAD + i * (WIDTH - 2 * PAD) / n:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}"
        for i, (_, v) in enumerate(cumulative)
    )
    first, last = cumulative[0][0], cumulative[-1][0]
    body = (
        f'<polyline points="{coords}" class="line"/>'
        f'<text x="{PAD}" y="{HEIGHT - 8}">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end">{escape(last)}</text>'
        f'<text x="{WIDTH - PAD}" y="{PAD - 8}" text-anchor="end">{top:,.2f}</text>'
    )
    return _svg(label, body)


def _svg(label: str, body: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" class="chart">'
        f"{body}</svg>"
    )
