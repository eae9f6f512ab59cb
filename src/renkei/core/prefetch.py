"""Reading ahead in a thread: parse the next batch while the database writes this one.

A bulk import alternates between Python work (parsing a feed, preparing rows) and waits
for the database (COPY, lookups), during which the driver lets go of the GIL. Run the
parsing in a thread of its own, a bounded number of items ahead, and the two overlap on a
second core instead of taking turns.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

T = TypeVar("T")

_POLL_SECONDS = 0.1  # how often a blocked producer looks whether the consumer left
_JOIN_SECONDS = 2.0  # how long leaving waits for a producer busy in a slow read

log = logging.getLogger(__name__)


@contextmanager
def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[Iterator[T]]:
    """``items`` produced by a daemon thread, at most ``depth`` ahead of the consumer, in
    their order. An exception the producer raises is raised to the consumer at the point
    it reached. Leaving the block (however: the end, ``break``, an exception, Ctrl-C) tells
    the producer to stop, empties the queue so a producer waiting to hand over an item
    goes at once, and waits for it to close ``items``, but a bounded time only: a producer
    stuck in a slow read is left to stop by itself when the read returns (the thread is a
    daemon), and the consumer's own exception goes on unchanged."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def put(item: tuple[bool, object]) -> bool:
        """Hand ``item`` over; False when the consumer has left (nothing more to make)."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return not stop.is_set()  # left while this waited: make no further item
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
        _drain(handoff)  # a put waiting for room returns now, not at its next poll
        thread.join(_JOIN_SECONDS)
        _drain(handoff)  # what it handed over while stopping: nothing is kept alive by it
        if thread.is_alive():
            log.warning("prefetch: the producer is still reading; left to stop by itself")


def _drain(handoff: queue.Queue[tuple[bool, object]]) -> None:
    while True:
        try:
            handoff.get_nowait()
        except queue.Empty:
            return
