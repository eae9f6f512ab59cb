"""Capture reading: every container, link type and IP layout the sensors see, and damage."""

from __future__ import annotations

import gzip
import ipaddress
import struct
from collections.abc import Callable
from pathlib import Path

import dpkt  # tests only: an independent writer to cross-check against
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.sensors.model import PACKET, CaptureFormat, FragmentFlag
from renkei.sensors.read import (
    CaptureError,
    detect_format,
    format_problem,
    iter_packets,
    read_packets,
)
from tests.sensors.conftest import (
    ARP,
    block,
    epb,
    ether,
    frag6,
    icmp,
    idb,
    ipv4,
    ipv6,
    pcap,
    shb,
    sll,
    sll2,
    spb,
    tcp,
    udp,
)

Writer = Callable[..., Path]
T0 = 1_700_000_000_123_456_000
SYN = ipv4("192.0.2.1", "198.51.100.7", 6, tcp(40000, 80, seq=0x01020304, ack=7, flags=0x02),
           ttl=241, ip_id=0xBEEF)
DNS = ipv4("203.0.113.9", "198.51.100.7", 17, udp(53, 33000, b"x" * 30), ttl=50, ip_id=9)
SYN6 = ipv6("2001:db8::1", "2001:db8:ffff::2", 6, tcp(1234, 443, seq=5, flags=0x12), hops=33)
DNS6 = ipv6("2001:db8::53", "2001:db8::9", 17, udp(53, 9999, b"r" * 11))


def mapped(addr: str) -> int:
    return 0x0000_FFFF_0000_0000 | int(ipaddress.IPv4Address(addr))


def v6(addr: str) -> tuple[int, int]:
    value = int(ipaddress.IPv6Address(addr))
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def row(rows: np.ndarray, i: int = 0) -> dict[str, int]:
    return {name: int(rows[name][i]) for name in PACKET.names}


# -- containers -------------------------------------------------------------------------


@pytest.mark.parametrize("little", [True, False])
@pytest.mark.parametrize("nano", [True, False])
def test_pcap_byte_orders_and_resolutions(write_file: Writer, little: bool, nano: bool) -> None:
    frames = [(T0, ether(SYN)), (T0 + 1000, ether(DNS)), (T0 + 2000, ether(SYN6))]
    rows, stats = read_packets(write_file(pcap(frames, little=little, nano=nano)))
    assert stats.format is CaptureFormat.PCAP
    assert (stats.packets, stats.skipped, stats.problems, stats.truncated) == (3, 0, [], False)
    assert stats.link_types == {1: 3}
    assert rows["ts"].tolist() == [T0, T0 + 1000, T0 + 2000]
    first = row(rows)
    assert first | {"ts": 0} == {
        "ts": 0, "src_hi": 0, "src_lo": mapped("192.0.2.1"), "dst_hi": 0,
        "dst_lo": mapped("198.51.100.7"), "version": 4, "proto": 6, "sport": 40000,
        "dport": 80, "tcp_flags": 2, "seq": 0x01020304, "ack": 7, "ip_id": 0xBEEF, "ttl": 241,
        "frag": 0, "icmp_type": 0, "icmp_code": 0, "inner_proto": 0, "inner_sport": 0,
        "inner_dport": 0, "length": 40, "count": 1, "sensor": 0}
    dns = row(rows, 1)
    assert (dns["proto"], dns["sport"], dns["dport"], dns["length"], dns["ttl"]) == (17, 53, 33000, 58, 50)
    six = row(rows, 2)
    assert (six["src_hi"], six["src_lo"]) == v6("2001:db8::1")
    assert (six["dst_hi"], six["dst_lo"]) == v6("2001:db8:ffff::2")
    assert (six["version"], six["proto"], six["sport"], six["dport"], six["tcp_flags"]) == (6, 6, 1234, 443, 0x12)
    assert (six["ttl"], six["length"], six["seq"]) == (33, 60, 5)


def test_pcapng_interfaces_resolutions_and_blocks(write_file: Writer) -> None:
    data = (shb() + idb(1) + idb(101, tsresol=9, tsoffset=100) + idb(113, tsresol=0x80 | 20)
            + block(0x0BAD, b"whatever this is") + epb(0, T0 // 1000, ether(SYN))
            + epb(1, 5_000_000_123, DNS) + epb(2, 3 << 20 | 1 << 19, sll(SYN6, 0x86DD))
            + spb(ether(DNS)) + epb(5, 0, ether(SYN)))
    rows, stats = read_packets(write_file(data, "x.pcapng"))
    assert stats.format is CaptureFormat.PCAPNG
    assert rows["ts"].tolist() == [T0, 105_000_000_123, 3_500_000_000, 3_500_000_000]
    assert rows["proto"].tolist() == [6, 17, 6, 17]
    assert stats.link_types == {1: 2, 101: 1, 113: 1}
    assert stats.skipped == 1  # the packet on interface 5, which no block described
    assert len(stats.problems) == 1
    assert "interface" in stats.problems[0].reason


def test_pcapng_obsolete_packet_block(write_file: Writer) -> None:
    body = struct.pack("<HHIIII", 0, 0, 0, 1_000_000, len(SYN), len(SYN)) + SYN
    rows, stats = read_packets(write_file(shb() + idb(101) + block(2, body), "old.pcapng"))
    assert rows["ts"].tolist() == [1_000_000_000]
    assert stats.problems == []


def test_pcapng_sections_change_byte_order(write_file: Writer) -> None:
    data = (shb(True) + idb(1, little=True) + epb(0, 1, ether(SYN), little=True)
            + shb(False) + idb(101, little=False, tsresol=9) + epb(0, 2, DNS, little=False))
    rows, stats = read_packets(write_file(data, "x.pcapng"))
    assert rows["ts"].tolist() == [1000, 2]
    assert rows["proto"].tolist() == [6, 17]
    assert stats.problems == []


def test_gzip_is_told_by_magic_not_name(write_file: Writer) -> None:
    frames = [(T0 + i, ether(SYN)) for i in range(500)]
    plain, _ = read_packets(write_file(pcap(frames), "a.pcap.gz"))
    packed, stats = read_packets(write_file(gzip.compress(pcap(frames)), "b.pcap"))
    assert stats.format is CaptureFormat.PCAP
    assert stats.problems == []
    assert np.array_equal(plain, packed)
    assert plain.size == 500
    two_members = gzip.compress(pcap(frames[:10])) + gzip.compress(b"\0" * 0)
    rows, stats = read_packets(write_file(two_members, "c"))
    assert rows.size == 10
    assert stats.problems == []


@pytest.mark.parametrize("chunk", [64, 100, 333, 4096])
def test_records_straddling_chunks(write_file: Writer, chunk: int) -> None:
    frames = [(T0 + i, ether(SYN if i % 3 else DNS) + b"\0" * (i % 7)) for i in range(300)]
    whole, _ = read_packets(write_file(pcap(frames)))
    for data, name in ((pcap(frames), "a.pcap"), (gzip.compress(pcap(frames)), "b.gz"),
                       (shb() + idb() + b"".join(epb(0, T0 // 1000 + i, f) for i, (_, f) in enumerate(frames)), "c")):
        rows, stats = read_packets(write_file(data, name), chunk_bytes=chunk)
        assert rows.size == 300
        assert stats.problems == []
        assert np.array_equal(rows["src_lo"], whole["src_lo"])
        assert np.array_equal(rows["sport"], whole["sport"])


def test_iterator_yields_bounded_batches(write_file: Writer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("renkei.sensors.read.BATCH", 64)
    stream = iter_packets(write_file(pcap([(T0, ether(SYN))] * 1000)), chunk_bytes=4096)
    sizes = [batch.size for batch in stream]
    assert sum(sizes) == 1000
    assert max(sizes) <= 64
    assert stream.stats.packets == 1000


# -- link layers ------------------------------------------------------------------------


@pytest.mark.parametrize(("linktype", "frame"), [
    (1, ether(SYN)),
    (1, ether(SYN, vlans=[42])),
    (1, ether(SYN, vlans=[42, 7], outer_tpid=0x88A8)),
    (1, ether(SYN, vlans=[1, 2, 3], outer_tpid=0x9100)),
    (113, sll(SYN)),
    (276, sll2(SYN)),
    (101, SYN),
    (12, SYN),
    (228, SYN),
    (0, struct.pack("<I", 2) + SYN),            # BSD loopback, host byte order
    (108, struct.pack(">I", 2) + SYN),          # OpenBSD loopback, network order
    (1, ether(struct.pack("!BBHHH", 0x11, 0, 1, len(SYN) + 2, 0x0021) + SYN, 0x8864)),   # PPPoE
    (1, ether(struct.pack("!II", 100 << 12, 200 << 12 | 0x100) + SYN, 0x8847)),          # MPLS
])
def test_link_types(write_file: Writer, linktype: int, frame: bytes) -> None:
    rows, stats = read_packets(write_file(pcap([(T0, frame)], linktype=linktype)))
    assert rows.size == 1
    assert stats.problems == []
    assert (int(rows["src_lo"][0]), int(rows["dport"][0])) == (mapped("192.0.2.1"), 80)


@pytest.mark.parametrize(("linktype", "frame"), [
    (1, ether(SYN6)), (1, ether(SYN6, vlans=[5])), (113, sll(SYN6, 0x86DD)),
    (276, sll2(SYN6, 0x86DD)), (101, SYN6), (229, SYN6)])
def test_link_types_ipv6(write_file: Writer, linktype: int, frame: bytes) -> None:
    rows, _ = read_packets(write_file(pcap([(T0, frame)], linktype=linktype)))
    assert rows["version"].tolist() == [6]
    assert rows["dport"].tolist() == [443]


def test_frames_that_are_not_ip_are_counted(write_file: Writer) -> None:
    frames = [(T0, ARP), (T0, ether(SYN)), (T0, ether(b"\x00" * 30, 0x88CC)), (T0, b"\x01")]
    rows, stats = read_packets(write_file(pcap(frames)))
    assert rows.size == 1
    assert stats.skipped == 3
    assert stats.problems == []
    # a raw-IP link with the wrong version, an IPv4 header cut short
    rows, stats = read_packets(write_file(pcap([(T0, SYN6), (T0, SYN[:12])], linktype=228)))
    assert rows.size == 0
    assert stats.skipped == 2


def test_unknown_link_type_reported_once(write_file: Writer) -> None:
    rows, stats = read_packets(write_file(pcap([(T0, SYN)] * 5, linktype=147)))
    assert rows.size == 0
    assert stats.skipped == 5
    assert stats.link_types == {147: 5}
    assert len(stats.problems) == 1
    assert "link type 147" in stats.problems[0].reason


# -- IP layouts -------------------------------------------------------------------------


def test_ipv4_fragments(write_file: Writer) -> None:
    payload = udp(53, 4444, b"a" * 40)
    first = ipv4("192.0.2.5", "198.51.100.1", 17, payload[:24], frag=0x2000, ip_id=77)
    rest = ipv4("192.0.2.5", "198.51.100.1", 17, payload[24:], frag=3, ip_id=77)
    rows, _ = read_packets(write_file(pcap([(T0, ether(first)), (T0, ether(rest))])))
    assert rows["frag"].tolist() == [FragmentFlag.FRAGMENT, FragmentFlag.FRAGMENT | FragmentFlag.NOT_FIRST]
    assert rows["sport"].tolist() == [53, 0]
    assert rows["dport"].tolist() == [4444, 0]
    assert rows["ip_id"].tolist() == [77, 77]
    assert rows["proto"].tolist() == [17, 17]


def test_ipv6_extension_headers(write_file: Writer) -> None:
    chained = ipv6("2001:db8::1", "2001:db8::2", 17, udp(5353, 53),
                   ext=[(0, b"\x01\x00"), (43, b"\0" * 22), (60, b"")])
    first = ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1, 2, flags=0x10),
                 ext=[(0, b""), frag6(0, True, 0x12345678)])
    later = ipv6("2001:db8::1", "2001:db8::2", 6, b"tail", ext=[frag6(100, False, 0x12345678)])
    rows, _ = read_packets(write_file(pcap([(T0, chained), (T0, first), (T0, later)], linktype=101)))
    assert rows["proto"].tolist() == [17, 6, 6]
    assert rows["sport"].tolist() == [5353, 1, 0]
    assert rows["dport"].tolist() == [53, 2, 0]
    assert rows["tcp_flags"].tolist() == [0, 0x10, 0]
    assert rows["frag"].tolist() == [0, 1, 3]
    assert rows["ip_id"].tolist() == [0, 0x5678, 0x5678]
    assert rows["length"].tolist() == [40 + 40 + 8, 40 + 16 + 20, 40 + 8 + 4]


def test_icmp_errors_quote_the_inner_packet(write_file: Writer) -> None:
    quoted = ipv4("198.51.100.7", "192.0.2.1", 17, udp(33000, 53, b"q" * 20))
    unreachable = ipv4("192.0.2.1", "198.51.100.7", 1, icmp(3, 3, quoted[:28]))
    echo = ipv4("192.0.2.1", "198.51.100.7", 1, icmp(8, 0, quoted[:28]))
    quoted6 = ipv6("2001:db8::2", "2001:db8::1", 6, tcp(443, 50000), ext=[(60, b"")])
    too_big = ipv6("2001:db8::1", "2001:db8::2", 58, icmp(2, 0, quoted6))
    rows, _ = read_packets(write_file(pcap([(T0, unreachable), (T0, echo), (T0, too_big)], linktype=101)))
    assert rows["icmp_type"].tolist() == [3, 8, 2]
    assert rows["icmp_code"].tolist() == [3, 0, 0]
    assert rows["inner_proto"].tolist() == [17, 0, 6]
    assert rows["inner_sport"].tolist() == [33000, 0, 443]
    assert rows["inner_dport"].tolist() == [53, 0, 50000]
    assert rows["sport"].tolist() == [0, 0, 0]


def test_snap_length_never_reads_the_next_record(write_file: Writer) -> None:
    """A frame cut inside its TCP header: what was not captured stays 0, and the next
    record (whose bytes follow) is not mistaken for the rest of it."""
    frames = [(T0, ether(SYN)), (T0, ether(DNS))]
    for cut, expect in ((14 + 20 + 2, (0, 0, 0, 0)), (14 + 20 + 4, (40000, 80, 0, 0)),
                        (14 + 20 + 12, (40000, 80, 0x01020304, 7))):
        rows, _ = read_packets(write_file(pcap(frames, caplens=[cut, len(frames[1][1])])))
        got = rows[["sport", "dport", "seq", "ack"]][0].tolist()
        assert got == expect
        assert int(rows["tcp_flags"][0]) == 0
        assert int(rows["length"][0]) == 40
        assert int(rows["sport"][1]) == 53
    quoted = ipv4("198.51.100.7", "192.0.2.1", 17, udp(33000, 53))
    error = ipv4("192.0.2.1", "198.51.100.7", 1, icmp(11, 0, quoted))
    rows, _ = read_packets(write_file(pcap([(T0, error), (T0, DNS)], linktype=101, caplens=[20 + 8 + 22, len(DNS)])))
    assert (int(rows["inner_proto"][0]), int(rows["inner_sport"][0])) == (17, 0)


def test_ethernet_padding_is_not_read_as_transport(write_file: Writer) -> None:
    short = ipv4("192.0.2.1", "198.51.100.7", 6, tcp(1, 2)[:4])   # IP says 24 bytes
    rows, _ = read_packets(write_file(pcap([(T0, ether(short) + b"\xff" * 30)])))
    assert (int(rows["sport"][0]), int(rows["seq"][0]), int(rows["tcp_flags"][0])) == (1, 0, 0)


# -- damage -----------------------------------------------------------------------------


def test_caplen_over_snaplen_stops_with_a_report(write_file: Writer) -> None:
    good = pcap([(T0, ether(SYN))] * 3, snaplen=65535)
    bad = struct.pack("<IIII", 1, 0, 70000, 70000) + b"\0" * 100
    rows, stats = read_packets(write_file(good + bad + good[24:]))
    assert rows.size == 3
    (problem,) = stats.problems
    assert (problem.record, problem.offset) == (3, len(good))
    assert problem.reason == "captured length 70000 exceeds snap length 65535"
    assert format_problem(problem).endswith(f"record 3 at byte {len(good)}: {problem.reason}")


def test_every_truncation_keeps_the_packets_before_it(write_file: Writer) -> None:
    frames = [(T0 + i, ether(SYN if i % 2 else DNS6)) for i in range(4)]
    for data, header, sizes in (
        (pcap(frames), 24, [16 + len(f) for _, f in frames]),
        (shb() + idb(), len(shb() + idb()), [len(epb(0, 0, f)) for _, f in frames]),
    ):
        if header != 24:
            data += b"".join(epb(0, T0 // 1000 + i, f) for i, (_, f) in enumerate(frames))
        ends = np.cumsum([header, *sizes])
        clean = {0, *ends.tolist(), len(shb()) if header != 24 else 0}
        for cut in range(len(data) + 1):
            path = write_file(data[:cut], f"cut{cut}")
            try:
                rows, stats = read_packets(path)
            except CaptureError:
                assert cut < 4
                continue
            whole = int(np.searchsorted(ends[1:], cut, side="right"))
            assert rows.size == whole, cut
            assert stats.truncated == (cut not in clean), cut
            assert len(stats.problems) == int(stats.truncated)


def test_truncated_gzip_keeps_what_came_through(write_file: Writer) -> None:
    frames = [(T0 + i * 1000, ether(SYN) + i.to_bytes(4, "big") * 8) for i in range(2000)]
    data = gzip.compress(pcap(frames))
    for cut in (len(data) // 3, len(data) // 2, len(data) - 9, len(data) - 1):
        rows, stats = read_packets(write_file(data[:cut], "t.gz"))
        assert 0 < rows.size <= 2000
        assert rows["ts"].tolist() == [T0 + i * 1000 for i in range(rows.size)]
        assert stats.truncated
        assert any("compressed" in p.reason for p in stats.problems)


@pytest.mark.parametrize(("damage", "words"), [
    (struct.pack("<II", 6, 0), "too short"),
    (struct.pack("<II", 6, 13) + b"\0" * 20, "multiple of 4"),
    (struct.pack("<II", 6, 0x7FFF_FFF0), "exceeds"),
    (struct.pack("<III", 6, 16, 0) + struct.pack("<I", 20), "disagree"),
    (struct.pack("<IIIIIII", 6, 36, 0, 0, 0, 99, 99) + b"\0" * 4 + struct.pack("<I", 36), "does not fit"),
    (struct.pack("<IIIII", 0x0A0D0D0A, 28, 0x11223344, 0, 0) + b"\0" * 8, "byte-order"),
])
def test_corrupt_pcapng_blocks_stop_the_file(write_file: Writer, damage: bytes, words: str) -> None:
    good = shb() + idb() + epb(0, 1, ether(SYN))
    rows, stats = read_packets(write_file(good + damage + epb(0, 2, ether(SYN)), "x.pcapng"))
    assert rows.size == 1
    (problem,) = stats.problems
    assert problem.offset == len(good)
    assert problem.record == 3
    assert words in problem.reason


def test_detect_format(write_file: Writer) -> None:
    assert detect_format(write_file(pcap([], little=False, nano=True))) is CaptureFormat.PCAP
    assert detect_format(write_file(gzip.compress(shb()))) is CaptureFormat.PCAPNG
    for data in (b"", b"\x0a", b"GIF89a....", b"\x00\x07" + b"\0" * 40):
        path = write_file(data, "mystery.bin")
        with pytest.raises(CaptureError, match=r"mystery\.bin"):
            detect_format(path)
        with pytest.raises(CaptureError, match=r"mystery\.bin"):
            iter_packets(path)
    with pytest.raises(CaptureError, match="cannot open"):
        detect_format(write_file(b"").parent / "missing.pcap")


# -- cross-check with dpkt, and fuzzing ---------------------------------------------------

port = st.integers(0, 65535)


@st.composite
def random_packet(draw: st.DrawFn) -> tuple[dpkt.Packet, dict[str, int]]:
    """A dpkt packet and the field values the reader must report for it."""
    proto = draw(st.sampled_from([6, 17, 1, 47]))
    six = draw(st.booleans())
    if proto == 1 and six:
        proto = 58
    want = {"proto": proto, "sport": 0, "dport": 0, "tcp_flags": 0, "seq": 0, "ack": 0,
            "icmp_type": 0, "icmp_code": 0, "ttl": draw(st.integers(0, 255)), "ip_id": 0}
    body = draw(st.binary(max_size=40))
    if proto == 6:
        sp, dp, seq, ack, flags = draw(port), draw(port), draw(st.integers(0, 2**32 - 1)), \
            draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 255))
        l4: dpkt.Packet = dpkt.tcp.TCP(sport=sp, dport=dp, seq=seq, ack=ack, flags=flags, data=body)
        want |= {"sport": sp, "dport": dp, "seq": seq, "ack": ack, "tcp_flags": flags}
    elif proto == 17:
        sp, dp = draw(port), draw(port)
        l4 = dpkt.udp.UDP(sport=sp, dport=dp, data=body)
        l4.ulen = 8 + len(body)
        want |= {"sport": sp, "dport": dp}
    elif proto in (1, 58):
        kind, code = draw(st.sampled_from([0, 8, 128, 129, 5, 13])), draw(st.integers(0, 255))
        l4 = dpkt.icmp.ICMP(type=kind, code=code, data=body)
        want |= {"icmp_type": kind, "icmp_code": code}
    else:
        l4 = body
    src, dst = draw(st.binary(min_size=16, max_size=16)), draw(st.binary(min_size=16, max_size=16))
    if six:
        ip: dpkt.Packet = dpkt.ip6.IP6(src=src, dst=dst, nxt=proto, hlim=want["ttl"], data=l4)
        ip.plen = len(bytes(l4))
        want |= {"version": 6, "src_hi": int.from_bytes(src[:8], "big"),
                 "src_lo": int.from_bytes(src[8:], "big"), "dst_lo": int.from_bytes(dst[8:], "big"),
                 "length": 40 + len(bytes(l4))}
    else:
        ip_id = draw(port)
        ip = dpkt.ip.IP(src=src[:4], dst=dst[:4], p=proto, ttl=want["ttl"], id=ip_id, data=l4)
        ip.len = 20 + len(bytes(l4))
        want |= {"version": 4, "ip_id": ip_id, "src_hi": 0, "src_lo": mapped_bytes(src[:4]),
                 "dst_lo": mapped_bytes(dst[:4]), "length": ip.len}
    vlans = draw(st.lists(st.integers(0, 4095), max_size=2))
    frame = bytes(ip)
    eth = ether(frame, vlans=vlans, outer_tpid=0x88A8 if len(vlans) == 2 else 0x8100)
    return eth, want


def mapped_bytes(raw: bytes) -> int:
    return 0x0000_FFFF_0000_0000 | int.from_bytes(raw, "big")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(random_packet(), min_size=1, max_size=30), st.booleans(), st.booleans())
def test_matches_dpkt_written_captures(write_file: Writer, packets: list[tuple[bytes, dict[str, int]]],
                                       ng: bool, nano: bool) -> None:
    path = write_file(b"", "dpkt.pcapng" if ng else "dpkt.pcap")
    with path.open("wb") as handle:
        writer = (dpkt.pcapng.Writer(handle, snaplen=65535) if ng
                  else dpkt.pcap.Writer(handle, snaplen=65535, nano=nano))
        for i, (frame, _) in enumerate(packets):
            writer.writepkt(frame, ts=1_700_000_000 + i / 4)
    rows, stats = read_packets(path)
    assert stats.problems == []
    assert rows.size == len(packets)
    for i, (_, want) in enumerate(packets):
        got = row(rows, i)
        assert {k: got[k] for k in want} == want
        assert got["ts"] == 1_700_000_000_000_000_000 + i * 250_000_000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(random_packet(), min_size=1, max_size=10), st.data())
def test_short_snap_lengths_zero_what_was_not_captured(write_file: Writer, packets: list[tuple[bytes, dict[str, int]]],
                                                      data: st.DataObject) -> None:
    frames = [(T0, frame) for frame, _ in packets]
    full, _ = read_packets(write_file(pcap(frames), "full.pcap"))
    cuts = [data.draw(st.integers(0, len(f))) for _, f in frames]
    rows, stats = read_packets(write_file(pcap(frames, caplens=cuts), "cut.pcap"))
    kept = 0
    for i, ((frame, want), cut) in enumerate(zip(packets, cuts, strict=True)):
        l3 = len(frame) - want["length"]
        if cut < l3 + (40 if want["version"] == 6 else 20):
            continue
        got, ref = row(rows, kept), row(full, i)
        kept += 1
        l4 = l3 + (40 if want["version"] == 6 else 20)
        spans = {"sport": 4, "dport": 4,  # the ports come as a pair "seq": 8, "ack": 12, "tcp_flags": 14,
                 "icmp_type": 2, "icmp_code": 2}
        for name, end in spans.items():
            assert got[name] == (ref[name] if cut >= l4 + end else 0), (name, cut)
        assert (got["src_lo"], got["length"], got["ttl"]) == (ref["src_lo"], ref["length"], ref["ttl"])
    assert rows.size == kept
    assert stats.skipped == len(frames) - kept


CLEAN = [(T0 + i, ether(SYN if i % 3 else DNS6 if i % 2 else DNS)) for i in range(12)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["pcap", "pcapng", "gzip"]), st.binary(max_size=300),
       st.lists(st.tuples(st.integers(4, 2000), st.integers(0, 255)), max_size=4))
def test_garbage_never_crashes_and_keeps_the_clean_prefix(
        write_file: Writer, kind: str, tail: bytes, flips: list[tuple[int, int]]) -> None:
    if kind == "pcapng":
        parts = [shb(), idb()] + [epb(0, ts // 1000, f) for ts, f in CLEAN]
    else:
        parts = [pcap([])] + [pcap([c])[24:] for c in CLEAN]
    ends = np.cumsum([len(p) for p in parts])
    data = bytearray(b"".join(parts) + tail)
    first = len(data)
    for at, value in flips:
        if at < len(data):
            data[at] = value
            first = min(first, at)
    head = 2 if kind == "pcapng" else 1
    clean_before = int(np.searchsorted(ends[head:], first, side="right"))
    raw = gzip.compress(bytes(data)) if kind == "gzip" else bytes(data)
    rows, stats = read_packets(write_file(raw, "fuzz"), chunk_bytes=256)
    clean, _ = read_packets(write_file(b"".join(parts), "clean"))
    assert rows.size >= clean_before
    assert np.array_equal(rows[:clean_before], clean[:clean_before])
    assert all(p.path.endswith("fuzz") for p in stats.problems)
