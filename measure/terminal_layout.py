"""Terminal tables that fit the console without cutting names.

A `Fit` holds several layouts of one result, widest first, each with the
least width at which none of its unwrappable cells (a name, a number, an
interval) is cut; rich picks the first that fits when it renders. Used by
`inspect` here and by the commands of `ensemble.cli`.
"""
from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text


class Fit:
    """The first of several layouts that fits the console's width.

    Layouts are tried at render time, so one result prints whole on a wide
    terminal and as narrower tables (compact borders, columns moved to a
    second table, fewer columns) at 80. Each layout comes with the least
    width at which no unwrappable cell (a name, a number, an interval) is cut.
    """

    def __init__(self, *layouts: tuple[object, int]):
        self.layouts = layouts

    def choose(self, width: int):
        for layout, need in self.layouts:
            if need <= width:
                return layout
        return self.layouts[-1][0]

    def __rich_console__(self, console: Console, options):
        yield self.choose(options.max_width)


def _lines(cell) -> list[str]:
    return (cell.plain if isinstance(cell, Text) else str(cell)).split("\n")


def sized_table(title: str | None, columns: list[tuple[str, str, bool]], rows: list[list],
                compact: bool, caption: str | None = None) -> tuple[Table, int]:
    """A table and the least width that keeps its unwrappable cells whole.

    columns: (header, justify, wraps). A column that does not wrap is as wide
    as its widest line; one that wraps needs its longest word.
    """
    t = Table(title=title, caption=caption, box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
              show_edge=not compact, pad_edge=not compact, caption_justify="left")
    need = 0
    for i, (header, justify, wraps) in enumerate(columns):
        lines = [ln for r in rows for ln in _lines(r[i])]
        words = [w for ln in lines + header.split("\n") for w in ln.split()]
        width = max(map(cell_len, words if wraps else lines + header.split("\n")), default=1)
        need += width
        t.add_column(header, justify=justify, no_wrap=not wraps, overflow="fold",
                     min_width=None if wraps else width)
    for r in rows:
        t.add_row(*r)
    n = len(columns)
    # borders and padding: "┃ a ┃ b ┃" is 3n + 1; compact "a   b" (no edges) is 3n - 3
    need += 3 * n - 3 if compact else 3 * n + 1
    return t, need


def group(*tables: tuple[Table, int]) -> tuple[Group, int]:
    """Tables printed one after another, as one layout."""
    return Group(*(t for t, _ in tables)), max(n for _, n in tables)
