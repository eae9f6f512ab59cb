"""Packet classes, tool fingerprints, services and research-scanner labels on hand-built rows."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renkei.sensors.classify import classify, fingerprints, service
from renkei.sensors.columns import Columns
from renkei.sensors.findings import Fingerprint, PacketClass
from renkei.sensors.model import FragmentFlag
from renkei.sensors.research import ResearchScanners
from tests.sensors.records import S, build, ip

C = PacketClass


def packets(n: int | None = None, **columns: Any) -> np.ndarray:
    return build(n, start=0, step=S, **columns)


SYN, ACK, RST, FIN, PSH, URG = 0x02, 0x10, 0x04, 0x01, 0x08, 0x20


@pytest.mark.parametrize(("flags", "expected"), [
    (SYN, C.SYN_PROBE),
    (SYN | 0xC0, C.SYN_PROBE),                  # ECN-setup SYN
    (SYN | FIN, C.SYN_PROBE),                   # odd scanners still probe
    (SYN | ACK, C.BACKSCATTER),
    (RST, C.BACKSCATTER),
    (RST | ACK, C.BACKSCATTER),
    (ACK, C.TCP_OTHER),
    (FIN, C.TCP_OTHER),
    (0, C.TCP_OTHER),                           # NULL scan
    (FIN | PSH | URG, C.TCP_OTHER),             # Xmas scan
])
def test_tcp_classes(flags: int, expected: PacketClass) -> None:
    assert classify(packets(proto=6, tcp_flags=flags)).tolist() == [expected]


@pytest.mark.parametrize(("proto", "icmp_type", "expected"), [
    (1, 8, C.ICMP_REQUEST), (1, 13, C.ICMP_REQUEST), (1, 17, C.ICMP_REQUEST),
    (1, 0, C.BACKSCATTER), (1, 14, C.BACKSCATTER), (1, 18, C.BACKSCATTER),
    (1, 3, C.ICMP_ERROR), (1, 11, C.ICMP_ERROR), (1, 12, C.ICMP_ERROR), (1, 5, C.ICMP_ERROR),
    (1, 9, C.OTHER),                            # router advertisement
    (58, 128, C.ICMP_REQUEST), (58, 129, C.BACKSCATTER),
    (58, 1, C.ICMP_ERROR), (58, 2, C.ICMP_ERROR), (58, 3, C.ICMP_ERROR),
    (58, 135, C.OTHER),                         # neighbour solicitation
])
def test_icmp_classes(proto: int, icmp_type: int, expected: PacketClass) -> None:
    assert classify(packets(proto=proto, icmp_type=icmp_type)).tolist() == [expected]


def test_udp_other_protocols_and_fragments() -> None:
    rows = packets(proto=[17, 47, 6, 6, 17],
                   tcp_flags=[0, 0, 0, SYN, 0],
                   frag=[0, 0, FragmentFlag.FRAGMENT | FragmentFlag.NOT_FIRST,
                         FragmentFlag.FRAGMENT, FragmentFlag.FRAGMENT | FragmentFlag.NOT_FIRST])
    assert classify(rows).tolist() == [C.UDP_PROBE, C.OTHER, C.FRAGMENT, C.SYN_PROBE, C.FRAGMENT]


def test_classes_ignore_the_other_protocols_fields() -> None:
    # a TCP row whose icmp_type is set, an ICMP row whose flags are set: each reads its own
    rows = packets(proto=[6, 1], tcp_flags=[SYN, SYN | ACK], icmp_type=[0, 8])
    assert classify(rows).tolist() == [C.SYN_PROBE, C.ICMP_REQUEST]


def masscan_id(dst: str, dport: int, seq: int) -> int:
    return (int(ipaddress.IPv4Address(dst)) ^ dport ^ seq) & 0xFFFF


def test_zmap_flag_on_ipv4_only() -> None:
    rows = packets(src=["198.51.100.1", "198.51.100.2", "2001:db8::1"],
                   dst=["203.0.113.1", "203.0.113.1", "2001:db8:1::1"],
                   proto=[6, 17, 6], tcp_flags=[SYN, 0, SYN], ip_id=54321, seq=7)
    assert fingerprints(rows).tolist() == [Fingerprint.ZMAP, Fingerprint.ZMAP, 0]


def test_masscan_flag_needs_the_exact_id_on_a_syn() -> None:
    dst, dport, seq = "203.0.113.77", 443, 0xDEADBEEF
    good = masscan_id(dst, dport, seq)
    rows = packets(dst=dst, dport=dport, proto=6,
                   tcp_flags=[SYN, SYN, SYN | ACK, SYN],
                   seq=[seq, seq + 1, seq, seq],
                   ip_id=[good, good, good, good ^ 1])
    assert fingerprints(rows).tolist() == [Fingerprint.MASSCAN, 0, 0, 0]


def test_mirai_flag_is_seq_equal_destination_on_ipv4_syn() -> None:
    dst = "203.0.113.9"
    seq = int(ipaddress.IPv4Address(dst))
    rows = packets(src=["198.51.100.1", "198.51.100.1", "198.51.100.1", "2001:db8::1"],
                   dst=[dst, dst, dst, "2001:db8::cb00:7109"], proto=6,
                   tcp_flags=[SYN, SYN, RST, SYN], seq=[seq, seq + 1, seq, seq], ip_id=1)
    assert fingerprints(rows).tolist() == [Fingerprint.MIRAI, 0, 0, 0]


def test_flags_combine_and_name_themselves() -> None:
    dst = "203.0.113.9"
    rows = packets(dst=dst, proto=6, tcp_flags=SYN, ip_id=54321,
                   seq=int(ipaddress.IPv4Address(dst)))
    bits = int(fingerprints(rows)[0])
    assert bits == Fingerprint.ZMAP | Fingerprint.MIRAI
    assert Fingerprint.names(bits) == ["zmap", "mirai"]


def test_service_is_what_is_probed_or_served() -> None:
    rows = packets(proto=[6, 17, 6, 6, 1, 1, 1, 6],
                   tcp_flags=[SYN, 0, SYN | ACK, RST, 0, 3, 8, 0],
                   icmp_type=[0, 0, 0, 0, 0, 3, 8, 0],
                   sport=[40000, 5353, 443, 22, 0, 0, 0, 0],
                   dport=[23, 53, 51000, 60000, 0, 0, 0, 0],
                   inner_proto=[0, 0, 0, 0, 0, 17, 0, 0],
                   inner_dport=[0, 0, 0, 0, 0, 123, 0, 0],
                   frag=[0, 0, 0, 0, 0, 0, 0, FragmentFlag.FRAGMENT | FragmentFlag.NOT_FIRST])
    proto, port = service(rows, classify(rows))
    assert classify(rows).tolist() == [C.SYN_PROBE, C.UDP_PROBE, C.BACKSCATTER, C.BACKSCATTER,
                                       C.BACKSCATTER, C.ICMP_ERROR, C.ICMP_REQUEST, C.FRAGMENT]
    assert port.tolist() == [23, 53, 443, 22, 0, 123, 0, 0]
    assert proto.tolist() == [6, 17, 6, 6, 1, 17, 1, 6]


def test_columns_give_the_same_answers_as_the_record_array() -> None:
    rng = np.random.default_rng(3)
    rows = packets(1000, proto=rng.choice([1, 6, 17, 58], 1000), tcp_flags=rng.integers(0, 256, 1000),
                   icmp_type=rng.integers(0, 256, 1000), ip_id=rng.integers(0, 65536, 1000),
                   seq=rng.integers(0, 2**32, 1000), frag=rng.integers(0, 4, 1000))
    columns = Columns(rows, block=64)
    assert len(columns) == 1000
    assert np.array_equal(classify(columns), classify(rows))
    assert np.array_equal(fingerprints(columns), fingerprints(rows))
    direct = Columns.from_arrays({name: rows[name].copy() for name in ("proto", "tcp_flags",
                                                                        "icmp_type", "frag")})
    assert len(direct) == 1000
    assert "proto" in direct
    assert np.array_equal(classify(direct), classify(rows))


# -- research scanners -------------------------------------------------------------------


def lookup(scanners: ResearchScanners, *texts: str) -> list[list[str]]:
    pairs = [ip(t) for t in texts]
    found = scanners.lookup(np.array([p[0] for p in pairs], np.uint64),
                            np.array([p[1] for p in pairs], np.uint64))
    return [list(scanners.labels[i]) if i >= 0 else [] for i in found.tolist()]


def test_research_text_list_with_nesting_ipv6_and_bad_lines() -> None:
    scanners = ResearchScanners.parse(
        "# name per prefix\n"
        "192.0.2.0/24 census\n"
        "192.0.2.128/25 census-deep   # inside the /24\n"
        "198.51.100.7 single host\n"
        "2001:db8:40::/48 v6-lab\n"
        "2001:db8:40::5/128 v6-one\n"
        "not-a-prefix oops\n"
        "10.0.0.0/8\n")
    assert scanners.problems[0].startswith("line 7:")
    assert scanners.problems[1].startswith("line 8:")
    assert lookup(scanners, "192.0.2.1", "192.0.2.200", "192.0.2.255", "192.0.3.0",
                  "198.51.100.7", "198.51.100.8", "2001:db8:40::1", "2001:db8:40::5",
                  "2001:db8:40::6", "2001:db8:41::1", "0.0.0.0") == [
        ["census"], ["census-deep"], ["census-deep"], [], ["single host"], [], ["v6-lab"],
        ["v6-one"], ["v6-lab"], [], []]


def test_research_yaml_shares_identical_prefixes(tmp_path: Path) -> None:
    path = tmp_path / "research.yaml"
    path.write_text("shodan: [192.0.2.0/24, '2001:db8::/32']\nlab: 192.0.2.0/24\nbroken: [300.1.1.1/8]\n")
    scanners = ResearchScanners.load(path)
    assert lookup(scanners, "192.0.2.9", "2001:db8:ffff::1", "2001:db9::1") == [
        ["shodan", "lab"], ["shodan"], []]
    assert len(scanners.problems) == 1
    assert scanners.names(*ip("192.0.2.9")) == ["shodan", "lab"]


def test_research_lookup_on_empty_list_and_odd_yaml() -> None:
    empty = ResearchScanners()
    assert lookup(empty, "192.0.2.1") == [[]]
    assert ResearchScanners.parse("- just a list", yaml_format=True).problems
    assert ResearchScanners.parse("a: [b", yaml_format=True).problems
