"""`arrears model report ID`: one self-contained HTML page (inline SVG and CSS, no script, no CDN) with the
test days' ROC, KS and calibration curves, feature importance, metrics per part and bucket, and the
scorecard table."""

from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 320, 240, 32


def _svg_lines(series: list[tuple[str, str, list[tuple[float, float]]]], x_label: str, y_label: str) -> str:
    def sx(x: float) -> float:
        return PAD + x * (W - 2 * PAD)

    def sy(y: float) -> float:
        return H - PAD - y * (H - 2 * PAD)

    parts = [
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(y_label)} by {escape(x_label)}">',
        f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#999"/>',
        f'<text x="{W / 2}" y="{H - 6}" text-anchor="middle" font-size="11">{escape(x_label)}</text>',
        f'<text x="10" y="{H / 2}" font-size="11" transform="rotate(-90 10 {H / 2})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for k, (name, colour, points) in enumerate(series):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.append(
            f'<text x="{PAD + 6}" y="{PAD + 14 + 13 * k}" font-size="11" fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bars(rows: list[dict[str, Any]]) -> str:
    top = max((float(r["weight"]) for r in rows), default=0.0) or 1.0
    out = []
    for r in rows[:20]:
        width = 300 * float(r["weight"]) / top
        out.append(
            f'<div class="bar"><span class="name">{escape(r["feature"])}</span>'
            f'<svg width="310" height="14" aria-hidden="true"><rect width="{width:.1f}" height="12" fill="#3a6ea5"/></svg>'
            f"<span>{r['weight']}</span></div>"
        )
    return "".join(out)


def render_report(model_id: str, doc: dict[str, Any]) -> str:
    test = doc["metrics"]["test"]
    roc = [(float(a), float(b)) for a, b in doc.get("roc", [])]
    ks_curve = doc.get("ks_curve", [])
    events = [(k / max(len(ks_curve) - 1, 1), float(row[1])) for k, row in enumerate(ks_curve)]
    non_events = [(k / max(len(ks_curve) - 1, 1), float(row[2])) for k, row in enumerate(ks_curve)]
    deciles = test.get("deciles", [])
    top_p = max([d["predicted"] for d in deciles] + [d["observed"] for d in deciles] + [0.01])
    calibration = [
        (d["predicted"] / top_p, d["observed"] / top_p) for d in sorted(deciles, key=lambda d: d["predicted"])
    ]
    importance = doc.get("importance", [])
    metric_rows = [
        {"part": part, **{k: v for k, v in m.items() if k not in ("deciles", "auc_by_bucket")}}
        for part, m in doc["metrics"].items()
    ]
    bucket_rows = [{"bucket": b, "auc": v} for b, v in test.get("auc_by_bucket", {}).items()]
    split = doc.get("split", {})
    scorecard = doc.get("scorecard_table", [])
    sections = [
        f"<h1>Model {escape(model_id)}</h1>",
        f"<p>Target <b>{escape(doc['target'])}</b>, family <b>{escape(doc['family'])}</b>; observations "
        f"{doc.get('observations')} ({doc.get('events')} events) on days {escape(doc.get('trained_from', ''))} .. "
        f"{escape(doc.get('trained_to', ''))} every {doc.get('every_days')} days. Time split: train "
        f"{' .. '.join(split.get('train', []))}, validation (calibration) {' .. '.join(split.get('valid', []))}, "
        f"test {' .. '.join(split.get('test', []))}.</p>",
        f"<p class='headline'>Test: AUC <b>{test['auc']}</b> · KS <b>{test['ks']}</b> · Brier <b>{test['brier']}</b> · "
        f"largest calibration gap by decile <b>{round(100 * test['calibration_error'], 1)} pp</b></p>",
        "<h2>Metrics by period</h2>",
        _table(
            metric_rows,
            ["part", "accounts", "events", "event_rate", "auc", "ks", "brier", "calibration_error"],
        ),
        "<div class='charts'>",
        "<figure><figcaption>ROC (test days)</figcaption>"
        + _svg_lines(
            [("model", "#3a6ea5", roc), ("chance", "#bbb", [(0, 0), (1, 1)])],
            "false positive rate",
            "true positive rate",
        )
        + "</figure>",
        f"<figure><figcaption>KS (test days): {test['ks']}</figcaption>"
        + _svg_lines(
            [("events", "#c0392b", events), ("non-events", "#27ae60", non_events)],
            "share of accounts, highest score first",
            "cumulative share",
        )
        + "</figure>",
        "<figure><figcaption>Calibration by decile (observed vs predicted)</figcaption>"
        + _svg_lines(
            [("model", "#8e44ad", calibration), ("perfect", "#bbb", [(0, 0), (1, 1)])],
            f"predicted (0 .. {top_p:.2f})",
            "observed",
        )
        + "</figure>",
        "</div>",
        "<h2>Calibration and lift by decile (test days; decile 1 = highest score)</h2>",
        _table(deciles, ["decile", "accounts", "predicted", "observed", "lift"]),
        "<h2>AUC by bucket (test days)</h2>",
        _table(bucket_rows, ["bucket", "auc"]) if bucket_rows else "<p>one bucket only</p>",
        "<h2>Feature importance</h2>",
        "<p>"
        + (
            "information value of each characteristic"
            if doc["family"] == "scorecard"
            else "mean |SHAP value| on the test days (log-odds)"
        )
        + "</p>",
        _bars(importance),
    ]
    if scorecard:
        sections += [
            "<h2>Scorecard</h2><p>Points per bin (more points = less likely the event; PDO 20, 600 points at odds 50:1). "
            "A reason code is a characteristic whose bin is worth fewer points than its best bin.</p>",
            _table(scorecard, ["feature", "bin", "count", "event_rate", "woe", "points", "iv"]),
        ]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "th{background:#f0f0f0}.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}"
        ".bar{display:flex;gap:.5em;align-items:center}.bar .name{width:220px;text-align:right}.headline{font-size:1.1em}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Model {escape(model_id)}</title><style>{style}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )
