"""The one streaming analysis of many captures: read, classify, events, series, findings.

Captures are read one after another in the order given, batch by batch (``iter_packets``),
and no batch outlives its turn: each is fed to the open events (``OpenEvents``: events
merged across batch and file boundaries, unique destinations a true union) and its series
counts to the accumulator, and the events it closes are judged at once, so memory follows
the open events, never the packets. Scanner and backscatter findings are therefore the
ones ``analyse`` would report on all the packets at once.

The result does not grow with the packets either: buckets that every sensor's clock has
left behind (by more than the idle timeout) are reduced from per-source rows to counts
as the run goes (``SeriesAccumulator.complete``), and the findings stay event columns
until they are read (``LazyFindings``).

Events are per sensor and assume each sensor's packets arrive in time order: give each
sensor's files in time order. Captures of several sensors may be interleaved in time
(sensor A's day, then sensor B's), since each sensor keeps its own clock. Rises and
campaigns are judged on the finished series, unless the caller judges them elsewhere
(``find_rises=False``: the store judges them on its whole history, ``sensors.history``).

``Pipeline`` is the same analysis fed batch by batch, for callers with their own reader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import polars as pl

from renkei.sensors.analyse import Thresholds, backscatter_mask, scanner_mask
from renkei.sensors.events import Events
from renkei.sensors.findings import Finding, SensorSizes
from renkei.sensors.lazy_findings import LazyFindings
from renkei.sensors.model import ReadStats
from renkei.sensors.open_events import Closed, OpenEvents, Pairs
from renkei.sensors.read import detect_format, iter_packets
from renkei.sensors.research import ResearchScanners
from renkei.sensors.rises import campaign_findings, campaigns, rise_findings, rises
from renkei.sensors.series import SeriesAccumulator, bucket_seconds
from renkei.sensors.series_counts import SeriesCounts

DEFAULT_THRESHOLDS = Thresholds()
#: Per-source series rows held before complete buckets are reduced to counts.
COMPLETE_ROWS = 1 << 18
_EVENT_FIELDS = [f.name for f in dataclasses.fields(Events)]
_EVENT_ORDER = ("src_hi", "src_lo", "sensor", "proto", "port", "cls", "first")


@dataclass
class Capture:
    """One capture file and the sensor it came from."""

    path: Path
    sensor: int = 0            # index into sizes / the caller's sensor list; set on every row read


@dataclass
class Analysis:
    """What a run found, and what it read."""

    findings: Sequence[Finding]  # scanner and backscatter, then rise and campaign (LazyFindings)
    counts: SeriesCounts       # the series of the whole run, compact
    stats: list[ReadStats]     # one per capture, problems included
    packets: int               # rows read (flows count as rows; Finding.packets sums count)

    @property
    def series(self) -> pl.DataFrame:
        """The series table (``SeriesAccumulator.table()``), made anew on each access."""
        return self.counts.frame()


class Pipeline:
    """The streaming analysis: ``add`` batches, then ``finish``."""

    def __init__(self, *, sizes: SensorSizes | None = None, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 research: ResearchScanners | None = None, bucket: str | int = "1h",
                 rise_bucket: str | int = "1h", find_rises: bool = True) -> None:
        self.sizes = sizes
        self.find_rises = find_rises
        self.thresholds = thresholds
        self.research = research
        self.series = SeriesAccumulator(bucket, sizes, research=research)
        self.rise_series = (self.series if bucket_seconds(rise_bucket) == bucket_seconds(bucket)
                            else SeriesAccumulator(rise_bucket, sizes, research=research))
        # the kernel counts at the finest common width; each series maps to its own
        self._width = gcd(self.series.width_s, self.rise_series.width_s)
        self._events = OpenEvents(
            idle_timeout_s=thresholds.idle_timeout_s, bucket_s=self._width,
            min_dsts=min(thresholds.scan_min_dsts, thresholds.backscatter_min_dsts))
        self._chosen: list[Events] = []
        self._complete_at = {id(s): COMPLETE_ROWS for s in (self.series, self.rise_series)}
        self.packets = 0

    def add(self, packets: np.ndarray, sensor: int | None = None) -> None:
        """Analyse one batch of ``PACKET`` rows (``sensor`` written into each when given)."""
        self.packets += len(packets)
        self._take(self._events.add(packets, sensor))
        for series in {id(s): s for s in (self.series, self.rise_series)}.values():
            if series.pending_rows >= self._complete_at[id(series)]:
                series.complete(self._events.clocks - self._events.idle_ns)
                # rows a sensor has not completed stay; wait for as many new ones again
                self._complete_at[id(series)] = max(COMPLETE_ROWS, 2 * series.pending_rows)

    def finish(self) -> tuple[list[Finding], pl.DataFrame]:
        """Close the open events; the findings and the series of everything added."""
        findings, counts = self.finish_counts()
        return list(findings), counts.frame()

    def finish_counts(self) -> tuple[LazyFindings, SeriesCounts]:
        """``finish`` with the findings made when read and the series as compact counts."""
        self._take(self._events.close())
        chosen = Events.empty() if not self._chosen else Events(**{
            name: np.concatenate([getattr(e, name) for e in self._chosen])
            for name in _EVENT_FIELDS})
        self._chosen = [chosen]
        chosen = chosen.take(np.lexsort([getattr(chosen, n) for n in reversed(_EVENT_ORDER)]))
        counts = self.series.counts()
        judged: list[Finding] = []
        if self.find_rises:
            risen = rises(counts if self.rise_series is self.series
                          else self.rise_series.counts())
            judged = [*rise_findings(risen), *campaign_findings(campaigns(risen))]
        findings = LazyFindings(
            chosen.take(scanner_mask(chosen, self.sizes, self.thresholds)),
            chosen.take(backscatter_mask(chosen, self.thresholds)),
            judged,
            sizes=self.sizes, thresholds=self.thresholds, research=self.research)
        return findings, counts

    def _take(self, closed: Closed) -> None:
        events = closed.events
        if len(events):
            keep = (scanner_mask(events, self.sizes, self.thresholds)
                    | backscatter_mask(events, self.thresholds))
            if keep.any():
                self._chosen.append(events.take(keep))
        self._count(self.series, closed.counts)
        if self.rise_series is not self.series:
            self._count(self.rise_series, closed.counts)

    def _count(self, series: SeriesAccumulator, counts: Pairs) -> None:
        if series.width_s != self._width:
            counts = {**counts, "bucket": counts["bucket"] * self._width // series.width_s}
        series.add_counts(counts)


def analyse_captures(captures: Sequence[Capture], *, sizes: SensorSizes | None = None,
                     thresholds: Thresholds = DEFAULT_THRESHOLDS, research: ResearchScanners | None = None,
                     bucket: str = "1h", rise_bucket: str = "1h",
                     on_packets: Callable[[int], None] | None = None,
                     find_rises: bool = True) -> Analysis:
    """Analyse captures in the order given (see the module text on time order).

    Raises ``CaptureError`` before reading anything when a capture is missing or in no
    known format; damage inside a capture stops that capture only and is in its stats.
    ``on_packets`` is called after each batch with the rows it held (for progress).
    """
    for capture in captures:
        detect_format(capture.path)
    pipeline = Pipeline(sizes=sizes, thresholds=thresholds, research=research, bucket=bucket,
                        rise_bucket=rise_bucket, find_rises=find_rises)
    stats: list[ReadStats] = []
    for capture in captures:
        stream = iter_packets(capture.path, reuse=True)     # each batch is done with at once
        for batch in stream:
            pipeline.add(batch, capture.sensor)
            if on_packets is not None:
                on_packets(len(batch))
        stats.append(stream.stats)
    findings, counts = pipeline.finish_counts()
    return Analysis(findings, counts, stats, pipeline.packets)
