"""The streaming pipeline against the in-memory analysis: same findings, same series."""

from __future__ import annotations

import functools
import ipaddress
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.sensors import open_events, pipeline, read
from renkei.sensors.analyse import Thresholds, analyse
from renkei.sensors.findings import FindingKind
from renkei.sensors.model import PACKET
from renkei.sensors.open_events import OpenEvents
from renkei.sensors.pipeline import Capture, Pipeline, analyse_captures
from renkei.sensors.read import read_packets
from renkei.sensors.rises import rises
from renkei.sensors.series import series
from tests.sensors.conftest import ether, icmp, ipv4, ipv6, netflow5, pcap, tcp, udp

Writer = Callable[..., Path]
S = 1_000_000_000
US = 1_000
T0 = 1_700_000_000 * S
LOW = Thresholds(scan_min_dsts=2, backscatter_min_packets=2, backscatter_min_dsts=1)
SOURCES = ["198.51.100.1", "198.51.100.2", "192.0.2.9", "2001:db8::1", "2001:db8::2"]
TARGETS = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.200", "2001:db8:ff::1",
           "2001:db8:ff::2"]
DIRECT = ("scanner", "backscatter")


def ip(text: str) -> tuple[int, int]:
    value = ipaddress.ip_address(text)
    number = int(value) | (0xFFFF_0000_0000 if value.version == 4 else 0)
    return number >> 64, number & (2**64 - 1)


@pytest.fixture(autouse=True)
def tiny_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every table tiny and drain often, so that growth and renumbering are exercised."""
    monkeypatch.setattr(open_events, "_MIN_SLOTS", 2)
    monkeypatch.setattr(open_events, "_MIN_DSTS", 4)
    monkeypatch.setattr(open_events, "BUFFER_ROWS", 5)


@st.composite
def traffic(draw: st.DrawFn) -> np.ndarray:
    """Packets in time order (µs steps, some gaps around the idle timeout)."""
    n = draw(st.integers(1, 250))

    def column(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(strategy, min_size=n, max_size=n))

    out = np.zeros(n, PACKET)
    steps = column(st.sampled_from([0, 1, 1_000_000, 599_999_999, 600_000_000, 600_000_001,
                                    3_600_000_000]))
    out["ts"] = T0 + np.cumsum(steps, dtype=np.int64) * US
    for name, texts in (("src", column(st.sampled_from(SOURCES))),
                        ("dst", column(st.sampled_from(TARGETS)))):
        out[f"{name}_hi"] = [ip(t)[0] for t in texts]
        out[f"{name}_lo"] = [ip(t)[1] for t in texts]
    out["version"] = np.where(out["src_hi"] == 0, 4, 6)
    out["proto"] = column(st.sampled_from([6, 6, 6, 17, 1, 58]))
    out["tcp_flags"] = column(st.sampled_from([0x02, 0x02, 0x12, 0x04, 0x10, 0x03]))
    out["icmp_type"] = column(st.sampled_from([0, 3, 8, 11, 128, 1]))
    out["dport"] = column(st.sampled_from([23, 80, 443]))
    out["sport"] = column(st.sampled_from([80, 40000]))
    out["inner_proto"] = column(st.sampled_from([6, 17]))
    out["inner_dport"] = column(st.sampled_from([53, 80]))
    out["seq"] = np.where(column(st.booleans()), out["dst_lo"] & 0xFFFF_FFFF, 7)
    out["ip_id"] = column(st.sampled_from([54321, 1]))
    masscan = np.array(column(st.booleans()))
    out["ip_id"][masscan] = ((out["dst_lo"] ^ out["seq"]) & 0xFFFF ^ out["dport"])[masscan]
    out["frag"] = column(st.sampled_from([0, 0, 0, 1, 3]))
    out["length"] = column(st.integers(40, 1500))
    out["count"] = column(st.sampled_from([1, 1, 1, 7]))
    out["sensor"] = column(st.integers(0, 1))
    return out


def direct(findings: list[Any]) -> list[Any]:
    return [f for f in findings if str(f.kind) in DIRECT]


@settings(max_examples=150, deadline=None)
@given(traffic(), st.lists(st.integers(0, 250), max_size=12), st.randoms(use_true_random=False))
def test_batches_give_the_findings_and_series_of_all_packets_at_once(
        rows: np.ndarray, cuts: list[int], shuffle: Any) -> None:
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    pipe = Pipeline(sizes=[256, 0], thresholds=LOW)
    for begin, end in itertools.pairwise(bounds):
        batch = rows[begin:end].copy()
        order = list(range(len(batch)))
        shuffle.shuffle(order)          # a batch in any order; batches in time order
        pipe.add(batch[order])
    findings, table = pipe.finish()
    assert direct(findings) == analyse(rows, [256, 0], LOW)
    assert table.equals(series(rows, "1h", [256, 0]))
    assert pipe.packets == len(rows)


def test_events_merge_across_files_with_a_true_union_of_destinations(write_file: Writer) -> None:
    def syn(second: int, dst: str) -> tuple[int, bytes]:
        return T0 + second * S, ether(ipv4("198.51.100.1", dst, 6, tcp(40000, 23), ip_id=54321))

    first = [syn(i, f"203.0.113.{i % 12}") for i in range(30)]
    second = [syn(100 + i, f"203.0.113.{i % 15}") for i in range(30)]   # 12 seen before
    late = [syn(100 + 29 + 601, "203.0.113.1")]                          # after the timeout
    paths = [write_file(pcap(first), "a.pcap"), write_file(pcap(second + late), "b.pcap")]
    result = analyse_captures([Capture(p, sensor=3) for p in paths], thresholds=LOW)
    (scan,) = direct(result.findings)
    assert (scan.sensor, scan.packets, scan.unique_dsts, scan.fingerprints) == (3, 60, 15, ["zmap"])
    assert (scan.last - scan.first).total_seconds() == 129
    assert result.packets == 61
    assert [s.packets for s in result.stats] == [30, 31]


def test_tiny_chunks_of_a_capture_match_reading_it_whole(
        write_file: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    frames = []
    for i in range(600):
        src = f"198.51.100.{rng.integers(1, 6)}"
        dst = f"203.0.113.{rng.integers(0, 40)}"
        kind = i % 5
        if kind == 0:
            packet = ipv4(src, dst, 6, tcp(40000, int(rng.choice([22, 23])), seq=i))
        elif kind == 1:
            packet = ipv4("192.0.2.80", dst, 6, tcp(80, 50000 + i % 7, flags=0x12))
        elif kind == 2:
            quoted = ipv4(dst, "192.0.2.53", 17, udp(5353, 53))[:28]
            packet = ipv4("192.0.2.1", dst, 1, icmp(3, 3, quoted))
        elif kind == 3:
            packet = ipv4(src, dst, 17, udp(5000, 161, b"x" * 20))
        else:
            packet = ipv6("2001:db8::9", f"2001:db8:ff::{rng.integers(1, 30):x}", 6, tcp(1, 443))
        frames.append((T0 + int(rng.integers(0, 4 * 3600)) * S, ether(packet)))
    frames.sort(key=lambda frame: frame[0])
    path = write_file(pcap(frames))
    whole, _ = read_packets(path)
    monkeypatch.setattr(read, "BATCH", 7)
    monkeypatch.setattr(pipeline, "iter_packets", functools.partial(read.iter_packets,
                                                                    chunk_bytes=300))
    seen: list[int] = []
    result = analyse_captures([Capture(path)], sizes=[512], thresholds=LOW, bucket="5m",
                              on_packets=seen.append)
    assert max(seen) <= 7
    assert sum(seen) == 600 == result.packets
    assert direct(result.findings) == analyse(whole, [512], LOW)
    assert {str(f.kind) for f in result.findings} == {"scanner", "backscatter"}
    assert result.series.equals(series(whole, "5m", [512]))


def test_rises_come_from_their_own_bucket_width() -> None:
    rows = np.zeros(40 * 24 + 60, PACKET)
    hours = np.concatenate([np.repeat(np.arange(40), 24), np.full(60, 40)])
    rows["ts"] = T0 + hours * 3600 * S + np.arange(len(rows)) * S
    rows["src_lo"] = 0xFFFF_0000_0000 | (np.arange(len(rows)) % 24 + 1)
    rows["src_lo"][-60:] = 0xFFFF_0000_0000 | (1000 + np.arange(60))    # 60 new sources
    rows["dst_lo"] = 0xFFFF_CB00_7101
    rows["version"], rows["proto"], rows["tcp_flags"], rows["dport"], rows["count"] = 4, 6, 2, 23, 1
    pipe = Pipeline(bucket="5m", rise_bucket="1h")
    for begin in range(0, len(rows), 100):
        pipe.add(rows[begin:begin + 100], 0)
    findings, table = pipe.finish()
    assert table.equals(series(rows, "5m"))
    risen = rises(series(rows, "1h"))
    assert len(risen) == 1
    (rise,) = [f for f in findings if f.kind is FindingKind.RISE]
    assert (rise.unique_srcs, rise.first) == (60, risen["bucket"][0])


def test_flows_count_as_rows_and_weigh_by_their_packets(write_file: Writer) -> None:
    records = [{"src": "198.51.100.7", "dst": f"203.0.113.{i}", "dport": 23, "flags": 0x02,
                "packets": 10, "bytes": 400} for i in range(12)]
    path = write_file(netflow5(records), "flows.nf5")
    whole, _ = read_packets(path)
    result = analyse_captures([Capture(path)], thresholds=LOW)
    (scan,) = direct(result.findings)
    assert (result.packets, scan.packets, scan.unique_dsts) == (12, 120, 12)
    assert direct(result.findings) == analyse(whole, None, LOW)
    assert result.series["packets"].to_list() == [120]


def test_a_truncated_capture_keeps_its_packets_and_its_problem(write_file: Writer) -> None:
    frames = [(T0 + i * S, ether(ipv4("198.51.100.1", f"203.0.113.{i}", 6, tcp(1, 23))))
              for i in range(20)]
    data = pcap(frames)
    good = write_file(data, "good.pcap")
    cut = write_file(data[:-10], "cut.pcap")
    result = analyse_captures([Capture(good, 0), Capture(cut, 1)], thresholds=LOW)
    assert [s.packets for s in result.stats] == [20, 19]
    assert not result.stats[0].problems
    assert result.stats[1].truncated
    assert len(result.stats[1].problems) == 1
    assert sorted((f.sensor, f.packets) for f in direct(result.findings)) == [(0, 20), (1, 19)]
    with pytest.raises(read.CaptureError):
        analyse_captures([Capture(good), Capture(write_file(b"nonsense", "x.txt"))])


def test_sensors_interleaved_in_time_keep_their_own_clocks() -> None:
    def scan(sensor: int, start: int) -> np.ndarray:
        rows = np.zeros(20, PACKET)
        rows["ts"] = T0 + (start + np.arange(20) * 60) * S
        rows["src_lo"], rows["dst_lo"] = 0xFFFF_C633_6401, 0xFFFF_CB00_7100 + np.arange(20)
        rows["version"], rows["proto"], rows["tcp_flags"], rows["dport"] = 4, 6, 2, 23
        rows["count"], rows["sensor"] = 1, sensor
        return rows

    a, b = scan(0, 0), scan(1, 0)
    pipe = Pipeline(thresholds=LOW)
    for rows in (a[:10], a[10:], b[:10], b[10:]):     # sensor 0's day, then sensor 1's
        pipe.add(rows)
    findings, _ = pipe.finish()
    assert findings == analyse(np.concatenate([a, b]), None, LOW)
    assert [(f.sensor, f.packets) for f in findings] == [(0, 20), (1, 20)]


def test_open_events_stay_bounded_by_open_events_not_packets() -> None:
    events = OpenEvents(idle_timeout_s=600)
    for hour in range(30):
        rows = np.zeros(1000, PACKET)
        rows["ts"] = T0 + hour * 3600 * S + np.arange(1000) * S
        rows["src_lo"] = 0xFFFF_0000_0000 | (hour * 1000 + np.arange(1000) % 50)
        rows["dst_lo"] = 0xFFFF_0000_0000 | np.arange(1000)
        rows["proto"], rows["tcp_flags"], rows["count"], rows["version"] = 6, 2, 1, 4
        closed = events.add(rows, 0)
        assert events.open <= 50
        assert events.destinations <= 8 * 1000         # dead entries are dropped in time
        if hour:
            assert len(closed.events) == 50           # the previous hour's sources
    assert len(events.close().events) == 50
    assert events.open == 0
    with pytest.raises(TypeError):
        events.add(np.zeros(3, np.int64))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic())
def test_series_counts_only_once_every_event_is_closed(rows: np.ndarray) -> None:
    pipe = Pipeline()
    pipe.add(rows)
    _, table = pipe.finish()
    assert table.equals(series(rows))
    assert isinstance(table, pl.DataFrame)


def busy_hours(hours: int = 6, sources: int = 40) -> np.ndarray:
    """Scanners sweeping blocks hour after hour, a new set of sources each hour."""
    rng = np.random.default_rng(11)
    rows = np.zeros(hours * 600, PACKET)
    at = np.arange(len(rows))
    rows["ts"] = T0 + at * 6 * S
    rows["src_lo"] = 0xFFFF_0000_0000 | (at // 600 * 1000 + rng.integers(0, sources, len(rows)))
    rows["dst_lo"] = 0xFFFF_CB00_0000 | rng.integers(0, 1 << 12, len(rows))
    rows["version"], rows["proto"], rows["tcp_flags"], rows["count"] = 4, 6, 2, 1
    rows["dport"] = rng.choice([22, 23, 80], len(rows))
    return rows


@pytest.mark.parametrize("renumber", [False, True])
def test_rebuilding_the_sets_in_place_or_renumbered_keeps_the_events(renumber: bool) -> None:
    rows = busy_hours()
    plain, forced = OpenEvents(), OpenEvents()
    got: list[Any] = []
    expected: list[Any] = []
    for begin in range(0, len(rows), 500):
        expected.append(plain.add(rows[begin:begin + 500], 0).events)
        got.append(forced.add(rows[begin:begin + 500], 0).events)
        forced._rebuild_sets(True, True, renumber)
    expected.append(plain.close().events)
    got.append(forced.close().events)

    def table(parts: list[Any]) -> list[tuple[int, ...]]:
        return sorted(zip(*(np.concatenate([getattr(p, name) for p in parts]).tolist()
                            for name in ("src_lo", "port", "first", "packets", "unique_dsts")),
                          strict=True))

    assert table(got) == table(expected)
    assert forced.destinations == 0
    assert forced.open == 0


def test_findings_are_made_when_read_in_the_order_of_finish() -> None:
    rows = busy_hours()
    pipe = Pipeline(thresholds=LOW)
    other = Pipeline(thresholds=LOW)
    for begin in range(0, len(rows), 700):
        pipe.add(rows[begin:begin + 700], 0)
        other.add(rows[begin:begin + 700], 0)
    listed, table = pipe.finish()
    lazy, counts = other.finish_counts()
    assert len(lazy) == len(listed) > 200
    assert lazy == listed
    assert list(lazy) == listed
    assert lazy[0] == listed[0]
    assert lazy[-1] == listed[-1]
    assert lazy[5:9] == listed[5:9]
    assert lazy[::50] == listed[::50]
    with pytest.raises(IndexError):
        lazy[len(lazy)]
    assert counts.frame().equals(table)
    assert table.equals(series(rows))
    assert sum(frame.height for frame in counts.frames(7)) == table.height
