"""Progress display for long jobs: a rich bar on a terminal, silence elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from renkei.core.text import visible

stderr_console = Console(stderr=True)


class ByteProgress:
    """Advances one task per file by bytes read; no-op when output is not a terminal."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, description: str, total: int | None) -> None:
        if self._progress is not None:
            # a file's name: its "[…]" shown as it is, its control characters made visible
            self._task = self._progress.add_task(escape(visible(description)), total=total)

    def advance(self, amount: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total or task.completed)


@contextmanager
def byte_progress(enabled: bool = True) -> Iterator[ByteProgress]:
    if not (enabled and stderr_console.is_terminal):
        yield ByteProgress(None)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr_console, transient=False) as progress:
        yield ByteProgress(progress)
