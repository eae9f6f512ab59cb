"""Bulk jobs and the cyclic garbage collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic collector off for a bulk job that allocates millions of containers
    without cycles (parsing a feed, compiling a quarter-million records): each collection
    would walk them all, and cost more than the job. Reference counting still frees
    everything; the collector's previous state comes back afterwards."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def keep_long_lived() -> None:
    """Settle what was just built to live as long as the process (a resident index).

    Built with the collector paused, its millions of objects all sit in the youngest
    generation, and the first collection afterwards — in some unlucky request — walks
    them all (a second, here). One full collection now, then a freeze, so later full
    collections skip them. Thawing first lets what an earlier freeze kept, and is now
    garbage (the index this one replaces), be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
