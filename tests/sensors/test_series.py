"""Time series buckets and merges, rises over a robust baseline, campaigns across sensors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.sensors.findings import BACKSCATTER, FindingKind
from renkei.sensors.research import ResearchScanners
from renkei.sensors.rises import campaign_findings, campaigns, rise_findings, rises
from renkei.sensors.series import SeriesAccumulator, bucket_seconds, series
from tests.sensors.records import S, build

SYN, ACK = 0x02, 0x10


def ns(text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * S + moment.microsecond * 1000


def packets(n: int | None = None, **columns: Any) -> np.ndarray:
    return build(n, start=ns("2024-04-01T12:00:00"), step=0, probe=True,
                 version_from_src=False, **columns)


def rows(table: pl.DataFrame, *names: str) -> list[tuple[Any, ...]]:
    return list(table.select(names).iter_rows())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- series ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bucket", "before", "after"), [
    ("5m", "2024-04-01T12:04:59.999999", "2024-04-01T12:05:00"),
    ("1h", "2024-04-01T12:59:59.999999", "2024-04-01T13:00:00"),
    ("1d", "2024-04-01T23:59:59.999999", "2024-04-02T00:00:00"),
])
def test_buckets_start_on_their_boundaries(bucket: str, before: str, after: str) -> None:
    table = series(packets(ts=[ns(before), ns(after)]), bucket)
    width = timedelta(seconds=bucket_seconds(bucket))
    assert rows(table, "bucket", "packets", "width") == [
        (utc(after) - width, 1, width.seconds or 86_400), (utc(after), 1, width.seconds or 86_400)]


def test_daily_buckets_at_japanese_midnight() -> None:
    table = series(packets(ts=[ns("2024-04-01T14:59:59"), ns("2024-04-01T15:00:00")]), "1d",
                   offset_s=9 * 3600)
    assert rows(table, "bucket") == [(utc("2024-03-31T15:00:00"),), (utc("2024-04-01T15:00:00"),)]


def test_counts_per_sensor_protocol_port_weighted_and_normalised() -> None:
    batch = packets(src=["198.51.100.1", "198.51.100.1", "198.51.100.2", "198.51.100.1",
                         "198.51.100.1", "198.51.100.3"],
                    dport=[23, 23, 23, 22, 53, 23], proto=[6, 6, 6, 6, 17, 6],
                    tcp_flags=[SYN, SYN, SYN, SYN, 0, SYN], count=[1, 1, 10, 1, 1, 1],
                    sensor=[0, 0, 0, 0, 0, 7])
    table = series(batch, "1h", [256])
    assert rows(table, "sensor", "proto", "port", "packets", "sources", "per_address") == [
        (0, 6, 22, 1, 1, 1 / 256), (0, 6, 23, 12, 2, 12 / 256), (0, 17, 53, 1, 1, 1 / 256),
        (7, 6, 23, 1, 1, None)]


def test_unique_sources_merge_exactly_across_chunks_and_accumulators() -> None:
    first = SeriesAccumulator("1h")
    first.add(packets(src=["198.51.100.1", "198.51.100.2"]))
    first.add(packets(src=["198.51.100.2", "198.51.100.3"]))
    assert rows(first.table(), "packets", "sources") == [(4, 3)]
    other = SeriesAccumulator("1h")
    other.add(packets(src=["198.51.100.3", "2001:db8::1"]))
    first.merge(other)
    assert rows(first.table(), "packets", "sources") == [(6, 4)]
    with pytest.raises(ValueError, match="different buckets"):
        first.merge(SeriesAccumulator("5m"))


def test_probes_by_default_backscatter_on_request() -> None:
    batch = packets(tcp_flags=[SYN, SYN | ACK], sport=[40000, 443], dport=[23, 50000])
    assert rows(series(batch), "port", "packets") == [(23, 1)]
    assert rows(series(batch, classes=BACKSCATTER), "port", "packets") == [(443, 1)]


def test_research_sources_are_counted_apart() -> None:
    research = ResearchScanners.parse("192.0.2.0/24 censys\n")
    batch = packets(src=["192.0.2.1", "192.0.2.2", "198.51.100.1"], count=[5, 1, 2])
    assert rows(series(batch, research=research), "packets", "sources", "research_packets",
                "research_sources") == [(8, 3, 6, 2)]


def test_finish_before_hands_over_complete_buckets_and_forgets_them() -> None:
    accumulator = SeriesAccumulator("1h")
    accumulator.add(packets(ts=[ns("2024-04-01T10:30:00"), ns("2024-04-01T11:30:00")]))
    done = accumulator.finish_before(ns("2024-04-01T11:00:00"))
    assert rows(done, "bucket") == [(utc("2024-04-01T10:00:00"),)]
    assert rows(accumulator.table(), "bucket") == [(utc("2024-04-01T11:00:00"),)]
    assert series(packets(0)).is_empty()
    with pytest.raises(ValueError, match="positive"):
        bucket_seconds(0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * 3600), st.sampled_from(["198.51.100.1", "198.51.100.2",
                                                                   "192.0.2.7", "2001:db8::1"]),
                          st.integers(0, 1), st.sampled_from([22, 23]), st.integers(1, 4)),
                min_size=1, max_size=40),
       st.integers(1, 39))
def test_series_in_chunks_matches_plain_python(
        rows_: list[tuple[int, str, int, int, int]], cut: int) -> None:
    start = ns("2024-04-01T00:00:00")
    batch = packets(ts=[start + s * S for s, *_ in rows_], src=[r[1] for r in rows_],
                    sensor=[r[2] for r in rows_], dport=[r[3] for r in rows_],
                    count=[r[4] for r in rows_])
    accumulator = SeriesAccumulator("1h")
    accumulator.add(batch[:cut])
    accumulator.add(batch[cut:])
    expected: dict[tuple[datetime, int, int], tuple[int, set[str]]] = {}
    for seconds, src, sensor, port, count in rows_:
        key = (utc("2024-04-01T00:00:00") + timedelta(hours=seconds // 3600), sensor, port)
        packets_, sources = expected.get(key, (0, set()))
        expected[key] = (packets_ + count, sources | {src})
    assert rows(accumulator.table(), "bucket", "sensor", "port", "packets", "sources") == [
        (*key, packets_, len(sources)) for key, (packets_, sources) in sorted(expected.items())]


# -- rises -------------------------------------------------------------------------------

START = utc("2024-04-01T00:00:00")


def hourly(values: dict[tuple[int, int], list[int]], research: dict[tuple[int, int], list[int]]
           | None = None) -> pl.DataFrame:
    """A series table: per (sensor, port), one value per hour from START (0 rows left out)."""
    records = []
    for (sensor, port), counts in values.items():
        extra = (research or {}).get((sensor, port), [0] * len(counts))
        for hour, (count, listed) in enumerate(zip(counts, extra, strict=True)):
            if count or listed:
                records.append({"bucket": START + timedelta(hours=hour), "sensor": sensor,
                                "proto": 6, "port": port, "packets": 3 * (count + listed),
                                "sources": count + listed, "research_packets": 3 * listed,
                                "research_sources": listed, "per_address": None, "width": 3600})
    return pl.DataFrame(records, schema={
        "bucket": pl.Datetime("ns", "UTC"), "sensor": pl.UInt16, "proto": pl.UInt8,
        "port": pl.UInt16, "packets": pl.UInt64, "sources": pl.UInt64,
        "research_packets": pl.UInt64, "research_sources": pl.UInt64,
        "per_address": pl.Float64, "width": pl.Int32})


def noisy(hours: int, level: int = 40, seed: int = 1) -> list[int]:
    return [level + int(v) for v in np.random.default_rng(seed).integers(-4, 5, hours)]


def test_a_spike_rises_and_steady_noise_does_not() -> None:
    spiky = noisy(200)
    spiky[180] = 90
    table = rises(hourly({(0, 23): spiky, (0, 22): noisy(200, seed=2)}))
    assert rows(table, "bucket", "sensor", "port", "sources") == [
        (START + timedelta(hours=180), 0, 23, 90)]
    (row,) = table.iter_rows(named=True)
    assert 36 <= row["baseline"] <= 44
    assert row["threshold"] < 90


def test_baseline_counts_missing_buckets_as_zero_and_waits_for_history() -> None:
    quiet = [0] * 100
    quiet[60] = 15            # a port nobody used: 15 new sources rise
    early = [0] * 100
    early[10] = 50            # too early: fewer than 24 buckets known before it
    table = rises(hourly({(0, 5555): quiet, (0, 6379): early}))
    assert rows(table, "port", "baseline", "mad") == [(5555, 0.0, 0.0)]
    small = [0] * 100
    small[60] = 9             # under min_sources
    assert rises(hourly({(0, 5555): small})).is_empty()


def test_baseline_matches_a_plain_median_and_mad() -> None:
    values = noisy(120, level=30, seed=5)
    values[90] = 200
    window = 48
    table = rises(hourly({(0, 23): values}), window=window, min_history=10)
    expected = {}
    for hour in range(10, 120):
        before = np.array(values[max(0, hour - window):hour], dtype=float)
        median = float(np.median(before))
        mad = float(np.median(np.abs(before - median)))
        if values[hour] >= 10 and values[hour] > median + 3 * max(1.4826 * mad, 1.0):
            expected[hour] = (median, mad)
    got = {int((b - START).total_seconds()) // 3600: (m, d)
           for b, m, d in rows(table, "bucket", "baseline", "mad")}
    assert got == expected
    assert 90 in got


def test_research_scanners_do_not_make_a_rise() -> None:
    base = noisy(100)
    listed = [0] * 100
    listed[80] = 500
    assert rises(hourly({(0, 23): base}, {(0, 23): listed})).is_empty()


def spike_at(hour: int, seed: int) -> list[int]:
    values = noisy(120, seed=seed)
    values[hour] = 120
    return values


def test_campaign_needs_two_sensors_within_the_window() -> None:
    together = rises(hourly({(0, 23): spike_at(100, 1), (1, 23): spike_at(102, 2),
                             (2, 2323): spike_at(100, 3)}))
    found = campaigns(together, min_sensors=2, window_s=6 * 3600)
    assert rows(found, "port", "sensors", "rises", "first", "last") == [
        (23, [0, 1], 2, START + timedelta(hours=100), START + timedelta(hours=103))]
    assert campaigns(together, min_sensors=3).is_empty()
    apart = rises(hourly({(0, 23): spike_at(30, 1), (1, 23): spike_at(100, 2)}))
    assert len(apart) == 2
    assert campaigns(apart, window_s=6 * 3600).is_empty()


def test_rise_and_campaign_findings() -> None:
    table = rises(hourly({(0, 23): spike_at(100, 1), (1, 23): spike_at(101, 2)}))
    rise = rise_findings(table)[0]
    assert (rise.kind, rise.sensor, rise.ports, rise.protocol, rise.unique_srcs) == (
        FindingKind.RISE, 0, [23], "tcp", 120)
    assert rise.to_json()["first"] == "2024-04-05T04:00:00+00:00"
    assert rise.to_json()["last"] == "2024-04-05T05:00:00+00:00"
    (campaign,) = campaign_findings(campaigns(table))
    assert (campaign.kind, campaign.sensors, campaign.ports, campaign.src) == (
        FindingKind.CAMPAIGN, [0, 1], [23], None)
    assert campaign.to_json()["kind"] == "campaign"


def test_rises_of_nothing_and_of_mixed_widths() -> None:
    empty = hourly({})
    assert rises(empty).is_empty()
    assert campaigns(rises(empty)).is_empty()
    mixed = pl.concat([hourly({(0, 23): [1]}), hourly({(0, 22): [1]}).with_columns(
        width=pl.lit(300, dtype=pl.Int32))])
    with pytest.raises(ValueError, match="one bucket width"):
        rises(mixed)


_SOURCES = [(0, 0xFFFF_C633_6401), (0, 0xFFFF_C000_0207), (0, 1), (0, 0x1_0000_0000_0000),
            (0x2001_0DB8 << 32, 1), (0x2001_0DB8 << 32, 0xFFFF_C633_6401)]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.sampled_from([6, 17]),
                          st.sampled_from([22, 23, 0]), st.sampled_from(_SOURCES),
                          st.integers(1, 4)), min_size=1, max_size=60))
def test_merge_interleaves_the_address_families_in_key_order(
        rows_: list[tuple[int, int, int, int, tuple[int, int], int]]) -> None:
    from renkei.sensors.series import _merge

    pairs = {"bucket": np.array([r[0] for r in rows_], np.int64),
             "sensor": np.array([r[1] for r in rows_], np.uint16),
             "proto": np.array([r[2] for r in rows_], np.uint8),
             "port": np.array([r[3] for r in rows_], np.uint16),
             "src_hi": np.array([r[4][0] for r in rows_], np.uint64),
             "src_lo": np.array([r[4][1] for r in rows_], np.uint64),
             "packets": np.array([r[5] for r in rows_], np.uint64)}
    expected: dict[tuple[int, ...], int] = {}
    for bucket, sensor, proto, port, (hi, lo), count in rows_:
        key = (bucket, sensor, proto, port, hi, lo)
        expected[key] = expected.get(key, 0) + count
    merged = _merge(pairs)
    names = ["bucket", "sensor", "proto", "port", "src_hi", "src_lo"]
    got = list(zip(*(merged[n].tolist() for n in [*names, "packets"]), strict=True))
    assert got == [(*key, count) for key, count in sorted(expected.items())]
    assert all(merged[n].dtype == pairs[n].dtype for n in pairs)


def test_rises_do_not_depend_on_the_row_order() -> None:
    table = hourly({(0, 22): [*noisy(48), 90], (1, 23): [*noisy(48, seed=2), 95]})
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=3)
    assert rises(shuffled).equals(rises(table))
    assert rises(table).height == 2


def test_completed_buckets_become_counts_and_stay_exact() -> None:
    hours = [ns("2024-04-01T10:10:00"), ns("2024-04-01T10:50:00"), ns("2024-04-01T11:20:00"),
             ns("2024-04-01T12:30:00")]
    batch = packets(ts=hours * 3, src=["192.0.2.1"] * 4 + ["192.0.2.2"] * 4 + ["2001:db8::1"] * 4,
                    sensor=[0, 1, 0, 1] * 3, count=[1, 2, 3, 4] * 3)
    batch = batch[np.argsort(batch["ts"], kind="stable")]      # each sensor in time order
    whole = series(batch)
    accumulator = SeriesAccumulator("1h")
    accumulator.add(batch[:6])                  # up to 10:50
    moments = np.full(1 << 16, ns("2024-04-01T11:00:00"))
    moments[1] = ns("2024-04-01T10:59:00")      # sensor 1's clock is behind: none of its
    accumulator.complete(moments)
    assert accumulator.pending_rows == 3
    accumulator.add(batch[6:])
    accumulator.complete(np.full(1 << 16, ns("2024-04-01T12:00:00")))
    assert accumulator.pending_rows == 3
    assert accumulator.table().equals(whole)
    assert accumulator.counts().height == whole.height == 4


def test_rows_for_a_passed_bucket_are_counted_exactly_unless_it_had_rows_before() -> None:
    def at(text: str, src: str) -> np.ndarray:
        return packets(ts=[ns(text)], src=[src])

    accumulator = SeriesAccumulator("1h")
    accumulator.add(at("2024-04-01T11:10:00", "192.0.2.1"))
    accumulator.complete(np.full(1 << 16, ns("2024-04-01T12:00:00")))
    # a file of an earlier hour read after a later one: the 10:00 bucket is exact
    for src in ("192.0.2.1", "192.0.2.2", "192.0.2.1"):
        accumulator.add(at("2024-04-01T10:20:00", src))
        accumulator.complete(np.full(1 << 16, ns("2024-04-01T12:00:00")))
    # the 11:00 bucket was completed with 192.0.2.1; it comes again: counted again
    accumulator.add(at("2024-04-01T11:40:00", "192.0.2.1"))
    assert rows(accumulator.table(), "bucket", "packets", "sources") == [
        (utc("2024-04-01T10:00:00"), 3, 2), (utc("2024-04-01T11:00:00"), 2, 2)]


def test_rises_of_compact_counts_are_the_rises_of_the_table() -> None:
    start = ns("2024-04-01T00:00:00")
    hours = np.repeat(np.arange(60), 12)
    batch = packets(len(hours), ts=start + hours * 3600 * S,
                    src=[f"192.0.2.{i % 12 + 1}" for i in range(len(hours))],
                    dport=np.where(np.arange(len(hours)) % 2, 23, 22))
    spike = packets(40, ts=[start + 50 * 3600 * S] * 40, src=[f"198.51.100.{i}" for i in range(40)],
                    dport=[23] * 40)
    accumulator = SeriesAccumulator("1h")
    accumulator.add(np.concatenate([batch, spike]))
    counted = rises(accumulator.counts())
    assert counted.equals(rises(accumulator.table()))
    assert rows(counted, "port", "sources") == [(23, 46)]
