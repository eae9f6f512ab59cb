"""The series as counts: one compact row per (bucket, sensor, protocol, port).

Unique sources need one row per source while a bucket can still receive packets; once it
is complete, rises, charts and the store need only its counts. ``reduce_pairs`` turns
merged per-source rows into these counts, ``combine`` puts chunks of them together (in
key order, a key found in two chunks summed), and ``SeriesCounts`` holds a run's counts
in about 25 bytes a row (the research columns only when a research list was given),
making the polars table of ``series.series`` only when asked, whole or in slices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from renkei.sensors.events import NS
from renkei.sensors.findings import SensorSizes
from renkei.sensors.grouping import group
from renkei.sensors.research import ResearchScanners

KEY = ("bucket", "sensor", "proto", "port")
#: The columns of a chunk of counts; ``bucket`` is the bucket's index (start // width).
COUNT_DTYPES = {"bucket": np.int64, "sensor": np.uint16, "proto": np.uint8, "port": np.uint16,
                "packets": np.uint64, "sources": np.uint32,
                "research_packets": np.uint64, "research_sources": np.uint32}
RESEARCH = ("research_packets", "research_sources")
Counts = dict[str, np.ndarray]
IntP = npt.NDArray[np.intp]


def empty_counts() -> Counts:
    return {name: np.zeros(0, dtype) for name, dtype in COUNT_DTYPES.items()
            if name not in RESEARCH}


def reduce_pairs(pairs: Counts, research: ResearchScanners | None) -> Counts:
    """Counts of merged per-source rows (sorted, one row per key and source)."""
    rows = len(pairs["packets"])
    if not rows:
        return empty_counts()
    new = np.zeros(rows, dtype=bool)
    new[0] = True
    for name in KEY:
        new[1:] |= pairs[name][1:] != pairs[name][:-1]
    starts = np.flatnonzero(new)
    packets = pairs["packets"]
    counts = {name: pairs[name][starts].astype(COUNT_DTYPES[name]) for name in KEY}
    counts["packets"] = np.add.reduceat(packets, starts).astype(np.uint64)
    counts["sources"] = np.diff(starts, append=rows).astype(np.uint32)
    if research is not None:
        listed = research.lookup(pairs["src_hi"], pairs["src_lo"]) >= 0
        counts["research_packets"] = np.add.reduceat(
            np.where(listed, packets, 0).astype(np.uint64), starts)
        counts["research_sources"] = np.add.reduceat(listed.astype(np.uint32), starts)
    return counts


def _column(counts: Counts, name: str) -> np.ndarray:
    found = counts.get(name)
    return np.zeros(len(counts["packets"]), COUNT_DTYPES[name]) if found is None else found


def _ascending(counts: Counts) -> bool:
    """True when the rows are in strictly increasing key order (no key twice)."""
    rows = len(counts["packets"])
    if rows < 2:
        return True
    above = np.zeros(rows - 1, dtype=bool)
    equal = np.ones(rows - 1, dtype=bool)
    for name in KEY:
        column = counts[name]
        above |= equal & (column[1:] > column[:-1])
        equal &= column[1:] == column[:-1]
    return bool(above.all())


def combine(parts: list[Counts]) -> Counts:
    """The chunks as one, in key order; a key in several chunks has its counts summed.

    Chunks of complete buckets never share a key when each sensor's packets come in time
    order; a key seen again (packets later than the idle timeout) adds its sources anew.
    """
    parts = [part for part in parts if len(part["packets"])]
    if not parts:
        return empty_counts()
    if len(parts) == 1:
        return parts[0]
    names = [name for name in COUNT_DTYPES
             if name not in RESEARCH or any(name in part for part in parts)]
    joined = {name: np.concatenate([_column(part, name) for part in parts]) for name in names}
    parts.clear()
    if _ascending(joined):
        return joined
    rows = len(joined["packets"])
    grouping = group({name: joined[name] for name in KEY}, rows)
    starts = np.flatnonzero(grouping.changes)
    keys = grouping.keys(starts)
    out = {name: keys[name].astype(COUNT_DTYPES[name]) for name in KEY}
    for name in names[len(KEY):]:
        out[name] = np.add.reduceat(joined[name][grouping.order], starts).astype(
            COUNT_DTYPES[name])
    return out


def per_address(packets: np.ndarray, sensor: np.ndarray, sizes: SensorSizes | None) -> np.ndarray:
    """Packets per monitored address; NaN where the sensor's size is unknown."""
    per = np.full(len(packets), np.nan)
    if sizes is not None and len(packets):
        table = np.asarray(sizes, dtype=np.float64)
        index = sensor.astype(np.intp)
        known = index < len(table)
        with np.errstate(divide="ignore", invalid="ignore"):    # size 0: unknown
            per[known] = packets[known].astype(np.float64) / table[index[known]]
        per[~np.isfinite(per) | (per < 0)] = np.nan
    return per


@dataclass(frozen=True)
class SeriesCounts:
    """A run's series as compact counts, sorted by (bucket, sensor, proto, port)."""

    columns: Counts
    width_s: int
    offset_s: int = 0
    sizes: SensorSizes | None = None

    @property
    def height(self) -> int:
        return len(self.columns["packets"])

    def column(self, name: str) -> np.ndarray:
        """A count column (research columns are zeros when no list was given)."""
        return _column(self.columns, name)

    def starts_ns(self, rows: IntP | slice | None = None) -> npt.NDArray[np.int64]:
        """Bucket starts in ns since the epoch (UTC)."""
        bucket = self.columns["bucket"] if rows is None else self.columns["bucket"][rows]
        starts: npt.NDArray[np.int64] = bucket * (self.width_s * NS) - self.offset_s * NS
        return starts

    def frame(self, rows: IntP | slice | None = None) -> pl.DataFrame:
        """The series table (see ``series.series``), of all rows or of those chosen."""
        def pick(name: str) -> np.ndarray:
            column = self.column(name)
            return column if rows is None else column[rows]

        packets = pick("packets").astype(np.uint64, copy=False)
        sensor = pick("sensor")
        table = pl.DataFrame({
            "bucket": self.starts_ns(rows),
            "sensor": sensor,
            "proto": pick("proto"),
            "port": pick("port"),
            "packets": packets,
            "sources": pick("sources").astype(np.uint64),
            "research_packets": pick("research_packets").astype(np.uint64, copy=False),
            "research_sources": pick("research_sources").astype(np.uint64),
        })
        return table.with_columns(
            pl.from_epoch("bucket", time_unit="ns").dt.replace_time_zone("UTC"),
            per_address=pl.Series(per_address(packets, sensor, self.sizes)).fill_nan(None),
            width=pl.lit(self.width_s, dtype=pl.Int32),
        )

    def frames(self, rows: int = 50_000) -> Iterator[pl.DataFrame]:
        """The table in slices of ``rows`` rows, for writing it out without holding it."""
        for start in range(0, self.height, rows):
            yield self.frame(slice(start, start + rows))
