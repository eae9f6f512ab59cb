"""Reading ahead in a thread: everything, in order, bounded, and nothing left running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from renkei.core.prefetch import prefetched


class Source:
    """Counts what was taken from it, and how far ahead of the consumer."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.made = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise RuntimeError(f"broken at {n}")
                self.made += 1
                yield n
        finally:
            self.closed.set()


def test_every_item_in_order() -> None:
    source = Source(1_000)
    with prefetched(source, depth=3) as items:
        assert list(items) == list(range(1_000))
    assert source.closed.is_set()


def test_the_producer_stays_within_depth_of_the_consumer() -> None:
    source = Source(100)
    with prefetched(source, depth=2) as items:
        for taken, item in enumerate(items, start=1):
            assert item == taken - 1
            assert source.made <= taken + 3  # the queue's two, one in hand, one being made


def test_a_producer_error_reaches_the_consumer_where_it_happened() -> None:
    got: list[int] = []
    with pytest.raises(RuntimeError, match="broken at 5"), \
            prefetched(Source(10, fail_at=5)) as items:
        got.extend(items)
    assert got == [0, 1, 2, 3, 4]


def test_leaving_early_stops_the_producer() -> None:
    source = Source(10**9)
    before = threading.active_count()
    with prefetched(source, depth=2) as items:
        assert next(items) == 0
    assert source.closed.is_set(), "the source was closed, not left half read"
    assert source.made <= 5
    assert threading.active_count() == before


def test_leaving_by_an_error_stops_the_producer() -> None:
    source = Source(10**9)

    def consume() -> None:
        with prefetched(source) as items:
            next(items)
            raise KeyError("consumer failed")

    with pytest.raises(KeyError):
        consume()
    assert source.closed.is_set()
