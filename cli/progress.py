"""Live progress on a terminal: a spinner per long step and a line per fleet run with what it counts.

    with Activity(console) as shown:
        with shown.step("ingest the batches"):
            ...
        ids = asyncio.run(drive(db, current, config, work, watch=shown.watch))

Nothing live is drawn when the console is not a terminal (piped, redirected, --json): lines printed
through `shown.print` come out as plain text either way. On a terminal a finished run leaves one
line behind.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from fleet.runtime import RunEvent


class Activity:
    def __init__(self, console: Console, *, enabled: bool = True):
        self.console = console
        self.live = enabled and console.is_terminal
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=20),
                                  MofNCompleteColumn(), TextColumn("{task.fields[unit]}"), TimeElapsedColumn(),
                                  console=console, disable=not self.live, transient=True)
        self._runs: dict[str, tuple[TaskID, float]] = {}

    def __enter__(self) -> "Activity":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.console.print(*objects, **kwargs)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """A spinner with the elapsed time while the block runs."""
        task = self._progress.add_task(title, total=None, unit="")
        try:
            yield
        finally:
            self._progress.remove_task(task)

    def watch(self, event: RunEvent) -> None:
        """Follow one fleet run (fleet.runtime.RunEvent): its line advances, and ends as a result line."""
        label = f"{event.account} {event.automation}"
        if event.run_id not in self._runs:
            self._runs[event.run_id] = (self._progress.add_task(label, total=None, unit=""), time.monotonic())
        task, started = self._runs[event.run_id]
        if event.state == "running":
            self._progress.update(task, completed=event.done, total=event.total, unit=event.unit)
            return
        self._progress.remove_task(task)
        if self.live:  # a log of finished runs above the live lines; piped output gets the caller's summary
            mark = ("✓", "green") if event.state == "succeeded" else ("✗", "red")
            took = time.monotonic() - started
            self.print(Text.assemble("  ", mark, f" {label}: {event.error_type or event.state} ({took:.0f}s)"))
