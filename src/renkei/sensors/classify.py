"""Per-packet judgements: packet class, scanner fingerprints, the service a packet concerns.

Everything is a numpy expression over whole ``PACKET`` arrays. The class comes from one
lookup in a 256×256 table indexed by (protocol, TCP flags or ICMP type), so adding a rule
means editing the table, not the hot path.

Choices:

- A TCP SYN without ACK or RST is a probe, whatever else is set (ECN bits, SYN-FIN).
- A darknet sends nothing, so TCP SYN-ACK and RST, and ICMP (v4 and v6) echo, timestamp,
  information and address-mask *replies* arriving there answer packets forged with a
  darknet source: they are all ``BACKSCATTER``.
- A non-first fragment has no transport header: it is a ``FRAGMENT`` whatever its protocol.
  A first fragment still has its header and is classified normally.
- The *service* of a packet is what a scanner aims at or what a DoS victim offers: the
  destination port of a probe, the source port of a SYN-ACK/RST, and for an ICMP error the
  quoted packet's protocol and destination port (the error was sent by, or on the path to,
  the host that the forged packet was sent to; see ``analyse``).
- Fingerprints (flags, not proof): ZMap's IP id 54321 on any IPv4 packet (all its probe
  modules set it); Masscan's id = (dst ⊕ dport ⊕ seq) mod 2¹⁶ and Mirai's seq = dst only on
  IPv4 TCP SYN probes, where they are defined. A random SYN matches Masscan's test once
  in 65,536, so events keep a mark only when half their packets carry it (``events``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from renkei.sensors.columns import Packets, as_columns
from renkei.sensors.findings import PacketClass
from renkei.sensors.model import FragmentFlag, Proto

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]

SYN, RST, ACK = 0x02, 0x04, 0x10
ZMAP_IP_ID = 54321

_ICMP4_REQUESTS = (8, 13, 15, 17)           # echo, timestamp, information, address mask
_ICMP4_REPLIES = (0, 14, 16, 18)
_ICMP4_ERRORS = (3, 4, 5, 11, 12)           # unreachable, source quench, redirect, time exceeded, parameter
_ICMP6_REQUESTS = (128, 139)                # echo request, node information query
_ICMP6_REPLIES = (129, 140)
_ICMP6_ERRORS = (1, 2, 3, 4)                # unreachable, too big, time exceeded, parameter


def _class_table() -> U8:
    table = np.full((256, 256), PacketClass.OTHER, dtype=np.uint8)
    flags = np.arange(256)
    tcp = np.full(256, PacketClass.TCP_OTHER, dtype=np.uint8)
    tcp[(flags & SYN) != 0] = PacketClass.SYN_PROBE
    tcp[((flags & (SYN | ACK)) == SYN | ACK) | ((flags & RST) != 0)] = PacketClass.BACKSCATTER
    table[Proto.TCP] = tcp
    table[Proto.UDP] = PacketClass.UDP_PROBE
    for proto, requests, replies, errors in (
        (Proto.ICMP, _ICMP4_REQUESTS, _ICMP4_REPLIES, _ICMP4_ERRORS),
        (Proto.ICMPV6, _ICMP6_REQUESTS, _ICMP6_REPLIES, _ICMP6_ERRORS),
    ):
        table[proto, list(requests)] = PacketClass.ICMP_REQUEST
        table[proto, list(replies)] = PacketClass.BACKSCATTER
        table[proto, list(errors)] = PacketClass.ICMP_ERROR
    table.flags.writeable = False
    return table.reshape(-1)


_CLASS_TABLE = _class_table()


_DPORT, _SPORT, _INNER = 1, 2, 3
_PORT_SOURCE = np.zeros(256, dtype=np.uint8)
_PORT_SOURCE[[PacketClass.SYN_PROBE, PacketClass.TCP_OTHER, PacketClass.UDP_PROBE]] = _DPORT
_PORT_SOURCE[PacketClass.BACKSCATTER] = _SPORT
_PORT_SOURCE[PacketClass.ICMP_ERROR] = _INNER


def classify(packets: Packets) -> U8:
    """The ``PacketClass`` of every packet, as uint8."""
    packets = as_columns(packets, ("proto", "tcp_flags", "icmp_type", "frag"))
    proto = packets["proto"]
    selector = np.where(proto == Proto.TCP, packets["tcp_flags"], packets["icmp_type"])
    index = (proto.astype(np.intp) << 8) | selector
    classes: U8 = _CLASS_TABLE[index]
    classes[(packets["frag"] & FragmentFlag.NOT_FIRST) != 0] = PacketClass.FRAGMENT
    return classes


def fingerprints(packets: Packets) -> U8:
    """``Fingerprint`` bits of every packet, as uint8 (0 when nothing matched).

    ZMap's fixed IP id is checked on every IPv4 packet (it uses it in all probe modules);
    Masscan's and Mirai's marks are defined on TCP SYNs only, and all three are IPv4-only.
    """
    packets = as_columns(packets, ("version", "proto", "tcp_flags", "frag", "ip_id", "dst_lo",
                                   "seq", "dport"))
    v4 = packets["version"] == 4
    syn = (v4 & (packets["proto"] == Proto.TCP)
           & ((packets["tcp_flags"] & (SYN | ACK | RST)) == SYN)
           & ((packets["frag"] & FragmentFlag.NOT_FIRST) == 0))
    ip_id = packets["ip_id"]
    dst = packets["dst_lo"].astype(np.uint32)       # the IPv4 address of a mapped address
    seq = packets["seq"]
    masscan = syn & (ip_id == ((dst ^ seq).astype(np.uint16) ^ packets["dport"]))
    mirai = syn & (seq == dst)
    flags: U8 = (v4 & (ip_id == ZMAP_IP_ID)).astype(np.uint8)
    flags |= masscan.astype(np.uint8) << 1
    flags |= mirai.astype(np.uint8) << 2
    return flags


def service(packets: Packets, classes: U8) -> tuple[U8, U16]:
    """The (protocol, port) each packet concerns: what is probed, or what a victim serves.

    Probes give their destination port, TCP backscatter its source port, ICMP errors the
    quoted packet's protocol and destination port; ICMP requests/replies, fragments and
    other protocols have port 0.
    """
    packets = as_columns(packets, ("proto", "inner_proto", "dport", "sport", "inner_dport"))
    source = _PORT_SOURCE[classes]
    is_error = source == _INNER
    proto = np.where(is_error, packets["inner_proto"], packets["proto"])
    port = np.where(source == _DPORT, packets["dport"], 0)
    port = np.where((source == _SPORT) & (packets["proto"] == Proto.TCP), packets["sport"], port)
    port = np.where(is_error, packets["inner_dport"], port)
    return proto.astype(np.uint8), port.astype(np.uint16)
