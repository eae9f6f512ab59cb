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
