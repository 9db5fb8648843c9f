"""The comparison report in English and in Simplified Chinese (src/arrears/locale/zh_CN/LC_MESSAGES/lab.po),
with the catalogue complete: rendering every kind of report in zh-CN leaves no message untranslated."""

from __future__ import annotations

import copy

import pytest

from arrears.adapters.lab_report.html import render_html
from arrears.adapters.lab_report.language import ReportLanguage, language_code, report_language
from arrears.adapters.lab_report.text import interval_notes
from arrears.domain.comparison import METRICS, Comparison
from arrears.domain.errors import InputError
from tests.lab.test_report_browser import comparison


def _one_seed() -> Comparison:
    c = copy.deepcopy(comparison())
    c.seeds = c.seeds[:1]
    for p in c.policies:
        p.runs = p.runs[:1]
    return c


def _no_month() -> Comparison:
    c = copy.deepcopy(comparison())
    for p in c.policies:
        for k in p.runs:
            k["monthly_roll_rates"] = []
    return c


def test_the_report_in_english() -> None:
    html = render_html(comparison(), report_language("en"))
    assert '<html lang="en">' in html and "<title>arrears — policy comparison</title>" in html
    assert "Roll rates month by month" in html and "M1→M2, month 2" in html
    assert "Only 2 seeds" in html


def test_the_report_in_chinese() -> None:
    language = report_language("zh-CN")
    html = render_html(comparison(), language)
    assert '<html lang="zh-CN">' in html and "<title>arrears — 策略对比</title>" in html
    assert "逐月迁徙率" in html and "M1→M2，第 2 月" in html and "回收金额 (¥)" in html
    assert "Roll rates month by month" not in html and "Recovered (¥)" not in html
    assert language.missing == set()


def test_the_catalogue_translates_every_message_of_every_kind_of_report() -> None:
    language = ReportLanguage("zh-CN")
    for c in (comparison(), _one_seed(), _no_month()):
        render_html(c, language)
    many = copy.deepcopy(comparison())
    many.seeds = [0, 1, 2, 3, 4]
    interval_notes(many, language)
    for metric in METRICS:
        language.t(metric.label)
    assert language.missing == set()


def test_one_seed_shows_no_interval_and_says_why() -> None:
    for code, note in (("en", "no interval can be computed"), ("zh-CN", "无法计算区间")):
        html = render_html(_one_seed(), report_language(code))
        assert note in html
        assert '<td class="interval">—</td>' in html and '<td class="diff interval">—</td>' in html
        assert "[" not in html.split('id="kpis"')[1].split("</table>")[0]  # no interval in the KPI table


def test_language_names() -> None:
    assert (
        language_code(None) == "en"
        and language_code("zh_CN") == "zh-CN"
        and language_code("ZH-cn") == "zh-CN"
    )
    with pytest.raises(InputError, match="--lang"):
        language_code("fr")
