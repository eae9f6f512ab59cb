"""Events, scanners and backscatter on hand-built arrays; the grouping against plain Python."""

from __future__ import annotations

import ipaddress
import itertools
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.sensors.analyse import (
    Thresholds,
    analyse,
    estimated_rates,
    find_backscatter,
    find_scanners,
    scanner_mask,
)
from renkei.sensors.classify import classify, fingerprints, service
from renkei.sensors.events import Events, group_events
from renkei.sensors.findings import Finding, FindingKind, Fingerprint, PacketClass
from renkei.sensors.grouping import _time_order, group, time_order
from renkei.sensors.model import PACKET
from renkei.sensors.research import ResearchScanners
from tests.sensors.records import S, build

T0 = 1_700_000_000 * S          # 2023-11-14T22:13:20Z
SYN, ACK, RST = 0x02, 0x10, 0x04


def packets(n: int | None = None, **columns: Any) -> np.ndarray:
    return build(n, start=T0, step=S, probe=True, **columns)


def darknet(count: int, prefix: str = "203.0.113.0") -> list[str]:
    base = int(ipaddress.IPv4Address(prefix))
    return [str(ipaddress.IPv4Address(base + i % 256 + (i // 256) * 256)) for i in range(count)]


def rows_of(events: Events) -> list[dict[str, int]]:
    names = ("sensor", "src_lo", "proto", "port", "cls", "first", "last", "packets", "rows",
             "unique_dsts", "fingerprints", "bytes", "version")
    return [dict(zip(names, values, strict=True))
            for values in zip(*(getattr(events, n).tolist() for n in names), strict=True)]


# -- events ------------------------------------------------------------------------------


def test_events_split_on_idle_timeout_and_keep_keys_apart() -> None:
    ts = [T0, T0 + 300 * S, T0 + 900 * S, T0 + 1501 * S, T0 + 10 * S, T0 + 20 * S]
    rows = packets(ts=ts, dport=[23, 23, 23, 23, 2323, 23],
                   src=["198.51.100.1"] * 5 + ["198.51.100.2"],
                   dst=["203.0.113.1", "203.0.113.2", "203.0.113.2", "203.0.113.3",
                        "203.0.113.1", "203.0.113.1"])
    events = rows_of(group_events(rows, idle_timeout_s=600))
    # 0 → 300 → 900 (gap 600: not longer than the timeout) → 1501 (gap 601: new event)
    assert [(e["src_lo"] & 0xFF, e["port"], e["first"] - T0, e["last"] - T0, e["rows"],
             e["unique_dsts"]) for e in events] == [
        (1, 23, 0, 900 * S, 3, 2), (1, 23, 1501 * S, 1501 * S, 1, 1),
        (1, 2323, 10 * S, 10 * S, 1, 1), (2, 23, 20 * S, 20 * S, 1, 1)]


def test_events_weight_flows_by_count_and_or_fingerprints() -> None:
    rows = packets(count=[500, 1, 20], length=[20_000, 40, 800], ip_id=[54321, 1, 2],
                   dst=["203.0.113.1", "203.0.113.1", "203.0.113.2"])
    (event,) = rows_of(group_events(rows))
    assert (event["packets"], event["rows"], event["bytes"], event["unique_dsts"]) == (521, 3, 20_840, 2)
    assert event["fingerprints"] == Fingerprint.ZMAP
    assert (event["cls"], event["proto"], event["version"]) == (PacketClass.SYN_PROBE, 6, 4)


def test_event_keeps_a_mark_only_when_half_its_packets_carry_it() -> None:
    stray = packets(10, ip_id=[54321] + [7] * 9, dst=darknet(10))
    half = packets(10, ip_id=[54321] * 5 + [7] * 5, dst=darknet(10))
    weighted = packets(2, ip_id=[54321, 7], count=[1, 5], dst=darknet(2))
    assert [int(group_events(rows).fingerprints[0]) for rows in (stray, half, weighted)] == [
        0, Fingerprint.ZMAP, 0]


def test_events_of_unsorted_input_and_of_nothing() -> None:
    rows = packets(ts=[T0 + 2000 * S, T0, T0 + 100 * S])
    events = rows_of(group_events(rows))
    assert [(e["first"] - T0, e["last"] - T0, e["rows"]) for e in events] == [
        (0, 100 * S, 2), (2000 * S, 2000 * S, 1)]
    assert len(group_events(packets(0))) == 0


def test_time_order_falls_back_to_argsort_when_the_span_is_too_wide() -> None:
    ts = np.array([5_000_000, 0, 1_000_000, 3_000], dtype=np.int64)
    assert ts[_time_order(ts, budget=4)].tolist() == [0, 3_000, 1_000_000, 5_000_000]
    assert ts[_time_order(ts, budget=40)].tolist() == [0, 3_000, 1_000_000, 5_000_000]
    assert time_order(np.sort(ts)) is None


ADDRESSES = ["198.51.100.1", "198.51.100.2", "192.0.2.200", "2001:db8::1",
             "2001:db9:0:1::ffff:1", "fe80::7"]
DSTS = ["203.0.113.1", "203.0.113.2", "203.0.114.250", "10.0.0.1", "2001:db8:ff::1",
        "2001:db8:ff::2", "2a00::1"]


@st.composite
def batches(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 60))
    def column(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(strategy, min_size=n, max_size=n))
    return packets(
        ts=[T0 + s * S // 4 for s in column(st.integers(0, 16_000))],
        src=column(st.sampled_from(ADDRESSES)),
        dst=column(st.sampled_from(DSTS)),
        sensor=column(st.integers(0, 2)),
        proto=column(st.sampled_from([6, 6, 17, 1])),
        tcp_flags=column(st.sampled_from([SYN, SYN | ACK, RST, ACK])),
        icmp_type=column(st.sampled_from([8, 0, 3])),
        dport=column(st.sampled_from([22, 23, 80])),
        sport=column(st.sampled_from([80, 443])),
        inner_proto=17, inner_dport=53,
        ip_id=column(st.sampled_from([54321, 7])),
        count=column(st.integers(1, 3)),
        length=column(st.integers(20, 1500)),
    )


def reference_events(rows: np.ndarray, idle_ns: int) -> list[tuple[int, ...]]:
    """Plain-Python events: group by key, walk each group in time order, cut at long gaps."""
    classes = classify(rows).tolist()
    flags = fingerprints(rows).tolist()
    protos, ports = (a.tolist() for a in service(rows, classify(rows)))
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(rows.tolist()):
        fields = dict(zip(PACKET.names or (), row, strict=True))
        key = (fields["sensor"], fields["src_hi"], fields["src_lo"], protos[i], ports[i], classes[i])
        groups[key].append(i)
    out = []
    for group_key, members in groups.items():
        members.sort(key=lambda i: int(rows["ts"][i]))
        runs: list[list[int]] = [[members[0]]]
        for before, after in itertools.pairwise(members):
            if int(rows["ts"][after]) - int(rows["ts"][before]) > idle_ns:
                runs.append([])
            runs[-1].append(after)
        for run in runs:
            ts = [int(rows["ts"][i]) for i in run]
            dsts = {(int(rows["dst_hi"][i]), int(rows["dst_lo"][i])) for i in run}
            total = sum(int(rows["count"][i]) for i in run)
            bits = 0
            for flag in (1, 2, 4):
                carried = sum(int(rows["count"][i]) for i in run if flags[i] & flag)
                if carried and 2 * carried >= total:
                    bits |= flag
            out.append((*group_key, min(ts), max(ts), sum(int(rows["count"][i]) for i in run),
                        sum(int(rows["length"][i]) for i in run), len(run), len(dsts), bits))
    return sorted(out)


@settings(max_examples=150, deadline=None)
@given(batches(), st.sampled_from([0.5, 60.0, 600.0]))
def test_grouping_matches_plain_python(rows: np.ndarray, idle_s: float) -> None:
    events = group_events(rows, idle_timeout_s=idle_s)
    got = sorted(zip(*(getattr(events, n).tolist() for n in (
        "sensor", "src_hi", "src_lo", "proto", "port", "cls", "first", "last", "packets",
        "bytes", "rows", "unique_dsts", "fingerprints")), strict=True))
    assert got == reference_events(rows, int(idle_s * S))
    shuffled = rows[np.random.default_rng(len(rows)).permutation(len(rows))]
    again = group_events(shuffled, idle_timeout_s=idle_s)
    assert sorted(again.first.tolist()) == sorted(events.first.tolist())
    assert int(again.packets.sum()) == int(rows["count"].sum())


@pytest.mark.parametrize(("dtype", "low"), [(np.uint16, 3389), (np.uint16, 65_000),
                                            (np.uint32, 70_000), (np.uint32, 4_000_000_000),
                                            (np.uint8, 200), (np.uint64, 1 << 40)])
def test_grouping_of_close_values_far_from_zero(dtype: type, low: int) -> None:
    """A column whose values lie close together above its narrow type (RDP's 3389 and
    3390 rebased into 8 bits) is ordered as plain Python orders it (NumPy 2 refused the
    rebase once: a capture probing only 3389 and 3390 crashed the analysis)."""
    rng = np.random.default_rng(low % 1000)
    column = (low + rng.integers(0, 40, 200)).astype(dtype)
    other = rng.integers(0, 3, 200).astype(np.uint64)
    grouped = group({"a": column, "b": other}, 200)
    pairs = list(zip(column.tolist(), other.tolist(), strict=True))
    assert [pairs[i] for i in grouped.order] == sorted(pairs)
    keys = grouped.keys(np.flatnonzero(grouped.changes))
    assert list(zip(keys["a"].tolist(), keys["b"].tolist(), strict=True)) == sorted(set(pairs))


# -- scanners ----------------------------------------------------------------------------


def test_scanner_threshold_scales_with_the_sensor() -> None:
    small, large = darknet(20), darknet(70, "10.1.0.0")
    rows = np.concatenate([
        packets(dst=small, sensor=0, src="198.51.100.1"),          # 20 of a /24
        packets(dst=small, sensor=1, src="198.51.100.1"),          # 20 of a /16: too few
        packets(dst=large, sensor=1, src="198.51.100.2"),          # 70 of a /16
        packets(dst=small[:9], sensor=0, src="198.51.100.3"),      # 9: under the floor
        packets(dst="203.0.113.5", sensor=0, src="198.51.100.4", count=10_000),  # one flow
    ])
    sizes = [256, 65_536]
    events = group_events(rows)
    found = find_scanners(events, sizes)
    assert sorted((str(f.src), f.sensor, f.unique_dsts) for f in found) == [
        ("198.51.100.1", 0, 20), ("198.51.100.2", 1, 70)]
    # without sizes every sensor uses the floor of ten addresses
    assert int(scanner_mask(events, None).sum()) == 3
    assert int(scanner_mask(events, sizes, Thresholds(scan_fraction=0.0)).sum()) == 3


def test_scanner_finding_fields_and_json() -> None:
    rows = packets(dst=darknet(12), dport=445, ip_id=54321, src="192.0.2.44", sensor=3,
                   ts=[T0 + i * S for i in range(12)])
    (finding,) = find_scanners(group_events(rows), [0, 0, 0, 4096])
    assert finding.kind == FindingKind.SCANNER
    assert finding.fingerprints == ["zmap"]
    assert finding.rate_pps == pytest.approx(12 / 11)
    data = finding.to_json()
    assert data["kind"] == "scanner"
    assert data["src"] == "192.0.2.44"
    assert data["ports"] == [445]
    assert data["protocol"] == "tcp"
    assert data["packet_class"] == "syn-probe"
    assert data["first"] == "2023-11-14T22:13:20+00:00"
    assert data["last"] == "2023-11-14T22:13:31+00:00"
    assert (data["sensor"], data["packets"], data["unique_dsts"]) == (3, 12, 12)


def test_research_scanners_are_labelled_not_dropped() -> None:
    research = ResearchScanners.parse("192.0.2.0/24 censys\n")
    rows = np.concatenate([packets(dst=darknet(15), src="192.0.2.9"),
                           packets(dst=darknet(15), src="198.51.100.9")])
    found = {str(f.src): f.labels for f in find_scanners(group_events(rows), research=research)}
    assert found == {"192.0.2.9": ["censys"], "198.51.100.9": []}


def test_icmp_sweep_is_a_scan_without_ports() -> None:
    rows = packets(dst=darknet(30), proto=1, icmp_type=8, tcp_flags=0, dport=0, sport=0)
    (finding,) = find_scanners(group_events(rows))
    assert (finding.protocol, finding.ports, finding.packet_class) == ("icmp", [], "icmp-request")


# -- backscatter -------------------------------------------------------------------------


def test_backscatter_victim_port_and_attack_rate() -> None:
    # a web server under a spoofed SYN flood answers 101 darknet addresses over 100 s
    rows = packets(101, src="192.0.2.80", sport=80, dport=[1024 + i for i in range(101)],
                   tcp_flags=SYN | ACK, dst=darknet(101, "10.9.0.0"), sensor=1)
    events = group_events(rows)
    (finding,) = find_backscatter(events, [256, 65_536])
    assert (finding.kind, str(finding.src), finding.ports, finding.protocol) == (
        FindingKind.BACKSCATTER, "192.0.2.80", [80], "tcp")
    assert finding.packet_class == "backscatter"
    assert finding.rate_pps == pytest.approx(1.01)
    # the /16 sees 1/65536 of the victim's replies
    assert finding.estimated_pps == pytest.approx(1.01 * 65_536)
    assert estimated_rates(events, [256, 65_536])[0] == pytest.approx(1.01 * 65_536)
    assert find_backscatter(events)[0].estimated_pps is None


def test_backscatter_from_icmp_errors_and_rsts() -> None:
    errors = packets(20, src="198.51.100.254", proto=1, icmp_type=3, tcp_flags=0, sport=0,
                     dport=0, inner_proto=17, inner_dport=53, dst=darknet(20))
    resets = packets(20, src="192.0.2.22", tcp_flags=RST | ACK, sport=22, dst=darknet(20))
    lone = packets(3, src="192.0.2.23", tcp_flags=RST, sport=22, dst=darknet(3))
    found = {str(f.src): f for f in find_backscatter(group_events(
        np.concatenate([errors, resets, lone])), [256])}
    assert set(found) == {"198.51.100.254", "192.0.2.22"}       # three packets are too few
    icmp = found["198.51.100.254"]
    assert (icmp.protocol, icmp.ports, icmp.packet_class) == ("udp", [53], "icmp-error")
    assert icmp.estimated_pps == pytest.approx(20 / 19 * 2**32 / 256)
    assert found["192.0.2.22"].ports == [22]


def test_backscatter_needs_several_darknet_addresses_and_ipv6_has_no_estimate() -> None:
    one_dst = packets(50, src="192.0.2.80", sport=80, tcp_flags=SYN | ACK, dst="203.0.113.1")
    v6 = packets(50, src="2001:db8::80", sport=80, tcp_flags=SYN | ACK,
                 dst=[f"2001:db8:ff::{i:x}" for i in range(50)])
    found = find_backscatter(group_events(np.concatenate([one_dst, v6])), [256])
    assert [(str(f.src), f.estimated_pps) for f in found] == [("2001:db8::80", None)]


def test_analyse_reports_both_kinds() -> None:
    rows = np.concatenate([
        packets(dst=darknet(40), src="198.51.100.50"),
        packets(40, src="192.0.2.80", sport=443, tcp_flags=SYN | ACK, dst=darknet(40)),
    ])
    findings = analyse(rows, [256])
    assert sorted((f.kind.value, str(f.src)) for f in findings) == [
        ("backscatter", "192.0.2.80"), ("scanner", "198.51.100.50")]
    assert all(isinstance(f, Finding) for f in findings)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([(0, 0xFFFF_C633_6401), (0, 1),
                                           (0x2001_0DB8 << 32, 7)]),
                          st.sampled_from([1, 6, 17, 58, 132]), st.integers(0, 65535),
                          st.integers(0, 7), st.integers(0, 7),
                          st.integers(-2 * 10**18, 4 * 10**18)), min_size=0, max_size=12))
def test_findings_in_bulk_match_one_at_a_time(
        rows: list[tuple[tuple[int, int], int, int, int, int, int]]) -> None:
    from renkei.sensors.analyse import _findings
    from renkei.sensors.findings import address, protocol_name, utc

    n = len(rows)
    events = Events(
        sensor=np.arange(n, dtype=np.uint16), src_hi=np.array([r[0][0] for r in rows], np.uint64),
        src_lo=np.array([r[0][1] for r in rows], np.uint64), version=np.full(n, 4, np.uint8),
        proto=np.array([r[1] for r in rows], np.uint8), port=np.array([r[2] for r in rows], np.uint16),
        cls=np.array([r[3] for r in rows], np.uint8), first=np.array([r[5] for r in rows], np.int64),
        last=np.array([r[5] + 999 for r in rows], np.int64), packets=np.arange(n, dtype=np.uint64),
        bytes=np.arange(n, dtype=np.uint64) * 40, rows=np.ones(n, np.uint64),
        unique_dsts=np.arange(n, dtype=np.uint64) + 10,
        fingerprints=np.array([r[4] for r in rows], np.uint8))
    rates = np.linspace(0.5, 2.0, n)
    expected = [Finding(
        kind=FindingKind.SCANNER, first=utc(r[5]), last=utc(r[5] + 999),
        protocol=protocol_name(r[1]), ports=[r[2]] if r[1] in (6, 17) else [],
        src=address(*r[0]), sensor=i, packet_class=PacketClass(r[3]).label,
        fingerprints=Fingerprint.names(r[4]), packets=i, bytes=40 * i, unique_dsts=i + 10,
        rate_pps=float(rates[i])) for i, r in enumerate(rows)]
    got = _findings(FindingKind.SCANNER, events, rates)
    assert got == expected
    assert [f.to_json() for f in got] == [f.to_json() for f in expected]
    assert all(type(a.sensor) is type(b.sensor) and type(a.packets) is type(b.packets)
               for a, b in zip(got, expected, strict=True))
