"""The comparison's figures as text, in the report's language: values, B − A differences, intervals and the
notes on what the intervals mean (the terminal table, the HTML report and the README's demo table)."""

from __future__ import annotations

import math

from arrears.adapters.lab_report.language import ReportLanguage
from arrears.domain.bootstrap import Estimate
from arrears.domain.comparison import ENOUGH_SEEDS, NOT_DEFINED, Comparison


def format_value(value: float | None, kind: str) -> str:
    if value is None or math.isnan(value):
        return NOT_DEFINED
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "count":
        return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
    return f"{value:,.4g}"


def format_change(value: float | None, kind: str, language: ReportLanguage, unit: bool = True) -> str:
    """A difference B − A with its sign (none when it rounds to zero); a difference of rates in percentage
    points ("+3.2 pp"; without the unit when `unit` is False)."""
    if value is None or math.isnan(value):
        return NOT_DEFINED
    if kind == "rate":
        size = f"{abs(value) * 100:.1f}"
        suffix = f" {language.t('pp')}" if unit else ""
    else:
        size = format_value(abs(value), kind)
        suffix = ""
    if not any(ch in "123456789" for ch in size):
        return f"{size}{suffix}"
    return f"{'+' if value > 0 else '−'}{size}{suffix}"


def format_interval(estimate: Estimate, kind: str, language: ReportLanguage, change: bool = False) -> str:
    """ "[low, high]" in the value's unit ("[−1.2, +0.4] pp" for a difference of rates), or NOT_DEFINED when
    there is no interval (fewer than two seeds)."""
    if estimate.low is None or estimate.high is None:
        return NOT_DEFINED
    if change:
        low = format_change(estimate.low, kind, language, unit=False)
        high = format_change(estimate.high, kind, language, unit=False)
        return f"[{low}, {high}]" + (f" {language.t('pp')}" if kind == "rate" else "")
    return f"[{format_value(estimate.low, kind)}, {format_value(estimate.high, kind)}]"


def format_estimate(estimate: Estimate, kind: str, language: ReportLanguage, change: bool = False) -> str:
    """Value and interval on two lines (the terminal table's cell)."""
    value = format_change(estimate.value, kind, language) if change else format_value(estimate.value, kind)
    return f"{value}\n{format_interval(estimate, kind, language, change)}"


def interval_notes(c: Comparison, language: ReportLanguage) -> list[str]:
    """What the intervals mean, and what they cannot say with few seeds."""
    t = language.t
    notes = [
        t(
            "Paired seeds {seeds}: for each seed every policy faces the same borrowers and the same luck. "
            "Value: the mean over the seeds; interval: a 95 % percentile bootstrap over the seeds "
            "(10,000 resamples, seeded), clamped to what the KPI can be (a rate within 0–100 %). "
            "B − A: the mean of the per-seed differences, with a paired bootstrap interval (a seed where "
            "either value is undefined is left out of the pairs).",
            seeds=", ".join(str(s) for s in c.seeds),
        )
    ]
    if len(c.seeds) < 2:
        notes.append(
            t(
                "One seed: no interval can be computed ({symbol}). Run with --seeds {enough} or more.",
                symbol=NOT_DEFINED,
                enough=ENOUGH_SEEDS,
            )
        )
    elif len(c.seeds) < ENOUGH_SEEDS:
        notes.append(
            t(
                "Only {n} seeds: a bootstrap over so few seeds gives intervals that are too narrow; "
                "use {enough} or more.",
                n=len(c.seeds),
                enough=ENOUGH_SEEDS,
            )
        )
    return notes
