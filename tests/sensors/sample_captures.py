"""Small darknet captures for the store, service, CLI, API and notification tests: a
Mirai-like scanner, a ZMap scanner, a DoS victim's backscatter, and some noise, built with
the byte builders of ``conftest``."""

from __future__ import annotations

import ipaddress

from tests.sensors.conftest import ether, ipv4, pcap, tcp

S = 1_000_000_000
T0 = 1_775_030_400 * S          # 2026-04-01T08:00:00Z
DARKNET = "203.0.113.0/24"
MIRAI_SRC = "198.51.100.7"      # in the member's range in the tests
ZMAP_SRC = "192.0.2.99"
VICTIM = "198.51.100.200"       # answers spoofed SYNs: SYN-ACKs into the darknet
SYN, SYN_ACK = 0x02, 0x12


def _dst(i: int) -> str:
    return str(ipaddress.IPv4Address("203.0.113.0") + (i % 250) + 1)


def scanner_frames(src: str = MIRAI_SRC, *, port: int = 23, count: int = 30, start: int = T0,
                   mirai: bool = True, zmap: bool = False) -> list[tuple[int, bytes]]:
    """SYNs from ``src`` to ``count`` darknet addresses, a second apart."""
    frames = []
    for i in range(count):
        dst = _dst(i)
        seq = int(ipaddress.IPv4Address(dst)) if mirai else 1000 + i
        packet = ipv4(src, dst, 6, tcp(40000 + i, port, seq=seq, flags=SYN),
                      ip_id=54321 if zmap else i + 1)
        frames.append((start + i * S, ether(packet)))
    return frames


def backscatter_frames(victim: str = VICTIM, *, port: int = 80, count: int = 20,
                       start: int = T0) -> list[tuple[int, bytes]]:
    """SYN-ACKs from a DoS victim's port ``port`` to ``count`` darknet addresses."""
    return [(start + i * S, ether(ipv4(victim, _dst(i), 6,
                                       tcp(port, 50000 + i, seq=i, ack=1, flags=SYN_ACK))))
            for i in range(count)]


def darknet_capture(start: int = T0) -> bytes:
    """A Mirai-like scanner on 23, a ZMap scanner on 443 and a DoS victim on 80."""
    frames = [*scanner_frames(start=start),
              *scanner_frames(ZMAP_SRC, port=443, count=15, start=start, mirai=False, zmap=True),
              *backscatter_frames(start=start)]
    return pcap(sorted(frames, key=lambda f: f[0]))


def truncated_capture() -> tuple[bytes, int]:
    """A capture cut inside its last record; and the byte offset where that record starts."""
    whole = darknet_capture()
    cut = whole[:-10]
    last_frame = len(ether(ipv4(VICTIM, _dst(0), 6, tcp(80, 1, flags=SYN_ACK))))
    return cut, len(whole) - last_frame - 16
