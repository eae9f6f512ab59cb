"""Early warning: unique sources on a port rising beyond the port's own robust baseline.

Per (sensor, protocol, port), the value of a bucket is its unique sources less those on the
research-scanner list (labelled, never alarmed on). Its baseline is the median and MAD of
the previous ``window`` buckets, a bucket absent from the series counting as zero sources;
buckets before the sensor's series began are unknown (a sensor that joins later has no
history of zeros before it, so its first busy hour is no "new port"), and a bucket is only
judged with at least ``min_history`` known ones before it. A rise is a value of at least
``min_sources`` above ``median + k × max(1.4826 × MAD, 1)``: 1.4826 × MAD estimates the standard deviation of
normal noise while ignoring past spikes, and the floor of one source keeps a flat baseline
(MAD 0) from alarming on every extra source.

Only ports that reach ``min_sources`` in some bucket are looked at, and only their buckets
that could rise get a baseline, gathered as a (candidates × window) matrix in blocks, so
the work follows the active ports, not every port of every sensor. Medians come from a row-wise sort (unknown buckets sort last as NaN).

A campaign is one port rising at ``min_sensors`` sensors or more: rises of the same
(protocol, port) closer than ``window_s`` apart are chained, and a chain that spans enough
distinct sensors is reported once, from its first rise to the end of its last bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from renkei.sensors.events import NS
from renkei.sensors.findings import Finding, FindingKind, protocol_name
from renkei.sensors.grouping import group
from renkei.sensors.model import Proto
from renkei.sensors.series_counts import SeriesCounts

Floats = npt.NDArray[np.float64]
MAD_SCALE = 1.4826
#: The defaults of ``rises`` and ``campaigns``: a week of hourly buckets, a day of history,
#: three robust standard deviations, ten sources; two sensors within a day.
WINDOW = 168
MIN_HISTORY = 24
K = 3.0
MIN_SOURCES = 10
MIN_SENSORS = 2
CAMPAIGN_GAP_S = 86_400
_BLOCK_CELLS = 2_000_000
_GROUP = ["sensor", "proto", "port"]


def _median(sorted_rows: Floats, known: npt.NDArray[np.int64]) -> Floats:
    """Row medians of row-sorted values whose first ``known`` entries are real."""
    rows = np.arange(len(sorted_rows))
    low = sorted_rows[rows, np.maximum((known - 1) // 2, 0)]
    high = sorted_rows[rows, np.maximum(known // 2, 0)]
    return (low + high) / 2.0


def _baselines(group: npt.NDArray[np.int64], t: npt.NDArray[np.int64], value: Floats,
               candidates: npt.NDArray[np.intp], window: int) -> tuple[Floats, Floats]:
    """Median and MAD of the ``window`` buckets before each candidate row.

    Rows are sorted by (group, t); ``t`` counts buckets from the start of the series.
    """
    stride = int(t.max()) + window + 2
    position = group * stride + t
    medians = np.empty(len(candidates))
    mads = np.empty(len(candidates))
    step = max(1, _BLOCK_CELLS // window)
    for begin in range(0, len(candidates), step):
        chosen = candidates[begin:begin + step]
        start = t[chosen] - window                       # window's first bucket (may be < 0)
        base = group[chosen] * stride
        a = np.searchsorted(position, base + np.maximum(start, 0), side="left")
        b = np.searchsorted(position, base + t[chosen], side="left")
        matrix = np.zeros((len(chosen), window))
        matrix[np.arange(window)[None, :] + start[:, None] < 0] = np.nan
        lengths = b - a
        owner = np.repeat(np.arange(len(chosen)), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        source = a[owner] + offsets
        matrix[owner, t[source] - start[owner]] = value[source]
        known = np.minimum(t[chosen], window).astype(np.int64)
        matrix.sort(axis=1)
        median = _median(matrix, known)
        deviation = np.abs(matrix - median[:, None])
        deviation.sort(axis=1)
        medians[begin:begin + step] = median
        mads[begin:begin + step] = _median(deviation, known)
    return medians, mads


_RISE_SCHEMA = pl.Schema({"bucket": pl.Datetime("ns", "UTC"), "sensor": pl.UInt16(), "proto": pl.UInt8(),
                "port": pl.UInt16(), "sources": pl.Int64(), "research_sources": pl.UInt64(),
                "packets": pl.UInt64(), "baseline": pl.Float64(), "mad": pl.Float64(),
                "threshold": pl.Float64(), "width": pl.Int32()})


def _rising_groups(columns: dict[str, np.ndarray], hot: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """The rows of the (sensor, proto, port) groups with at least one ``hot`` row."""
    key = columns["sensor"].astype(np.uint64) << np.uint64(24)
    key |= columns["proto"].astype(np.uint64) << np.uint64(16)
    key |= columns["port"].astype(np.uint64)
    wanted = np.unique(key[hot])
    if not len(wanted):
        return np.zeros(0, np.intp)
    at = np.minimum(np.searchsorted(wanted, key), len(wanted) - 1)
    return np.flatnonzero(wanted[at] == key)


def _origins(sensor: np.ndarray, all_ns: np.ndarray, given: Mapping[int, int] | None,
             ) -> npt.NDArray[np.int64]:
    """Per sensor index: the start of its first known bucket (ns), its series' first
    bucket unless ``given``."""
    size = int(sensor.max()) + 1
    origin = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(origin, sensor.astype(np.intp), all_ns.astype(np.int64))
    for index, start in (given or {}).items():
        if 0 <= index < size:
            origin[index] = start
    return origin


def rises(series: pl.DataFrame | SeriesCounts, *, window: int = WINDOW,
          min_history: int = MIN_HISTORY, k: float = K, min_sources: int = MIN_SOURCES,
          origins: Mapping[int, int] | None = None, since_ns: int | None = None,
          ) -> pl.DataFrame:
    """The buckets of ``series`` (see ``series.series``, or its ``SeriesCounts``) whose
    sources rose beyond baseline.

    ``window`` and ``min_history`` count buckets (168 hourly buckets: a week). A caller
    that holds only part of a longer history (``sensors.history``) says where each
    sensor's known buckets begin (``origins``: sensor index to ns since the epoch, a bucket
    start at or before its first row) and judges only the buckets from ``since_ns`` on,
    the rows before serving as baseline. Columns: bucket, sensor, proto, port, sources
    (research scanners left out), research_sources, packets, baseline (median), mad,
    threshold, width.
    """
    if isinstance(series, SeriesCounts):
        if not series.height:
            return pl.DataFrame(schema=_RISE_SCHEMA)
        width = series.width_s
        all_ns = series.starts_ns()
        every = {name: series.column(name) for name in (*_GROUP, "sources", "research_sources")}
    else:
        if series.is_empty():
            return pl.DataFrame(schema=_RISE_SCHEMA)
        widths = series["width"].unique()
        if len(widths) != 1:
            raise ValueError("rises are judged on one bucket width at a time")
        width = int(widths[0])
        all_ns = series["bucket"].dt.epoch("ns").to_numpy()
        every = {name: series[name].to_numpy()
                 for name in (*_GROUP, "sources", "research_sources")}
    every_value = every["sources"].astype(np.int64) - every["research_sources"].astype(np.int64)
    origin = _origins(every["sensor"], all_ns, origins)
    row_origin = origin[every["sensor"].astype(np.intp)]
    if (all_ns < row_origin).any():
        raise ValueError("a row of the series is before its sensor's origin")
    judged = every_value >= min_sources
    if since_ns is not None:
        judged &= all_ns >= since_ns
    # only a port that reaches min_sources somewhere can rise: the others (most of a
    # darknet's ports, hit by one or two sources) are left out before anything is sorted
    rows = _rising_groups(every, judged)
    if not len(rows):
        return pl.DataFrame(schema=_RISE_SCHEMA)
    table = series.frame(rows) if isinstance(series, SeriesCounts) else series[rows]
    # ordered by (sensor, proto, port, bucket) with the packed radix sort: polars' sort of
    # the four columns took most of the time on a large series
    every_t = (all_ns[rows] - row_origin[rows]) // (width * NS)
    columns = {name: every[name][rows] for name in _GROUP}
    order = group({**columns, "t": every_t}, len(rows)).order
    t = every_t[order].astype(np.int64)
    change = np.zeros(len(rows), dtype=bool)
    change[0] = True
    for name in _GROUP:
        key = columns[name][order]
        change[1:] |= key[1:] != key[:-1]
    groups = np.cumsum(change, dtype=np.int64) - 1
    value = every_value[rows][order].astype(np.float64)
    candidates = np.flatnonzero(judged[rows][order] & (np.minimum(t, window) >= min_history))
    if not len(candidates):
        return pl.DataFrame(schema=_RISE_SCHEMA)
    median, mad = _baselines(groups, t, value, candidates, window)
    threshold = median + k * np.maximum(MAD_SCALE * mad, 1.0)
    risen = value[candidates] > threshold
    found: pl.DataFrame = table[order[candidates[risen]]]
    return (found
            .with_columns(
                (pl.col("sources").cast(pl.Int64) - pl.col("research_sources").cast(pl.Int64))
                .alias("sources"),
                (pl.col("packets") - pl.col("research_packets")).alias("packets"),
                baseline=pl.Series(median[risen]), mad=pl.Series(mad[risen]),
                threshold=pl.Series(threshold[risen]))
            .select(list(_RISE_SCHEMA))
            .sort(["bucket", *_GROUP]))


_CAMPAIGN_SCHEMA = pl.Schema({"proto": pl.UInt8(), "port": pl.UInt16(), "first": pl.Datetime("ns", "UTC"),
                    "last": pl.Datetime("ns", "UTC"), "sensors": pl.List(pl.UInt16()),
                    "rises": pl.UInt32(), "peak_sources": pl.Int64(), "packets": pl.UInt64()})


def campaigns(rises: pl.DataFrame, *, min_sensors: int = MIN_SENSORS,
              window_s: int = CAMPAIGN_GAP_S) -> pl.DataFrame:
    """Ports that rose at ``min_sensors`` or more sensors with rises within ``window_s``.

    Columns: proto, port, first, last (end of the last risen bucket), sensors, rises,
    peak_sources, packets.
    """
    if rises.is_empty():
        return pl.DataFrame(schema=_CAMPAIGN_SCHEMA)
    gap = pl.duration(seconds=window_s)
    chained = rises.sort(["proto", "port", "bucket"]).with_columns(
        ((pl.col("proto") != pl.col("proto").shift()) | (pl.col("port") != pl.col("port").shift())
         | (pl.col("bucket").diff() > gap)).fill_null(True).cum_sum().alias("_chain"))
    found = (chained.group_by("_chain")
             .agg(pl.col("proto").first(), pl.col("port").first(),
                  pl.col("bucket").min().alias("first"),
                  (pl.col("bucket").max() + pl.duration(seconds=pl.col("width").first()))
                  .alias("last"),
                  pl.col("sensor").unique().sort().alias("sensors"),
                  pl.len().cast(pl.UInt32).alias("rises"),
                  pl.col("sources").max().alias("peak_sources"),
                  pl.col("packets").sum())
             .filter(pl.col("sensors").list.len() >= min_sensors))
    return found.select(list(_CAMPAIGN_SCHEMA)).cast(_CAMPAIGN_SCHEMA).sort(["first", "proto", "port"])


def _ports(proto: int, port: int) -> list[int]:
    return [port] if proto in (Proto.TCP, Proto.UDP) else []


def rise_findings(rises: pl.DataFrame) -> list[Finding]:
    """One finding per row of ``rises``."""
    return [Finding(
            kind=FindingKind.RISE, first=row["bucket"],
            last=row["bucket"] + timedelta(seconds=int(row["width"])),
            protocol=protocol_name(row["proto"]), ports=_ports(row["proto"], row["port"]),
            sensor=row["sensor"], sensors=[row["sensor"]], packets=int(row["packets"]),
            unique_srcs=int(row["sources"]), baseline=row["baseline"],
            threshold=row["threshold"])
        for row in rises.iter_rows(named=True)]


def campaign_findings(campaigns: pl.DataFrame) -> list[Finding]:
    """One finding per row of ``campaigns``."""
    return [Finding(kind=FindingKind.CAMPAIGN, first=row["first"], last=row["last"],
                    protocol=protocol_name(row["proto"]), ports=_ports(row["proto"], row["port"]),
                    sensors=list(row["sensors"]), packets=int(row["packets"]),
                    unique_srcs=int(row["peak_sources"]))
            for row in campaigns.iter_rows(named=True)]

