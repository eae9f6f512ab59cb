"""Reading ahead in a thread: everything, in order, bounded, and nothing left running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from renkei.core import prefetch
from renkei.core.prefetch import prefetched

GUARD = 120  # seconds a hung test is given before it fails: a guard, never a measure


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


def test_leaving_by_an_error_does_not_wait_on_a_producer_stuck_in_a_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer's error goes on at once; the producer, once its read returns, makes
    nothing more and closes its source."""
    monkeypatch.setattr(prefetch, "_JOIN_SECONDS", 0.01)
    reading, release, closed = threading.Event(), threading.Event(), threading.Event()
    made: list[int] = []

    def stuck() -> Iterator[int]:
        try:
            made.append(0)
            yield 0
            reading.set()
            release.wait()  # a read that does not return while the consumer is there
            made.append(1)
            yield 1
            made.append(2)
            yield 2
        finally:
            closed.set()

    raised: list[BaseException] = []

    def consume() -> None:
        try:
            with prefetched(stuck()) as items:
                assert next(items) == 0
                reading.wait()
                raise KeyError("consumer failed")
        except BaseException as error:
            raised.append(error)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(GUARD)
    left = not consumer.is_alive()
    release.set()
    assert left, "leaving waited for the producer's read"
    assert [type(e) for e in raised] == [KeyError]
    assert closed.wait(GUARD)
    assert made == [0, 1], "nothing read past the item in hand"


def test_ctrl_c_in_the_consumer_frees_a_producer_waiting_on_a_full_queue() -> None:
    source = Source(10**9)

    def interrupted() -> None:
        with prefetched(source, depth=1) as items:
            assert next(items) == 0
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert source.closed.is_set()
    assert source.made <= 4


def test_the_consumer_s_error_is_not_replaced_by_the_producer_s() -> None:
    source = Source(10, fail_at=1)  # fails while the consumer is failing

    def consume() -> None:
        with prefetched(source, depth=1) as items:
            assert next(items) == 0
            raise KeyError("consumer")

    with pytest.raises(KeyError, match="consumer"):
        consume()
    assert source.closed.is_set()


def test_a_producer_error_reaches_a_consumer_already_waiting() -> None:
    gate = threading.Event()

    def late_failure() -> Iterator[int]:
        yield 0
        gate.wait()
        raise OSError("the feed went away")

    def consume() -> None:
        with prefetched(late_failure()) as items:
            assert next(items) == 0
            gate.set()
            next(items)

    with pytest.raises(OSError, match="went away"):
        consume()
