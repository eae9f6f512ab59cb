"""Showing the seeding's steps: a rich progress bar on a terminal, a line a step elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from renkei.core.i18n import Translate
from renkei.core.progress import stderr_console
from renkei.demo.banner import SEEDING

OnStep = Callable[[str, int, int], None]


@contextmanager
def seeding_progress(_: Translate) -> Iterator[OnStep]:
    """An ``on_step`` for ``seed`` that shows which step runs and how many are done."""
    title = _(SEEDING)
    if not stderr_console.is_terminal:
        def plain(name: str, done: int, total: int) -> None:
            if name:
                stderr_console.print(f"{title} ({done + 1}/{total}): {_(name)}", markup=False,
                                     highlight=False)
        yield plain
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=stderr_console, transient=False) as progress:
        task = progress.add_task(title, total=None)

        def show(name: str, done: int, total: int) -> None:
            description = escape(f"{title}: {_(name)}" if name else title)
            progress.update(task, description=description, completed=done, total=total)

        yield show
