"""What the sensor analysers report: packet classes, scanner fingerprints and findings.

Per-packet results stay numpy arrays of small integers (``PacketClass``, ``Fingerprint``
bits); only the few reported findings become Python objects, and only they pay for
``ipaddress`` and ``datetime``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, IntFlag, StrEnum

import numpy as np
import numpy.typing as npt

from renkei.sensors.model import IPV4_MAPPED, Proto

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Monitored IPv4 addresses per sensor index (0, or an index past the end: unknown).
SensorSizes = Sequence[int] | npt.NDArray[np.integer]


class PacketClass(IntEnum):
    """What one packet is, judged from its headers alone (see ``classify``)."""

    OTHER = 0           # another protocol, or an ICMP type that is neither request, reply nor error
    SYN_PROBE = 1       # TCP SYN without ACK/RST: a connection attempt, i.e. a scan
    BACKSCATTER = 2     # SYN-ACK, RST, ICMP echo/timestamp/… replies: answers to spoofed packets
    TCP_OTHER = 3       # any other TCP (bare ACK, FIN, NULL, Xmas …)
    UDP_PROBE = 4
    ICMP_REQUEST = 5    # echo, timestamp, information, address-mask requests
    ICMP_ERROR = 6      # unreachable, time exceeded … about a packet that claimed to come from here
    FRAGMENT = 7        # a non-first fragment: no transport header to judge

    @property
    def label(self) -> str:
        return _CLASS_LABELS[self]


_CLASS_LABELS = {
    PacketClass.OTHER: "other",
    PacketClass.SYN_PROBE: "syn-probe",
    PacketClass.BACKSCATTER: "backscatter",
    PacketClass.TCP_OTHER: "tcp-other",
    PacketClass.UDP_PROBE: "udp-probe",
    PacketClass.ICMP_REQUEST: "icmp-request",
    PacketClass.ICMP_ERROR: "icmp-error",
    PacketClass.FRAGMENT: "fragment",
}

#: Classes a scanner sends; a darknet answers nothing, so every one of these is unsolicited.
PROBES = frozenset({PacketClass.SYN_PROBE, PacketClass.TCP_OTHER, PacketClass.UDP_PROBE,
                    PacketClass.ICMP_REQUEST})
#: Classes that are reactions to packets forged with a darknet source address.
BACKSCATTER = frozenset({PacketClass.BACKSCATTER, PacketClass.ICMP_ERROR})


class Fingerprint(IntFlag):
    """Marks of well-known scanning tools. Flags, not proof: anyone can set an IP id."""

    ZMAP = 1        # IPv4 id 54321
    MASSCAN = 2     # IPv4 id == (dst ^ dport ^ seq) & 0xFFFF on a TCP SYN
    MIRAI = 4       # TCP SYN whose sequence number is the IPv4 destination

    @staticmethod
    def names(bits: int) -> list[str]:
        """The lower-case names of the set bits, in bit order (``["zmap", "masscan"]``)."""
        return list(_FINGERPRINT_NAMES[int(bits) & (len(_FINGERPRINT_NAMES) - 1)])


#: Fingerprint.names of every combination of bits, made once (IntFlag's ``&`` is slow).
_FINGERPRINT_NAMES = [tuple(str(flag.name).lower() for flag in Fingerprint if bits & flag)
                      for bits in range(1 << len(Fingerprint))]


class FindingKind(StrEnum):
    SCANNER = "scanner"
    BACKSCATTER = "backscatter"
    RISE = "rise"
    CAMPAIGN = "campaign"


_PROTO_NAMES = {int(p): p.name.lower() for p in Proto}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def protocol_name(proto: int) -> str:
    """``tcp``, ``udp``, ``icmp``, ``icmpv6``, else the protocol number as text."""
    return _PROTO_NAMES.get(int(proto), str(int(proto)))


def address(hi: int, lo: int) -> Address:
    """One address from the record's two halves; IPv4-mapped ones come back as IPv4."""
    hi, lo = int(hi), int(lo)
    if hi == 0 and lo >> 32 == int(IPV4_MAPPED) >> 32:
        return ipaddress.IPv4Address(lo & 0xFFFF_FFFF)
    return ipaddress.IPv6Address(hi << 64 | lo)


def utc(ns: int) -> datetime:
    """An aware UTC datetime from nanoseconds since the epoch (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)


def utcs(ns: npt.NDArray[np.int64]) -> list[datetime]:
    """``utc`` of each value, in bulk (numpy makes the timedeltas; one addition each)."""
    deltas = (np.asarray(ns, np.int64) // 1000).astype("timedelta64[us]").tolist()
    return [_EPOCH + delta for delta in deltas]


def addresses(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64]) -> list[Address]:
    """``address`` of each (hi, lo) pair, made once per distinct pair and shared."""
    if not len(hi):
        return []
    pairs = np.stack([np.asarray(hi, np.uint64), np.asarray(lo, np.uint64)], axis=1)
    distinct, inverse = np.unique(pairs, axis=0, return_inverse=True)
    made = [address(h, low) for h, low in distinct.tolist()]
    return [made[i] for i in inverse.reshape(-1).tolist()]


#: protocol_name of every protocol number.
PROTOCOL_NAMES = [protocol_name(p) for p in range(256)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(slots=True)
class Finding:
    """One thing worth telling an analyst: a scan, a DoS victim, a rise, a campaign.

    ``src`` is the scanner for ``scanner`` and the victim for ``backscatter``; rises and
    campaigns concern a port, not a source, and leave it empty. For backscatter, ``ports``
    holds the victim's service port; ``estimated_pps`` is the attack rate scaled up from
    the darknet's share of the address space.
    """

    kind: FindingKind
    first: datetime
    last: datetime
    protocol: str
    ports: list[int] = field(default_factory=list)
    src: Address | None = None
    sensor: int | None = None
    sensors: list[int] = field(default_factory=list)
    packet_class: str = ""
    fingerprints: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    packets: int = 0
    bytes: int = 0
    unique_dsts: int = 0
    unique_srcs: int = 0
    rate_pps: float = 0.0                   # packets per second seen at the sensor
    estimated_pps: float | None = None      # backscatter: the attack rate at the victim
    baseline: float | None = None           # rise: median of the previous buckets
    threshold: float | None = None          # rise: what the value had to exceed

    def to_json(self) -> dict[str, object]:
        return {
            "kind": str(self.kind),
            "src": str(self.src) if self.src is not None else None,
            "ports": list(self.ports),
            "protocol": self.protocol,
            "packet_class": self.packet_class,
            "fingerprints": list(self.fingerprints),
            "labels": list(self.labels),
            "packets": self.packets,
            "bytes": self.bytes,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "sensor": self.sensor,
            "sensors": list(self.sensors),
            "unique_dsts": self.unique_dsts,
            "unique_srcs": self.unique_srcs,
            "rate_pps": self.rate_pps,
            "estimated_pps": self.estimated_pps,
            "baseline": self.baseline,
            "threshold": self.threshold,
        }
