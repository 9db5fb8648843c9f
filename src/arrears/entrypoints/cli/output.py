"""Text output for people: tables that fit the terminal, grouped digits, one mark for "not defined".

JSON output never goes through here: it keeps plain decimal strings and numbers.

A table fits the console's width (COLUMNS, else the terminal's) by dropping its least important columns,
never by cutting a key: ids, dates, instants and amounts are printed whole (`no_wrap`, `min_width`), other
text folds onto more lines. A dropped column is named under the table, with `--json` as the way to see all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears.entrypoints.cli.language import _

UNDEFINED = "—"  # a value that is not defined (no rate without a denominator, no date yet, nothing set)

Kind = Literal["key", "number", "text"]


def count(n: int | None) -> str:
    """A count with thousands separators: 12,345."""
    return UNDEFINED if n is None else f"{n:,}"


def grouped(amount: str | None) -> str:
    """A decimal string (money from `format_minor`, "-1234567.89") with thousands separators."""
    if amount is None or amount == "":
        return UNDEFINED
    sign, digits = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, dot, fraction = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}" if whole.isdigit() else amount


def money(minor: int | None, currency: str) -> str:
    """An amount in minor units as text for people: 1,234.56."""
    from arrears.domain.money import format_minor

    return UNDEFINED if minor is None else grouped(format_minor(minor, currency))


def percent(rate: float | Decimal | None, digits: int = 1) -> str:
    """A rate as a percentage, or the undefined mark (a rate with nothing to divide by)."""
    return UNDEFINED if rate is None else f"{float(rate) * 100:,.{digits}f}%"


def number(value: Any, digits: int = 2) -> str:
    """Any KPI-like value: counts grouped, fractions to `digits` places, None as the undefined mark."""
    if value is None:
        return UNDEFINED
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.{digits}f}"
    return str(value)


def cell(value: Any) -> str:
    """A table cell: lists joined, nothing as the undefined mark, brackets never taken for Rich markup."""
    if value is None or value == "" or value == []:
        return UNDEFINED
    if isinstance(value, list | tuple):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


@dataclass(frozen=True)
class Column:
    """A column of a fitted table. `key`: ids, dates, instants (never cut); `number`: amounts and counts
    (never cut, right-aligned); `text`: folds. `drop`: the higher, the earlier it goes when space is short
    (0: never dropped)."""

    header: str
    kind: Kind = "text"
    drop: int = 0
    justify: Literal["left", "right", "center"] | None = None


# Room a folding column needs at least to stay readable.
_TEXT_MIN = 8


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    console: Console,
    title: str | None = None,
    caption: str | None = None,
    row_styles: Sequence[str | None] = (),
    **options: Any,
) -> Table:
    """A Rich table of `rows` that fits `console`'s width: the columns with the highest `drop` go first
    until every key and number column has room for its longest value."""
    kept = list(range(len(columns)))

    def needed(indices: list[int]) -> int:
        total = 1  # the left border
        for i in indices:
            longest = max([_width(columns[i].header), *(_width(row[i]) for row in rows)], default=0)
            if columns[i].kind == "text":
                longest = min(longest, max(_TEXT_MIN, _longest_word(columns[i].header)))
            total += longest + 3  # padding either side and the border
        return total

    while needed(kept) > console.width:
        droppable = [i for i in kept if columns[i].drop > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    dropped = [columns[i].header for i in range(len(columns)) if i not in kept]
    if dropped:
        note = _("not shown at this width: {columns} (a wider terminal, or --json)").format(
            columns=", ".join(dropped)
        )
        caption = f"{caption}\n{note}" if caption else note
    table = Table(title=title, caption=caption, **options)
    for i in kept:
        column = columns[i]
        longest = max((_width(row[i]) for row in rows), default=0)
        justify = column.justify or ("right" if column.kind == "number" else "left")
        if column.kind == "text":
            table.add_column(column.header, justify=justify, overflow="fold")
        else:
            table.add_column(column.header, justify=justify, no_wrap=True, min_width=longest)
    for n, row in enumerate(rows):
        table.add_row(*(row[i] for i in kept), style=row_styles[n] if n < len(row_styles) else None)
    return table


def figures(
    pairs: Sequence[tuple[str, str]],
    *,
    console: Console,
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    """A summary's named figures, one a line (the name, then the value right-aligned): fits any width."""
    columns = [Column(_("what")), Column(_("value"), "number")]
    return fitted_table(columns, pairs, console=console, title=title, caption=caption, show_header=False)


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in str(text).splitlines()), default=0)


def _longest_word(text: str) -> int:
    return max((_width(word) for word in text.split()), default=0)
