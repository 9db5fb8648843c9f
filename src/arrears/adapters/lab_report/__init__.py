"""The strategy lab's report for people: the comparison (arrears.domain.comparison) as text and as one
self-contained HTML file with inline SVG charts, in English or Simplified Chinese.

    language.py   the report's gettext catalogue (locale/*/LC_MESSAGES/lab.po, read with Babel)
    text.py       values, differences, intervals and the notes on them, as text
    html.py       the HTML file (render_html, write_report)
    charts.py     its charts
"""
