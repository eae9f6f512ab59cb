"""Flow records: NetFlow v5/v9 and IPFIX (as files and inside captures) and nfdump CSV."""

from __future__ import annotations

import gzip
import ipaddress
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.sensors.model import CaptureFormat
from renkei.sensors.read import CaptureError, detect_format, read_flows, read_packets
from tests.sensors.conftest import (
    NFDUMP_HEADER,
    epb,
    ether,
    flow_set,
    idb,
    ipfix,
    ipv4,
    netflow5,
    netflow9,
    nfdump_row,
    pcap,
    shb,
    template,
    udp,
)

Writer = Callable[..., Path]
SECS = 1_700_000_000


def mapped(addr: str) -> int:
    return 0x0000_FFFF_0000_0000 | int(ipaddress.IPv4Address(addr))


def v4(addr: str) -> bytes:
    return ipaddress.IPv4Address(addr).packed


def v6(addr: str) -> bytes:
    return ipaddress.IPv6Address(addr).packed


# v9 / IPFIX templates: src, dst, sport, dport, proto, flags, packets, bytes, first switched
V4_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4), (1, 4), (22, 4)]
V6_FIELDS = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (2, 8), (1, 8)]


def v4_record(src: str, dst: str, sp: int, dp: int, proto: int, flags: int, pkts: int,
              octets: int, first: int) -> bytes:
    return v4(src) + v4(dst) + struct.pack("!HHBBIII", sp, dp, proto, flags, pkts, octets, first)


V9 = netflow9([
    flow_set(0, template(256, V4_FIELDS) + template(257, V6_FIELDS)),
    flow_set(1, struct.pack("!HHH", 258, 4, 4) + struct.pack("!HHHH", 1, 4, 34, 4)),
    flow_set(256, v4_record("192.0.2.1", "198.51.100.2", 123, 80, 6, 0x12, 10, 400, 99_000)
             + v4_record("192.0.2.3", "198.51.100.2", 0, 0x0303, 1, 0, 1, 56, 100_000)),
    flow_set(257, v6("2001:db8::1") + v6("2001:db8::2") + struct.pack("!HHBQQ", 53, 999, 17, 2**40, 7)),
    flow_set(258, bytes(8)),
], uptime=100_000)


def test_netflow5_file(write_file: Writer) -> None:
    records = [{"src": "192.0.2.1", "dst": "198.51.100.9", "sport": 4444, "dport": 23,
                "packets": 3, "bytes": 180, "flags": 0x02, "proto": 6, "first": 90_000},
               {"src": "192.0.2.2", "dst": "198.51.100.9", "dport": 0x0800, "proto": 1}]
    data = netflow5(records, uptime=100_000, secs=SECS, nsecs=5) + netflow5(records[:1])
    path = write_file(data, "flows.nf5")
    assert detect_format(path) is CaptureFormat.NETFLOW5
    rows, stats = read_flows(path)
    assert stats.problems == []
    assert rows.size == 3
    assert stats.packets == 3
    assert rows["ts"][0] == SECS * 1_000_000_000 + 5 - 10_000 * 1_000_000
    assert rows["src_lo"].tolist()[:2] == [mapped("192.0.2.1"), mapped("192.0.2.2")]
    assert rows["count"].tolist() == [3, 1, 3]
    assert rows["length"].tolist() == [180, 40, 180]
    assert (rows["sport"][0], rows["dport"][0], rows["tcp_flags"][0]) == (4444, 23, 2)
    assert (rows["icmp_type"][1], rows["icmp_code"][1], rows["dport"][1]) == (8, 0, 0)


def test_netflow9_templates_and_data(write_file: Writer) -> None:
    path = write_file(V9 + V9, "flows.nf9")
    assert detect_format(path) is CaptureFormat.NETFLOW9
    rows, stats = read_flows(path)
    assert stats.problems == []
    assert rows.size == 6
    first = rows[0]
    assert (first["src_lo"], first["dst_lo"]) == (mapped("192.0.2.1"), mapped("198.51.100.2"))
    assert (first["sport"], first["dport"], first["proto"], first["tcp_flags"]) == (123, 80, 6, 0x12)
    assert (first["count"], first["length"], first["version"]) == (10, 400, 4)
    assert first["ts"] == SECS * 1_000_000_000 - 1_000 * 1_000_000
    icmp = rows[1]
    assert (icmp["icmp_type"], icmp["icmp_code"], icmp["sport"], icmp["dport"]) == (3, 3, 0, 0)
    six = rows[2]
    hi, lo = divmod(int(ipaddress.IPv6Address("2001:db8::1")), 1 << 64)
    assert (six["version"], six["src_hi"], six["src_lo"], six["sport"]) == (6, hi, lo, 53)
    assert (six["count"], six["length"]) == (2**32 - 1, 7)   # clipped to the column


def test_data_before_its_template_is_reported_once(write_file: Writer) -> None:
    data_only = netflow9([flow_set(256, v4_record("192.0.2.1", "192.0.2.2", 1, 2, 17, 0, 1, 1, 0))])
    rows, stats = read_flows(write_file(data_only + data_only + V9, "x.nf9"))
    assert rows.size == 3
    assert len(stats.problems) == 1
    assert "before the template" in stats.problems[0].reason


def test_ipfix_with_enterprise_and_variable_fields(write_file: Writer) -> None:
    fields = [(8, 4), (12, 4), (0x8000 | 7, 4), (7, 2), (11, 2), (4, 1), (152, 8), (86, 8),
              (85, 8), (82, 0xFFFF)]
    tpl = flow_set(2, template(300, fields, ipfix=True))
    ms = SECS * 1000 + 250

    def rec(name: bytes) -> bytes:
        return (v4("203.0.113.5") + v4("198.51.100.1") + b"ent!" + struct.pack("!HHBQQQ", 161, 5000, 17, ms, 9, 900)
                + bytes([len(name)]) + name)

    message = ipfix([tpl, flow_set(300, rec(b"eth0") + rec(b"") + rec(b"x" * 30))], domain=7)
    fixed = ipfix([flow_set(2, template(301, [(8, 4), (12, 4), (4, 1), (150, 4)])),
                   flow_set(301, v4("192.0.2.1") + v4("192.0.2.2") + bytes([6]) + struct.pack("!I", SECS))])
    path = write_file(message + fixed, "flows.ipfix")
    assert detect_format(path) is CaptureFormat.IPFIX
    rows, stats = read_flows(path)
    assert stats.problems == []
    assert rows.size == 4
    assert rows["ts"].tolist() == [ms * 1_000_000] * 3 + [SECS * 1_000_000_000]
    assert rows["sport"].tolist() == [161, 161, 161, 0]
    assert rows["count"].tolist() == [9, 9, 9, 1]
    assert rows["length"].tolist() == [900, 900, 900, 0]


def test_flows_inside_a_capture(write_file: Writer) -> None:
    v5 = netflow5([{"src": "192.0.2.1", "dst": "192.0.2.2", "sport": 1, "dport": 2}])
    frames = [
        (0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(40000, 2055, V9)))),
        (0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(40000, 7777, v5)))),       # told by its shape
        (0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(53, 53, b"\x00\x09junk")))),  # not an export
        (0, ether(ipv4("10.0.0.1", "10.0.0.9", 6, b"\0" * 20))),
    ]
    rows, stats = read_flows(write_file(pcap(frames)))
    assert rows.size == 3 + 1
    assert stats.skipped == 2
    ng = shb() + idb() + b"".join(epb(0, 0, f) for _, f in frames)
    rows_ng, _ = read_flows(write_file(ng, "flows.pcapng"))
    assert np.array_equal(rows, rows_ng)
    packets, _ = read_packets(write_file(pcap(frames)))
    assert packets.size == 4   # read as packets, the same file is just its datagrams


def test_templates_are_kept_apart_per_exporter(write_file: Writer) -> None:
    other = netflow9([flow_set(0, template(256, [(8, 4), (12, 4), (4, 1)]))])
    frames = [(0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(1, 2055, V9)))),
              (0, ether(ipv4("10.0.0.2", "10.0.0.9", 17, udp(1, 2055, other)))),
              (0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(1, 2055, V9))))]
    rows, stats = read_flows(write_file(pcap(frames)))
    assert rows.size == 6
    assert stats.problems == []
    assert rows["sport"].tolist() == [123, 0, 53] * 2


def test_nfdump_csv(write_file: Writer) -> None:
    lines = [NFDUMP_HEADER,
             nfdump_row("2024-05-01 10:00:00.250", "192.0.2.1", "198.51.100.7", 40000, 80, "TCP", "...AP.SF", 12, 3400),
             nfdump_row("2024-05-01 10:00:01", "2001:db8::1", "2001:db8::2", 0, "8.0", "ICMP6", "......", 1, 64),
             nfdump_row("2024-05-01 10:00:02", "192.0.2.1", "198.51.100.7", 53, 53, "17", "0", 1, 80),
             "2024-05-01,not,a,row",
             "",
             "Summary",
             "flows,bytes,packets,avg_bps,avg_pps,avg_bpp",
             "3,3544,14,0,0,0"]
    text = ("\n".join(lines) + "\n").encode()
    for data in (text, gzip.compress(text)):
        path = write_file(data, "flows.csv")
        assert detect_format(path) is CaptureFormat.NFDUMP_CSV
        rows, stats = read_flows(path)
        assert rows.size == 3
        assert stats.skipped == 1
        assert len(stats.problems) == 1
        assert stats.problems[0].record == 3
        assert rows["ts"][0] == 1_714_557_600_250_000_000
        assert rows["tcp_flags"].tolist() == [0x10 | 0x08 | 0x02 | 0x01, 0, 0]
        assert rows["proto"].tolist() == [6, 58, 17]
        assert rows["version"].tolist() == [4, 6, 4]
        assert (rows["icmp_type"][1], rows["icmp_code"][1], rows["dport"][1]) == (8, 0, 0)
        assert rows["count"].tolist() == [12, 1, 1]
        assert rows["length"].tolist() == [3400, 64, 80]
        assert rows["src_lo"][0] == mapped("192.0.2.1")


def test_truncated_and_corrupt_flow_files(write_file: Writer) -> None:
    rows, stats = read_flows(write_file(V9 + V9[:-5], "cut.nf9"))
    assert rows.size == 3
    assert stats.truncated
    bad_set = netflow9([flow_set(0, template(256, V4_FIELDS))])[:-2] + b"\x00\x01\x00\x02"
    rows, stats = read_flows(write_file(V9 + bad_set, "bad.nf9"))
    assert rows.size == 3
    assert len(stats.problems) == 1
    with pytest.raises(CaptureError):
        read_flows(write_file(b"\x00\x07" + bytes(30), "nope.bin"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([V9, ipfix([flow_set(2, template(300, [(8, 4), (12, 4), (82, 0xFFFF)], ipfix=True)),
                                   flow_set(300, bytes(8) + b"\x03abc")]),
                        netflow5([{"src": "192.0.2.1", "dst": "192.0.2.2"}] * 3)]),
       st.binary(max_size=200), st.lists(st.tuples(st.integers(2, 400), st.integers(0, 255)), max_size=4))
def test_flow_garbage_never_crashes(write_file: Writer, packet: bytes, tail: bytes,
                                    flips: list[tuple[int, int]]) -> None:
    data = bytearray(packet * 2 + tail)
    for at, value in flips:
        if at < len(data):
            data[at] = value
    path = write_file(bytes(data), "fuzz.flows")
    try:
        detect_format(path)
    except CaptureError:   # a header flipped out of shape: said at once, with the file
        with pytest.raises(CaptureError, match=r"fuzz\.flows"):
            read_flows(path)
    else:
        rows, _ = read_flows(path)
        assert rows.size <= 10_000
    frames = [(0, ether(ipv4("10.0.0.1", "10.0.0.9", 17, udp(1, 4739, bytes(data[:1400])))))]
    read_flows(write_file(pcap(frames), "fuzz.pcap"))


def test_iter_packets_reads_flow_files_as_flow_rows(write_file: Writer) -> None:
    path = write_file(V9, "flows.nf9")
    packets, _ = read_packets(path)
    flows, _ = read_flows(path)
    assert np.array_equal(packets, flows)
