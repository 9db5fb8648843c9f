"""The comparison as one self-contained HTML file: notes on the method, the KPI table (each policy's value
with its interval, each challenger's difference from the first policy with its paired interval), the
month-by-month roll rates, then the charts (charts.py). No script, stylesheet or font fetched."""

from __future__ import annotations

from html import escape
from pathlib import Path

from arrears.adapters.lab_report.charts import charts
from arrears.adapters.lab_report.language import ReportLanguage
from arrears.adapters.lab_report.text import format_change, format_interval, format_value, interval_notes
from arrears.domain.comparison import Comparison, Row


def _head(c: Comparison, language: ReportLanguage, first_column: str) -> str:
    t = language.t
    names = c.names
    top = [f'<th scope="col" rowspan="2">{escape(first_column)}</th>']
    top += [f'<th scope="colgroup" colspan="2">{escape(n)}</th>' for n in names]
    top += [
        f'<th scope="colgroup" colspan="2" class="diff">{escape(t("{b} − {a}", a=names[0], b=n))}</th>'
        for n in names[1:]
    ]
    second = [
        f'<th scope="col">{escape(t("value"))}</th><th scope="col">{escape(t("95 % interval"))}</th>'
    ] * (2 * len(names) - 1)
    return f"<thead><tr>{''.join(top)}</tr><tr>{''.join(second)}</tr></thead>"


def _cells(row: Row, language: ReportLanguage) -> str:
    cells = []
    for estimate in row.arms.values():
        cells.append(f"<td>{escape(format_value(estimate.value, row.kind))}</td>")
        cells.append(f'<td class="interval">{escape(format_interval(estimate, row.kind, language))}</td>')
    for estimate in row.differences.values():
        cells.append(f'<td class="diff">{escape(format_change(estimate.value, row.kind, language))}</td>')
        cells.append(
            f'<td class="diff interval">{escape(format_interval(estimate, row.kind, language, change=True))}</td>'
        )
    return "".join(cells)


def render_html(c: Comparison, language: ReportLanguage | None = None) -> str:
    """The self-contained report in `language` (English by default)."""
    language = language or ReportLanguage()
    t = language.t
    kpi_rows = "".join(
        f"<tr><th scope='row'>{escape(t(row.label))}</th>{_cells(row, language)}</tr>" for row in c.rows()
    )
    monthly = "".join(
        f"<tr><th scope='row'>{escape(t('{transition}, month {n}', transition=row.label, n=month))}</th>"
        f"{_cells(row, language)}</tr>"
        for month, _, row in c.monthly_rows()
    )
    monthly_table = (
        f"<h2>{escape(t('Roll rates month by month'))}</h2>"
        f'<p class="note">{escape(t(MONTHLY_NOTE))}</p>'
        f'<table id="monthly_roll_rates">{_head(c, language, t("roll"))}<tbody>{monthly}</tbody></table>'
        if monthly
        else f'<p class="note">{escape(t("The window holds no whole 30-day month: no month-by-month roll rates."))}</p>'
    )
    figures = "".join(f'<figure id="{name}">{svg}</figure>' for name, svg in charts(c, language).items())
    files = ", ".join(f"{escape(p.name)} ({escape(p.path)})" for p in c.policies)
    notes = "".join(f'<p class="note">{escape(note)}</p>' for note in interval_notes(c, language))
    lang = "zh-CN" if language.code == "zh-CN" else "en"
    setting = t(
        "Policies: {files}. {borrowers} synthetic borrowers, {days} days from {start}. KPI definitions: "
        "docs/kpi.md; behaviour model and method: docs/simulation.md.",
        files=files,
        borrowers=f"{c.borrowers:,}",
        days=c.days,
        start=c.start.isoformat(),
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(t("arrears — policy comparison"))}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0 24px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
th[scope=row] {{ text-align: left; font-weight: normal; }}
td.interval {{ color: #444; font-size: 90%; }}
.diff {{ background: #f6f6f0; }}
figure {{ display: inline-block; margin: 8px; }}
.note {{ color: #444; font-size: 13px; max-width: 60em; }}
</style></head>
<body>
<h1>{escape(t("Policy comparison"))}</h1>
<p class="note">{setting}</p>
{notes}
<table id="kpis">{_head(c, language, t("KPI"))}<tbody>{kpi_rows}</tbody></table>
{monthly_table}
<h2>{escape(t("Charts"))}</h2>
{figures}
</body></html>
"""


MONTHLY_NOTE = (
    "Of the accounts in a bucket at the start of each 30-day month, the share in a worse bucket at its end "
    "(with 30-day buckets: the next one)."
)


def write_report(c: Comparison, out: str | Path, language: ReportLanguage | None = None) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(c, language), encoding="utf-8")
    return path
