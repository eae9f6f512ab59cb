"""Types of the sensors domain: the packet record every reader produces and analysers read.

Readers turn captures (pcap, pcapng, NetFlow/IPFIX, nfdump CSV) into numpy arrays of
``PACKET`` records, never one Python object per packet: the analysis is vectorised over
these arrays. A flow record is one row whose ``count`` is its packet count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np

#: One observed packet (or one flow, with ``count`` > 1). Addresses are IPv6-shaped:
#: IPv4 is stored IPv4-mapped (``hi`` = 0, ``lo`` = 0x0000_FFFF_0000_0000 | address), so
#: ``lo & 0xFFFF_FFFF`` is the IPv4 address and one comparison serves both families.
PACKET = np.dtype([
    ("ts", "<i8"),          # nanoseconds since the Unix epoch (UTC)
    ("src_hi", "<u8"),
    ("src_lo", "<u8"),
    ("dst_hi", "<u8"),
    ("dst_lo", "<u8"),
    ("version", "u1"),      # 4 or 6
    ("proto", "u1"),        # IP protocol number of the transport (after IPv6 extension headers)
    ("sport", "<u2"),       # TCP/UDP ports; 0 for other protocols
    ("dport", "<u2"),
    ("tcp_flags", "u1"),    # FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80
    ("seq", "<u4"),         # TCP sequence number
    ("ack", "<u4"),         # TCP acknowledgement number
    ("ip_id", "<u2"),       # IPv4 identification (low 16 bits of the IPv6 fragment id)
    ("ttl", "u1"),          # IPv4 TTL / IPv6 hop limit
    ("frag", "u1"),         # FragmentFlag bits
    ("icmp_type", "u1"),
    ("icmp_code", "u1"),
    ("inner_proto", "u1"),  # for ICMP errors: the quoted packet's protocol and ports
    ("inner_sport", "<u2"),
    ("inner_dport", "<u2"),
    ("length", "<u4"),      # IP total length in bytes (a flow: its byte count)
    ("count", "<u4"),       # packets this row stands for: 1 for a capture, a flow's packets
    ("sensor", "<u2"),      # index into the capture's sensor list (0 when unknown)
])

IPV4_MAPPED = np.uint64(0x0000_FFFF_0000_0000)


class FragmentFlag(IntEnum):
    FRAGMENT = 1        # part of a fragmented datagram (MF set or offset > 0)
    NOT_FIRST = 2       # offset > 0: carries no transport header, ports are 0


class Proto(IntEnum):
    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58


class CaptureFormat(StrEnum):
    PCAP = "pcap"
    PCAPNG = "pcapng"
    NETFLOW5 = "netflow5"
    NETFLOW9 = "netflow9"
    IPFIX = "ipfix"
    NFDUMP_CSV = "nfdump-csv"


@dataclass(slots=True)
class ReadProblem:
    """Where a capture stopped making sense: everything before ``offset`` was read."""

    path: str
    offset: int             # byte offset (in the decompressed stream) of the bad block/record
    record: int             # index of the packet/record that failed (0-based)
    reason: str


@dataclass(slots=True)
class ReadStats:
    """What a reader saw, so that nothing is silently dropped."""

    path: str
    format: CaptureFormat
    packets: int = 0                    # records produced
    skipped: int = 0                    # frames read but not IP (ARP, unknown link type …)
    link_types: dict[int, int] = field(default_factory=dict)   # link type -> frames
    problems: list[ReadProblem] = field(default_factory=list)
    truncated: bool = False             # the file ended inside a block or record
