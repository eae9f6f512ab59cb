"""Events over a stream of batches: open events carried across batch and file boundaries.

``events.group_events`` sees one batch, so an event cut by a batch boundary comes out as
two. ``OpenEvents`` keeps every event open until its sensor's clock (the latest packet time
read for that sensor) passes its last packet plus the idle timeout, so the events it
closes are the ones ``group_events`` would find in all the packets at once: same keys,
sums, times, fingerprints, and unique destinations as a true union across the cuts.

Memory follows the open events and their distinct destinations, never the packets read:
a batch is one pass of the kernels in ``event_kernels`` over its records, and closed
events leave at once (``add`` returns them). Each sensor's packets must come in time order
across batches (a file's own small disorder within a batch is sorted out); one sensor's
late packets, more than the idle timeout behind its clock, would open a new event.

The same pass hands over the series counts (see ``event_kernels``), which the caller
passes to ``SeriesAccumulator.add_counts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from renkei.sensors import event_kernels as ek
from renkei.sensors.classify import _CLASS_TABLE, _PORT_SOURCE
from renkei.sensors.events import NS, Events
from renkei.sensors.findings import PROBES, Fingerprint, PacketClass
from renkei.sensors.model import IPV4_MAPPED, PACKET

BUFFER_ROWS = 1 << 16       # closed events and series rows handed over per kernel call
_MIN_SLOTS = 1 << 12
_MIN_DSTS = 1 << 16
_NO_TIME = -(1 << 62)
Pairs = dict[str, np.ndarray]


def _power_of_two(at_least: int) -> int:
    return 1 << max(1, int(at_least - 1).bit_length())


@dataclass(slots=True)
class Closed:
    """What one batch closed: events, and series rows (unmerged) for ``add_counts``."""

    events: Events
    counts: Pairs


class OpenEvents:
    """Events open so far; ``add`` feeds a batch, ``close`` ends the stream."""

    def __init__(self, *, idle_timeout_s: float = 600.0, bucket_s: int = 3600, offset_s: int = 0,
                 classes: Iterable[PacketClass] = PROBES, min_dsts: int = 0,
                 buffer_rows: int | None = None) -> None:
        """``min_dsts``: closed events with fewer unique destinations are dropped, not
        returned (a caller that only wants findings passes the smallest threshold)."""
        self.min_dsts = min_dsts
        self.idle_ns = int(idle_timeout_s * NS)
        self.width_ns = int(bucket_s) * NS
        self.offset_ns = int(offset_s) * NS
        self._counted = np.zeros(256, np.bool_)
        self._counted[[int(c) for c in classes]] = True
        self._slots = np.zeros((_MIN_SLOTS, ek.NCOL), np.int64)
        self._free = np.zeros(_MIN_SLOTS, np.int64)
        self._keys = np.zeros((4 * _MIN_SLOTS, 2), np.uint64)
        self._dst4 = np.full((_MIN_DSTS, 2), ek.EMPTY4, np.uint64)
        self._dst6 = np.zeros((_MIN_DSTS, 3), np.uint64)
        self._clock = np.full(1 << 16, _NO_TIME, np.int64)
        self._state = np.zeros(ek.STATE_SIZE, np.int64)
        buffer = max(BUFFER_ROWS if buffer_rows is None else buffer_rows, 4)
        self._events = np.zeros((buffer, ek.NCOL), np.int64)
        self._pairs = np.zeros((buffer, ek.PCOL), np.int64)

    @property
    def open(self) -> int:
        """Events open now."""
        return int(self._state[ek.ST_OPEN])

    @property
    def clocks(self) -> npt.NDArray[np.int64]:
        """Each sensor's clock (ns; a large negative number for a sensor not seen), read-only."""
        view = self._clock.view()
        view.flags.writeable = False
        return view

    @property
    def destinations(self) -> int:
        """Entries in the destination sets (open events' and not yet dropped closed ones')."""
        return int(self._state[ek.ST_D4] + self._state[ek.ST_D6])

    def add(self, packets: np.ndarray, sensor: int | None = None) -> Closed:
        """Feed one batch of ``PACKET`` rows; ``sensor`` is written into every row first."""
        if packets.dtype != PACKET:
            raise TypeError("OpenEvents takes PACKET arrays")
        rows = len(packets)
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        if rows:
            order = (np.zeros(0, np.intp) if ek.is_time_ordered(packets)
                     else np.argsort(packets["ts"], kind="stable"))
            at = 0
            while at < rows:
                self._make_room()
                at = ek.scan_batch(
                    packets, order, at, -1 if sensor is None else int(sensor), _CLASS_TABLE,
                    _PORT_SOURCE, self._counted, self.idle_ns, self.width_ns, self.offset_ns,
                    self.min_dsts, self._slots, self._free, self._keys, self._dst4, self._dst6,
                    self._clock, self._state, self._events, self._pairs)
                parts.append(self._drain())
        self._sweep(False, parts)
        return self._closed(parts)

    def close(self) -> Closed:
        """Close every open event (the end of the stream) and give the tables' memory back."""
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._sweep(True, parts)
        closed = self._closed(parts)
        self._slots = np.zeros((_MIN_SLOTS, ek.NCOL), np.int64)
        self._free = np.zeros(_MIN_SLOTS, np.int64)
        self._keys = np.zeros((4 * _MIN_SLOTS, 2), np.uint64)
        self._dst4 = np.full((_MIN_DSTS, 2), ek.EMPTY4, np.uint64)
        self._dst6 = np.zeros((_MIN_DSTS, 3), np.uint64)
        self._state[[ek.ST_HIGH, ek.ST_FREE, ek.ST_D4, ek.ST_D6]] = 0
        return closed

    def _sweep(self, close_all: bool, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        at = 0
        while at >= 0:
            at = ek.sweep(self._slots, self._free, self._keys, self._clock, self._state,
                          self.idle_ns, self.min_dsts, close_all, at, self._events,
                          self._pairs)
            parts.append(self._drain())

    def _closed(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> Closed:
        rows = [e for e, _ in parts if len(e)]
        pairs = [p for _, p in parts if len(p)]
        events = np.concatenate(rows) if rows else np.zeros((0, ek.NCOL), np.int64)
        return Closed(_events(events),
                      _counts(np.concatenate(pairs) if pairs else np.zeros((0, ek.PCOL), np.int64)))

    def _drain(self) -> tuple[np.ndarray, np.ndarray]:
        state = self._state
        events = self._events[: state[ek.ST_EVENTS]].copy()
        pairs = self._pairs[: state[ek.ST_PAIRS]].copy()
        state[ek.ST_EVENTS] = state[ek.ST_PAIRS] = 0
        return events, pairs

    def _make_room(self) -> None:
        """Grow the tables the kernel stopped for (the same tests as ``scan_batch``'s)."""
        state = self._state
        high, open_ = int(state[ek.ST_HIGH]), int(state[ek.ST_OPEN])
        if state[ek.ST_FREE] == 0 and high + 1 > len(self._slots):
            grown = np.zeros((2 * len(self._slots), ek.NCOL), np.int64)
            grown[:high] = self._slots[:high]
            self._slots = grown
            free = np.zeros(len(grown), np.int64)
            free[: len(self._free)] = self._free
            self._free = free
        if 2 * (open_ + 1) > len(self._keys):
            self._keys = ek.rehash_keys(self._slots, high, _power_of_two(4 * (open_ + 1)))
        full4 = 2 * (state[ek.ST_D4] + 1) > len(self._dst4)
        full6 = 2 * (state[ek.ST_D6] + 1) > len(self._dst6)
        renumber = bool(state[ek.ST_NEXT_ID] >= ek.ID_LIMIT)
        if full4 or full6 or renumber:
            self._rebuild_sets(full4 or renumber, full6 or renumber, renumber)

    def _rebuild_sets(self, four: bool, six: bool, renumber: bool) -> None:
        """Destination sets without the closed events' entries (emptied in place, counted in
        the same pass), each sized for GROWTH times its live ones: only the full one unless
        ids ran short, in place when the size stays, else one at a time (the old set goes
        before the next is made)."""
        ids, owner = ek.open_ids(self._slots, self._state)
        if four:
            live4 = ek.purge(self._dst4, True, ids, owner, renumber)
            size = ek.set_size(live4, _MIN_DSTS)
            if size == len(self._dst4):
                ek.rehash4_in_place(self._slots, self._dst4, ids, owner, renumber)
            else:
                self._dst4 = ek.rebuild4(self._slots, self._dst4, ids, owner, size, renumber)
            self._state[ek.ST_D4] = live4
        if six:
            live6 = ek.purge(self._dst6, False, ids, owner, renumber)
            size = ek.set_size(live6, _MIN_DSTS)
            if size == len(self._dst6):
                ek.rehash6_in_place(self._slots, self._dst6, ids, owner, renumber)
            else:
                self._dst6 = ek.rebuild6(self._slots, self._dst6, ids, owner, size, renumber)
            self._state[ek.ST_D6] = live6
        if renumber:
            ek.renumber_open(self._slots, self._state)


def _events(rows: npt.NDArray[np.int64]) -> Events:
    """Events from slot rows (the same columns and rules as ``group_events``)."""
    small = rows[:, ek.SMALL]
    src_hi = rows[:, ek.SRC_HI].view(np.uint64)
    src_lo = rows[:, ek.SRC_LO].view(np.uint64)
    packets = rows[:, ek.PACKETS].astype(np.uint64)
    mapped = (src_hi == 0) & ((src_lo >> np.uint64(32)) == (IPV4_MAPPED >> np.uint64(32)))
    flags = np.zeros(len(rows), np.uint8)
    for flag, column in ((Fingerprint.ZMAP, ek.ZMAP), (Fingerprint.MASSCAN, ek.MASSCAN),
                         (Fingerprint.MIRAI, ek.MIRAI)):
        carried = rows[:, column].astype(np.uint64)
        flags[(carried > 0) & (2 * carried >= packets)] |= np.uint8(flag)
    return Events(
        sensor=(small >> 32).astype(np.uint16),
        src_hi=src_hi.copy(),
        src_lo=src_lo.copy(),
        version=np.where(mapped, 4, 6).astype(np.uint8),
        proto=((small >> 24) & 0xFF).astype(np.uint8),
        port=((small >> 8) & 0xFFFF).astype(np.uint16),
        cls=(small & 0xFF).astype(np.uint8),
        first=rows[:, ek.FIRST].copy(),
        last=rows[:, ek.LAST].copy(),
        packets=packets,
        bytes=rows[:, ek.BYTES].astype(np.uint64),
        rows=rows[:, ek.ROWS].astype(np.uint64),
        unique_dsts=rows[:, ek.UNIQUE].astype(np.uint64),
        fingerprints=flags,
    )


def _counts(rows: npt.NDArray[np.int64]) -> Pairs:
    return {
        "bucket": rows[:, ek.P_BUCKET].copy(),
        "sensor": rows[:, ek.P_SENSOR].astype(np.uint16),
        "proto": rows[:, ek.P_PROTO].astype(np.uint8),
        "port": rows[:, ek.P_PORT].astype(np.uint16),
        "src_hi": rows[:, ek.P_SRC_HI].view(np.uint64).copy(),
        "src_lo": rows[:, ek.P_SRC_LO].view(np.uint64).copy(),
        "packets": rows[:, ek.P_PACKETS].astype(np.uint64),
    }
