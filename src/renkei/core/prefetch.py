"""Reading ahead in a thread: parse the next batch while the database writes this one.

A bulk import alternates between Python work (parsing a feed, preparing rows) and waits
for the database (COPY, lookups), during which the driver lets go of the GIL. Run the
parsing in a thread of its own, a bounded number of items ahead, and the two overlap on a
second core instead of taking turns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a blocked producer looks whether the consumer left


@contextmanager
def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """``items`` produced by a daemon thread, at most ``depth`` ahead of the consumer, in
    their order. An exception the producer raises is raised to the consumer at the point
    it reached. Leaving the block (however) stops the producer once its current item is
    made and waits for it, so nothing reads on behind the caller's back."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((False, item)):
                    return
            put((False, done))
        except BaseException as error:  # handed to the consumer, raised there
            put((True, error))

    def consume() -> Iterator[T]:
        while True:
            failed, item = handoff.get()
            if failed:
                assert isinstance(item, BaseException)
                raise item
            if item is done:
                return
            yield cast(T, item)

    thread = threading.Thread(target=produce, name="renkei-prefetch", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
