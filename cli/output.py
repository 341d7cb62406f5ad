"""Terminal layout: tables fitted to the terminal's width, labelled fields, money and dates.

A table drops its least important columns to fit (never cutting a cell: a truncated amount or date
is worse than a missing column) and says which; `--wide` shows them all. Cells and values are plain
text, never Rich markup, so a bracketed word in user data prints as written.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from cli.context import console

WIDE_HELP = "Show every column, however wide the terminal."


@dataclass(frozen=True)
class Column:
    header: str
    rank: int = 0  # lower is more important: kept first when the terminal is narrow
    justify: str = "left"
    wraps: bool = False  # free text that may wrap onto more lines (kept at least WRAP_MIN wide)


def money(value: Decimal | float | int | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else value.isoformat()


WRAP_MIN = 12


def _table(columns: Sequence[Column], rows: Sequence[Sequence[Text]], keep: Iterable[int], title: str | None,
           *, narrowest: bool = False) -> Table:
    # narrowest: free-text columns at their least width, to see whether a set of columns fits.
    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False,
                  collapse_padding=True)
    chosen = sorted(keep)
    for i in chosen:
        col = columns[i]
        table.add_column(col.header, justify=col.justify, no_wrap=not col.wraps, overflow="fold",
                         min_width=WRAP_MIN if col.wraps else None,
                         max_width=WRAP_MIN if col.wraps and narrowest else None)
    for row in rows:
        table.add_row(*(row[i] for i in chosen))
    return table


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, wide: bool = False,
                 title: str | None = None, out: Console | None = None) -> None:
    """Print `rows` (plain values, or Text for a styled cell) with as many columns as fit the terminal,
    most important first; `wide`: all of them."""
    out = out or console
    rows = [[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row] for row in rows]
    unbounded = out.options.update_width(10_000)

    def natural_width(keep: Iterable[int], narrowest: bool = False) -> int:
        return Measurement.get(out, unbounded, _table(columns, rows, keep, None, narrowest=narrowest)).maximum

    if wide:  # as wide as the table needs (the terminal wraps what is wider): Rich caps print(width=)
        full = Console(file=out.file, width=max(out.width, natural_width(range(len(columns)))),
                       force_terminal=out.is_terminal, color_system=out.color_system)
        full.print(_table(columns, rows, range(len(columns)), title))
        return
    keep: list[int] = []
    for i in sorted(range(len(columns)), key=lambda i: columns[i].rank):
        if not keep or natural_width([*keep, i], narrowest=True) <= out.width:
            keep.append(i)
    out.print(_table(columns, rows, keep, title))
    hidden = [columns[i].header for i in range(len(columns)) if i not in keep]
    if hidden:
        out.print(Text(f"not shown at {out.width} columns: {', '.join(hidden)} (--wide shows them)", style="dim"))


def labelled(fields: Iterable[tuple[str, Any]], *, out: Console | None = None) -> None:
    """`label  value` lines; values wrap under themselves. Empty values are left out."""
    out = out or console
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    for label, value in fields:
        if value not in (None, "", [], {}):
            grid.add_row(label, Text(str(value)))
    out.print(grid)
