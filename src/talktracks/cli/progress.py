"""Progress on standard error for long commands: one look (rich) across every command.

A spinner with elapsed time for a phase of unknown length ("starting Prefect", "loading
model"), a bar for counted work (calls). Both are silent when standard error is not a terminal
(cron, systemd, pipes), so logs hold only the lines a command prints on purpose. rich is
imported here, inside the calls, never when the CLI starts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def interactive(enabled: bool = True) -> bool:
    """Whether progress may be drawn: asked for, and standard error is a terminal."""
    return enabled and sys.stderr.isatty()


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def phase(text: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with elapsed seconds while the block runs; a tick line when it is done."""
    if not interactive(enabled):
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_console(),
        transient=True,
    ) as progress:
        progress.add_task(text, total=None)
        yield
    _console().print(f"[green]✓[/green] {text}", highlight=False)


class Bar:
    """A counted progress bar; `advance(note)` moves it on and shows the note beside it."""

    def __init__(self, total: int, text: str, *, enabled: bool = True) -> None:
        self._progress: Any = None
        if not interactive(enabled):
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=_console(),
        )
        self._task = self._progress.add_task(text, total=total, note="")
        self._progress.start()

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def advance(self, note: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, note=note)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
