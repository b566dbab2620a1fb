"""Progress reporting: rich bars on a terminal, silence in tests and pipes."""
from __future__ import annotations

import contextlib
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .text_safety import escape_control


class Reporter:
    """Stages with optional progress bars, plus a log of stage timings."""

    def __init__(self, console: Console | None = None, enabled: bool = True):
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._progress: Progress | None = None

    def log(self, message: str) -> None:
        if self.enabled:
            # Text, not markup: messages quote names and file names from the input.
            self.console.print(Text(escape_control(message), style="dim"))

    def warn(self, message: str) -> None:
        # Warnings are always shown: they report lost or recomputed work.
        self.console.print(Text("warning: ", style="yellow") + Text(escape_control(message)))

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None):
        """Time a stage; yields advance(n) for a progress bar when total is known."""
        start = time.perf_counter()
        if not self.enabled or total is None:
            if self.enabled:
                self.log(f"{name}...")
            yield lambda n=1: None
        else:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=self.console, transient=True) as prog:
                task = prog.add_task(name, total=total)
                yield lambda n=1: prog.advance(task, n)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


QUIET = Reporter(enabled=False)
