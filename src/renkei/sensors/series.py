"""Time series per bucket, sensor, protocol and port: packets and unique sources.

Counts must add up across chunks (a day arrives as 24 hourly files, a month as days), and
unique sources do not add: a source seen in two chunks is one source. So the accumulator
keeps one row per (bucket, sensor, protocol, port, source) with its packets, merges those
rows exactly (``grouping.group``, the same packed radix sort as the events) and counts
sources only once a bucket is complete: ``complete`` reduces the buckets each sensor has
left behind to counts (``series_counts``, about 25 bytes per (bucket, sensor, protocol,
port)), so per-source rows are held only for open buckets. Exactness matters for the
rises judged on these counts, so no HyperLogLog sketch. ``finish_before`` hands over
complete buckets and forgets them.

The series counts probes by default (what scanners aim at, keyed by destination port);
pass ``classes=BACKSCATTER`` for a backscatter series keyed by the victims' service port.
Buckets start at multiples of the width from the epoch in local time ``offset_s`` east
of UTC (``offset_s=9 * 3600`` makes daily buckets start at midnight in Japan).
Sources on the research-scanner list are counted apart (``research_packets``,
``research_sources``) so that rises can leave them out and charts still show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from renkei.sensors.classify import classify, service
from renkei.sensors.columns import Packets, as_columns
from renkei.sensors.events import NS, U8
from renkei.sensors.findings import PROBES, PacketClass, SensorSizes
from renkei.sensors.grouping import group
from renkei.sensors.research import ResearchScanners
from renkei.sensors.series_counts import Counts, SeriesCounts, combine, reduce_pairs

BUCKETS = {"5m": 300, "1h": 3600, "1d": 86_400}
KEY = ["bucket", "sensor", "proto", "port"]
_PAIR = (*KEY, "src_hi", "src_lo")
_DTYPES = {"bucket": np.int64, "sensor": np.uint16, "proto": np.uint8, "port": np.uint16,
           "src_hi": np.uint64, "src_lo": np.uint64, "packets": np.uint64}
_FIELDS = ("ts", "sensor", "src_hi", "src_lo", "count", "proto", "tcp_flags", "icmp_type", "frag",
           "inner_proto", "dport", "sport", "inner_dport")
COMPACT_ROWS = 4_000_000
_NO_BUCKET = -(1 << 62)
Pairs = dict[str, np.ndarray]


def bucket_seconds(bucket: str | int) -> int:
    """``"5m"``, ``"1h"``, ``"1d"`` or a number of seconds."""
    seconds = BUCKETS[bucket] if isinstance(bucket, str) else int(bucket)
    if seconds <= 0:
        raise ValueError(f"bucket width must be positive, not {bucket!r}")
    return seconds


def _merge(pairs: Pairs) -> Pairs:
    """One row per (bucket, sensor, proto, port, source), in that order, packets summed.

    IPv4(-mapped) sources and the others are merged apart and then interleaved: an IPv4
    key packs into two sort words where a mix of both families needs four.
    """
    return _merge_parts([pairs])


def _merge_parts(parts: list[Pairs]) -> Pairs:
    """``_merge`` of the parts together (split by family part by part: no copy of all)."""
    rows = sum(len(part["packets"]) for part in parts)
    if not rows:
        return _empty() if len(parts) != 1 else parts[0]
    masks = [(part["src_hi"] == 0) & ((part["src_lo"] >> _S32) == _MAPPED_TOP) for part in parts]
    some = sum(int(np.count_nonzero(mask)) for mask in masks)
    low = min(int(part["bucket"].min()) for part in parts if len(part["packets"]))
    high = max(int(part["bucket"].max()) for part in parts if len(part["packets"]))
    if some in (0, rows) or high - low >= 1 << 24:
        return _merge_one(_join(parts, [None] * len(parts)))
    four = _merge_one(_join(parts, masks))
    other = _merge_one(_join(parts, [~mask for mask in masks]))
    prefix = _prefix(low)
    # each other-family row goes before or after all the IPv4 rows of its (bucket, sensor,
    # proto, port): after when its address is above ::ffff:255.255.255.255
    four_prefix, other_prefix = prefix(four), prefix(other)
    after = (other["src_hi"] > 0) | (other["src_lo"] > _MAPPED_MAX)
    at = np.where(after, np.searchsorted(four_prefix, other_prefix, side="right"),
                  np.searchsorted(four_prefix, other_prefix, side="left"))
    total = len(four["packets"]) + len(other["packets"])
    into = at + np.arange(len(at))
    rest = np.ones(total, dtype=bool)
    rest[into] = False
    merged: Pairs = {}
    for name, dtype in _DTYPES.items():
        column = np.empty(total, dtype)
        column[rest] = four[name]
        column[into] = other[name]
        merged[name] = column
    return merged


_S32 = np.uint64(32)
_MAPPED_TOP = np.uint64(0xFFFF)
_MAPPED_MAX = np.uint64(0xFFFF_FFFF_FFFF)


def _prefix(low: int) -> Callable[[Pairs], np.ndarray]:
    """(bucket, sensor, proto, port) packed into one orderable uint64 (buckets from
    ``low`` on, fewer than 2**24 of them)."""

    def pack(part: Pairs) -> np.ndarray:
        packed = (part["bucket"] - low).astype(np.uint64) << np.uint64(40)
        packed |= part["sensor"].astype(np.uint64) << np.uint64(24)
        packed |= part["proto"].astype(np.uint64) << np.uint64(16)
        packed |= part["port"].astype(np.uint64)
        return packed

    return pack


def _join(parts: list[Pairs], masks: list[np.ndarray | None]) -> Pairs:
    """The parts' rows (those of each mask) in one set of columns of the stored types."""
    return {name: np.concatenate([part[name] if mask is None else part[name][mask]
                                  for part, mask in zip(parts, masks, strict=True)]).astype(
                                      dtype, copy=False)
            for name, dtype in _DTYPES.items()}


def _merge_one(pairs: Pairs) -> Pairs:
    rows = len(pairs["packets"])
    grouping = group({name: pairs[name] for name in _PAIR}, rows)
    starts = np.flatnonzero(grouping.changes)
    key = grouping.keys(starts)
    merged = {name: key[name].astype(_DTYPES[name]) for name in _PAIR}
    merged["packets"] = np.add.reduceat(pairs["packets"][grouping.order], starts, dtype=np.uint64)
    return merged


def _empty() -> Pairs:
    return {name: np.zeros(0, dtype) for name, dtype in _DTYPES.items()}


@dataclass
class SeriesAccumulator:
    """Adds chunks of packets; ``table()`` gives the series so far.

    ``complete`` reduces the buckets each sensor has finished to counts (``series_counts``),
    so that per-source rows are kept only for buckets still open: memory then follows the
    open buckets and the counts, never the run's distinct sources.
    """

    bucket: str | int = "1h"
    sizes: SensorSizes | None = None
    classes: Iterable[PacketClass] = PROBES
    research: ResearchScanners | None = None
    offset_s: int = 0
    _pairs: list[Pairs] = field(default_factory=list)
    _rows: int = 0
    _unmerged: bool = False     # a part came from add_counts (not merged on the way in)
    _done: list[Counts] = field(default_factory=list)   # counts of completed buckets
    _limits: np.ndarray | None = None   # per sensor: buckets below this were completed

    @property
    def width_s(self) -> int:
        return bucket_seconds(self.bucket)

    @property
    def pending_rows(self) -> int:
        """Per-source rows held for buckets not yet completed."""
        return self._rows

    def add(self, packets: Packets, classes: U8 | None = None) -> None:
        """Count one chunk (``classes`` is its ``classify``, computed when not given)."""
        if not len(packets):
            return
        packets = as_columns(packets, _FIELDS)
        classes = classify(packets) if classes is None else classes
        wanted = np.zeros(256, dtype=bool)
        wanted[[int(c) for c in self.classes]] = True
        keep = np.flatnonzero(wanted[classes])
        proto, port = service(packets, classes)
        self._append(_merge({
            "bucket": (packets["ts"][keep] + self.offset_s * NS) // (self.width_s * NS),
            "sensor": packets["sensor"][keep],
            "proto": proto[keep],
            "port": port[keep],
            "src_hi": packets["src_hi"][keep],
            "src_lo": packets["src_lo"][keep],
            "packets": packets["count"][keep].astype(np.uint64),
        }))

    def add_counts(self, counts: Mapping[str, np.ndarray]) -> None:
        """Add rows already reduced elsewhere (the streaming events of ``open_events``):
        bucket (index: start // width), sensor, proto, port, src_hi, src_lo and packets,
        in any order and with repeated keys. They are kept as they come and merged with
        the rest at the next compaction: mostly distinct already, a merge per call would
        sort them twice."""
        if len(counts["packets"]):
            self._append({name: np.asarray(counts[name], dtype)
                          for name, dtype in _DTYPES.items()}, merged=False)

    def merge(self, other: SeriesAccumulator) -> None:
        """Take in another accumulator's counts (same bucket width and offset).

        Exact while at most one of them has completed a given (bucket, sensor): completed
        buckets are counts, and a key completed on both sides has its sources summed."""
        if (other.width_s, other.offset_s) != (self.width_s, self.offset_s):
            raise ValueError("series with different buckets cannot be merged")
        for part in other._pairs:
            self._append(part, merged=not other._unmerged)
        self._done.extend(other._done)

    def complete(self, moments_ns: np.ndarray) -> None:
        """Reduce to counts the buckets of each sensor that end at or before its moment
        (``moments_ns[sensor]``, ns since the epoch, one entry per possible sensor).

        The pipeline passes each sensor's clock less the idle timeout: an open event holds
        at most its current bucket, so every row of an earlier one has been handed over.
        Rows that come for a bucket after it was passed (a sensor's files out of time
        order) stay per source until the end, so they are still counted exactly, unless
        their key had rows before it was passed: those two counts are summed.
        """
        if not self._rows:
            return
        limits = (np.asarray(moments_ns, np.int64) + self.offset_s * NS) // (self.width_s * NS)
        before = self._limits if self._limits is not None else np.full_like(limits, _NO_BUCKET)
        limits = np.maximum(before, limits)
        self._limits = limits
        done: list[Pairs] = []
        kept: list[Pairs] = []
        for part in self._pairs:
            sensor = part["sensor"].astype(np.intp)
            bucket = part["bucket"]
            finished = (bucket < limits[sensor]) & (bucket >= before[sensor])
            if finished.all():
                done.append(part)
            elif finished.any():
                done.append({name: column[finished] for name, column in part.items()})
                kept.append({name: column[~finished] for name, column in part.items()})
            else:
                kept.append(part)
        if done:
            self._pairs = kept
            self._rows = sum(len(part["packets"]) for part in kept)
            self._done.append(reduce_pairs(_merge_parts(done), self.research))

    def _append(self, part: Pairs, merged: bool = True) -> None:
        self._pairs.append(part)
        self._rows += len(part["packets"])
        self._unmerged = self._unmerged or not merged
        if self._rows > COMPACT_ROWS and (len(self._pairs) > 1 or self._unmerged):
            self._compact()

    def _compact(self) -> Pairs:
        if not self._pairs:
            return _empty()
        if len(self._pairs) > 1 or self._unmerged:
            self._unmerged = False
            merged = _merge_parts(self._pairs)
            self._pairs, self._rows = [merged], len(merged["packets"])
        return self._pairs[0]

    def counts(self) -> SeriesCounts:
        """The series so far as compact counts; adding more afterwards stays exact."""
        if len(self._done) > 1:
            self._done = [combine(self._done)]
        pending = reduce_pairs(self._compact(), self.research)
        return SeriesCounts(combine([*self._done, pending]), self.width_s, self.offset_s,
                            self.sizes)

    def table(self) -> pl.DataFrame:
        """One row per (bucket, sensor, proto, port), sorted; see ``series`` for columns."""
        return self.counts().frame()

    def finish_before(self, moment_ns: int) -> pl.DataFrame:
        """The rows of buckets that start before ``moment_ns``, forgotten afterwards."""
        pairs = self._compact()
        done = self._starts(pairs["bucket"]) < moment_ns
        self._pairs = [{name: column[~done] for name, column in pairs.items()}]
        self._rows = len(self._pairs[0]["packets"])
        handed = [reduce_pairs({name: column[done] for name, column in pairs.items()},
                               self.research)]
        kept: list[Counts] = []
        for chunk in self._done:
            early = self._starts(chunk["bucket"]) < moment_ns
            handed.append({name: column[early] for name, column in chunk.items()})
            kept.append({name: column[~early] for name, column in chunk.items()})
        self._done = kept
        return SeriesCounts(combine(handed), self.width_s, self.offset_s, self.sizes).frame()

    def _starts(self, bucket: np.ndarray) -> np.ndarray:
        return bucket * (self.width_s * NS) - self.offset_s * NS


def series(packets: Packets, bucket: str | int = "1h", sizes: SensorSizes | None = None, *,
           classes: Iterable[PacketClass] = PROBES, research: ResearchScanners | None = None,
           offset_s: int = 0) -> pl.DataFrame:
    """The series of one batch.

    Columns: ``bucket`` (UTC start), ``sensor``, ``proto``, ``port``, ``packets`` (weighted
    by ``count``), ``sources`` (unique), ``research_packets``, ``research_sources`` (their
    share from listed research scanners), ``per_address`` (packets per monitored address
    of the sensor, null when unknown) and ``width`` (bucket seconds).
    """
    accumulator = SeriesAccumulator(bucket, sizes, classes, research, offset_s)
    accumulator.add(packets)
    return accumulator.table()
