"""Builders of capture bytes for the sensors tests: packets, frames, pcap, pcapng, flows.

Written with ``struct`` straight from the format specifications, independently of the
reader; dpkt is used in the tests only as a second opinion."""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# -- network layer ----------------------------------------------------------------------


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, ttl: int = 64,
                       ip_id: int = 0, frag: int = 0, total: int | None = None,
                       options: bytes = b"") -> bytes:
    """An IPv4 packet (checksum left 0); ``frag`` is the flags+offset word (0x2000 = MF, low 13 bits offset)."""
    ihl = 5 + len(options) // 4
    length = total if total is not None else ihl * 4 + len(payload)
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, ip_id, frag, ttl, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head + options + payload



def ipv6(src: str, dst: str, next_header: int, payload: bytes, *, hops: int = 64,
         ext: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """An IPv6 packet; ``ext`` are (header type, body) pairs placed before ``payload``,
    the body padded to the header's 8-byte units (fragment headers take a 6-byte body)."""
    chain = b""
    types = [t for t, _ in ext] + [next_header]
    for i, (kind, body) in enumerate(ext):
        nxt = types[i + 1]
        if kind == 44:
            chain += struct.pack("!BB", nxt, 0) + body
        else:
            body = body.ljust(max(6, (len(body) + 2 + 7) // 8 * 8 - 2), b"\0")
            chain += struct.pack("!BB", nxt, (len(body) + 2) // 8 - 1) + body
    first = types[0]
    return (struct.pack("!IHBB16s16s", 0x6000_0000, len(chain) + len(payload), first, hops,
                        ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
            + chain + payload)


def frag6(offset: int, more: bool, ident: int) -> tuple[int, bytes]:
    return 44, struct.pack("!HI", (offset << 3) | int(more), ident)


def tcp(sport: int, dport: int, *, seq: int = 0, ack: int = 0, flags: int = 0x02,
        payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(kind: int, code: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BBHI", kind, code, 0, 0) + payload


# -- link layer -------------------------------------------------------------------------


def ether(packet: bytes, ethertype: int | None = None, vlans: Sequence[int] = (),
          outer_tpid: int = 0x8100) -> bytes:
    if ethertype is None:
        ethertype = 0x86DD if packet[:1] and packet[0] >> 4 == 6 else 0x0800
    tags = b"".join(struct.pack("!HH", outer_tpid if i == 0 else 0x8100, vid)
                    for i, vid in enumerate(vlans))
    return b"\x02" * 6 + b"\x04" * 6 + tags + struct.pack("!H", ethertype) + packet


def sll(packet: bytes, protocol: int = 0x0800) -> bytes:
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, protocol) + packet


def sll2(packet: bytes, protocol: int = 0x0800) -> bytes:
    return struct.pack("!HHIHBB8s", protocol, 0, 2, 1, 0, 6, b"\x02" * 8) + packet


ARP = ether(bytes(28), 0x0806)

# -- files ------------------------------------------------------------------------------

def pcap(frames: Sequence[tuple[int, bytes]], *, linktype: int = 1, little: bool = True,
         nano: bool = False, snaplen: int = 65535, caplens: Sequence[int] | None = None) -> bytes:
    """A classic pcap; frames are (time in ns, bytes); ``caplens`` cut frames short."""
    order = "<" if little else ">"
    out = [struct.pack(order + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)]
    for i, (ts, data) in enumerate(frames):
        cut = caplens[i] if caplens is not None else len(data)
        frac = ts % 1_000_000_000 if nano else ts % 1_000_000_000 // 1000
        out.append(struct.pack(order + "IIII", ts // 1_000_000_000, frac, cut, len(data)))
        out.append(data[:cut])
    return b"".join(out)


def block(kind: int, body: bytes, little: bool = True) -> bytes:
    order = "<" if little else ">"
    body = body.ljust((len(body) + 3) // 4 * 4, b"\0")
    size = 12 + len(body)
    return struct.pack(order + "II", kind, size) + body + struct.pack(order + "I", size)


def option(code: int, value: bytes, little: bool = True) -> bytes:
    order = "<" if little else ">"
    return struct.pack(order + "HH", code, len(value)) + value.ljust((len(value) + 3) // 4 * 4, b"\0")


def shb(little: bool = True) -> bytes:
    order = "<" if little else ">"
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), little)


def idb(linktype: int = 1, *, snaplen: int = 0, tsresol: int | None = None,
        tsoffset: int | None = None, little: bool = True) -> bytes:
    order = "<" if little else ">"
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), little)
    if tsoffset is not None:
        opts += option(14, struct.pack(order + "q", tsoffset), little)
    if opts:
        opts += option(0, b"", little)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, little)


def epb(iface: int, ticks: int, data: bytes, *, caplen: int | None = None,
        little: bool = True) -> bytes:
    order = "<" if little else ">"
    cut = len(data) if caplen is None else caplen
    return block(6, struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFF_FFFF, cut,
                                len(data)) + data[:cut], little)


def spb(data: bytes, little: bool = True) -> bytes:
    order = "<" if little else ">"
    return block(3, struct.pack(order + "I", len(data)) + data, little)


# -- flow exports -----------------------------------------------------------------------


def netflow5(records: Sequence[dict[str, int | str]], *, uptime: int = 100_000,
             secs: int = 1_700_000_000, nsecs: int = 0) -> bytes:
    out = [struct.pack("!HHIIIIBBH", 5, len(records), uptime, secs, nsecs, 0, 0, 0, 0)]
    for r in records:
        out.append(struct.pack(
            "!4s4s4sHHIIIIHHBBBBHHBBH",
            ipaddress.IPv4Address(r["src"]).packed, ipaddress.IPv4Address(r["dst"]).packed,
            bytes(4), 0, 0, r.get("packets", 1), r.get("bytes", 40), r.get("first", uptime),
            r.get("last", uptime), r.get("sport", 0), r.get("dport", 0), 0,
            r.get("flags", 0), r.get("proto", 6), 0, 0, 0, 0, 0, 0))
    return b"".join(out)


def flow_set(set_id: int, body: bytes, pad_to: int = 4) -> bytes:
    body = body.ljust((len(body) + pad_to - 1) // pad_to * pad_to, b"\0")
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def template(tid: int, fields: Sequence[tuple[int, int]], *, ipfix: bool = False) -> bytes:
    """One template record; an IPFIX enterprise element is given as (id | 0x8000, length)
    and gets a made-up enterprise number."""
    out = struct.pack("!HH", tid, len(fields))
    for element, length in fields:
        out += struct.pack("!HH", element, length)
        if ipfix and element & 0x8000:
            out += struct.pack("!I", 32473)
    return out


def netflow9(sets: Sequence[bytes], *, uptime: int = 100_000, secs: int = 1_700_000_000,
             source_id: int = 0) -> bytes:
    return struct.pack("!HHIIII", 9, len(sets), uptime, secs, 0, source_id) + b"".join(sets)


def ipfix(sets: Sequence[bytes], *, export_time: int = 1_700_000_000, domain: int = 0) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, 0, domain) + body


NFDUMP_HEADER = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,"
                 "smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,"
                 "mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr")


def nfdump_row(ts: str, sa: str, da: str, sp: int | str, dp: int | str, pr: str, flg: str,
               ipkt: int, ibyt: int) -> str:
    rest = ",".join(["0"] * 36)
    return f"{ts},{ts},0.000,{sa},{da},{sp},{dp},{pr},{flg},0,0,{ipkt},{ibyt},0,0,{rest}"


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    def write(data: bytes, name: str = "capture.pcap") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
