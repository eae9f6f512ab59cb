"""Numba kernels for reading captures: walk record headers, then decode frames into PACKET rows.

The header walk is sequential by nature (each record says where the next one starts), and
the decode branches per frame (VLAN stacks, IPv6 extension chains, quoted ICMP packets), so
both are compiled loops over the file's bytes rather than masked numpy passes: one pass,
no Python object per packet. Every read is bounds-checked against the frame's captured
end, so a short snap length never reads the next record's bytes; what was not captured
stays 0.

Walkers fill caller-owned arrays (``off``, ``caplen``, ``wirelen``, ``link``, ``ts``) and
return ``(frames, position, status, detail)``; ``status`` is NEED_MORE (the buffer ends
inside a record), FULL (the arrays are full) or BAD (``detail`` is a reason code below).
Classic pcap, the common case, is walked and decoded in one pass (``read_pcap``), with
no arrays between the two. The decoder writes every field of a row, so rows need no
zeroing first, and the kernels read the buffer through ``intrinsics.borrowed`` (a
helper taking the array would otherwise cost two atomic reference-count updates a frame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from renkei.sensors.intrinsics import borrowed
from renkei.sensors.model import FragmentFlag

NEED_MORE, FULL, BAD = 0, 1, 2

# Reasons for BAD (the messages live in read.py).
CAPLEN_OVER_LIMIT, BLOCK_TOO_SHORT, BLOCK_TOO_LONG, BLOCK_LEN_MISMATCH, BAD_BYTE_ORDER, \
    CAPLEN_OVER_BLOCK, TOO_MANY_INTERFACES, NOT_A_SECTION = range(1, 9)

# pcapng walker state, one int64 array kept across calls.
ST_LITTLE, ST_INTERFACES, ST_LAST_TS, ST_BLOCKS, ST_BAD_IF, ST_BAD_IF_AT, ST_SECTIONS = range(7)
STATE_SIZE = 7

MAX_BLOCK = 16 * 1024 * 1024
MAX_INTERFACES = 4096

# Link types the decoder knows (anything else is counted as skipped and reported).
KNOWN_LINK_TYPES = frozenset({0, 1, 12, 14, 101, 108, 113, 228, 229, 276})

_FRAGMENT = np.uint8(FragmentFlag.FRAGMENT)
_NOT_FIRST = np.uint8(FragmentFlag.NOT_FIRST)
_MAPPED = np.uint64(0x0000_FFFF_0000_0000)
# np.int64 under a name mypy reads as returning int: numba's own int() keeps a uint8 a uint8,
# and byte arithmetic must happen in int64.
_int: Callable[[object], int] = np.int64  # type: ignore[assignment]
_POW10 = np.array([10**i for i in range(19)], dtype=np.int64)


@njit(cache=True, inline="always")
def _be16(buf: np.ndarray, i: int) -> int:
    return (_int(buf[i]) << 8) | _int(buf[i + 1])


@njit(cache=True, inline="always")
def _be32(buf: np.ndarray, i: int) -> int:
    return ((_int(buf[i]) << 24) | (_int(buf[i + 1]) << 16)
            | (_int(buf[i + 2]) << 8) | _int(buf[i + 3]))


@njit(cache=True, inline="always")
def _be64(buf: np.ndarray, i: int) -> np.uint64:
    w = np.uint64(0)
    for t in range(8):
        w = (w << np.uint64(8)) | np.uint64(buf[i + t])
    return w


@njit(cache=True, inline="always")
def _rd16(buf: np.ndarray, i: int, little: int) -> int:
    if little:
        return _int(buf[i]) | (_int(buf[i + 1]) << 8)
    return _be16(buf, i)


@njit(cache=True, inline="always")
def _rd32(buf: np.ndarray, i: int, little: int) -> int:
    if little:
        return (_int(buf[i]) | (_int(buf[i + 1]) << 8)
                | (_int(buf[i + 2]) << 16) | (_int(buf[i + 3]) << 24))
    return _be32(buf, i)


# -- record walkers ------------------------------------------------------------------


@njit(cache=True, inline="always")
def _pcap_record(buf: np.ndarray, pos: int, end: int, little: int, nano: int,
                 limit: int) -> tuple[int, int, int, int, int]:
    """The pcap record at ``pos``: (FULL, 0, captured length, wire length, time in ns) when
    it lies whole in the buffer, else (NEED_MORE or BAD, detail, 0, 0, 0)."""
    if end - pos < 16:
        return NEED_MORE, 16, 0, 0, 0
    cl = _rd32(buf, pos + 8, little)
    if cl > limit:
        return BAD, cl, 0, 0, 0
    if end - pos - 16 < cl:
        return NEED_MORE, 16 + cl, 0, 0, 0
    stamp = _rd32(buf, pos, little) * 1_000_000_000 + _rd32(buf, pos + 4, little) * (
        1 if nano else 1000)
    return FULL, 0, cl, _rd32(buf, pos + 12, little), stamp


@njit(cache=True)
def walk_pcap(buf: np.ndarray, pos: int, little: int, nano: int, limit: int, linktype: int,
              off: np.ndarray, caplen: np.ndarray, wirelen: np.ndarray, link: np.ndarray,
              ts: np.ndarray) -> tuple[int, int, int, int]:
    """Classic pcap records from ``pos``; ``detail`` is the offending captured length."""
    buf = borrowed(buf)
    end = buf.size
    n = 0
    while n < off.size:
        status, detail, cl, wire, stamp = _pcap_record(buf, pos, end, little, nano, limit)
        if status != FULL:
            return n, pos, status, detail
        off[n] = pos + 16
        caplen[n] = cl
        wirelen[n] = wire
        link[n] = linktype
        ts[n] = stamp
        n += 1
        pos += 16 + cl
    return n, pos, FULL, 0


@njit(cache=True, inline="always")
def ticks_to_ns(ticks: int, resol: int) -> int:
    """Timestamp units to nanoseconds: if_tsresol is 10^-n, or 2^-n when bit 7 is set."""
    p = resol & 0x7F
    if resol & 0x80:
        p = min(p, 62)
        sec = ticks >> p
        frac = ticks & ((1 << p) - 1)
        if p > 32:
            frac >>= p - 32
            p = 32
        return sec * 1_000_000_000 + ((frac * 1_000_000_000) >> p)
    if p <= 9:
        return ticks * int(_POW10[9 - p])
    if p - 9 < 19:
        return ticks // int(_POW10[p - 9])
    return 0


@njit(cache=True)
def _read_idb(buf: np.ndarray, pos: int, blen: int, little: int, k: int, if_link: np.ndarray,
              if_snap: np.ndarray, if_resol: np.ndarray, if_offset: np.ndarray) -> None:
    if_link[k] = _rd16(buf, pos + 8, little)
    if_snap[k] = _rd32(buf, pos + 12, little)
    if_resol[k] = 6
    if_offset[k] = 0
    o = pos + 16
    stop = pos + blen - 4
    while o + 4 <= stop:
        code = _rd16(buf, o, little)
        length = _rd16(buf, o + 2, little)
        if code == 0 or o + 4 + length > stop:
            break
        if code == 9 and length >= 1:
            if_resol[k] = buf[o + 4]
        elif code == 14 and length >= 8:
            lo = _rd32(buf, o + 4, little)
            hi = _rd32(buf, o + 8, little)
            if not little:
                lo, hi = hi, lo
            if_offset[k] = (hi << 32) | lo
        o += 4 + ((length + 3) & ~3)


@njit(cache=True)
def walk_pcapng(buf: np.ndarray, pos: int, state: np.ndarray, if_link: np.ndarray,
                if_snap: np.ndarray, if_resol: np.ndarray, if_offset: np.ndarray,
                off: np.ndarray, caplen: np.ndarray, wirelen: np.ndarray, link: np.ndarray,
                ts: np.ndarray) -> tuple[int, int, int, int]:
    """pcapng blocks from ``pos``: sections and interfaces update ``state``; packets
    (EPB, SPB, obsolete PB) are listed; every other block type is stepped over."""
    buf, state = borrowed(buf), borrowed(state)
    end = buf.size
    n = 0
    while n < off.size:
        if end - pos < 12:
            return n, pos, NEED_MORE, 12
        btype = _rd32(buf, pos, 1)
        if btype == 0x0A0D0D0A:
            bom = _rd32(buf, pos + 8, 1)
            if bom == 0x1A2B3C4D:
                state[ST_LITTLE] = 1
            elif bom == 0x4D3C2B1A:
                state[ST_LITTLE] = 0
            else:
                return n, pos, BAD, BAD_BYTE_ORDER
        elif state[ST_SECTIONS] == 0:
            return n, pos, BAD, NOT_A_SECTION
        little = state[ST_LITTLE]
        btype = _rd32(buf, pos, little)
        blen = _rd32(buf, pos + 4, little)
        if blen < 12 or blen & 3 or (btype == 0x0A0D0D0A and blen < 28):
            return n, pos, BAD, BLOCK_TOO_SHORT
        if blen > MAX_BLOCK:
            return n, pos, BAD, BLOCK_TOO_LONG
        if end - pos < blen:
            return n, pos, NEED_MORE, blen
        if _rd32(buf, pos + blen - 4, little) != blen:
            return n, pos, BAD, BLOCK_LEN_MISMATCH
        if btype == 0x0A0D0D0A:
            state[ST_SECTIONS] += 1
            state[ST_INTERFACES] = 0
        elif btype == 1:
            if blen < 20:
                return n, pos, BAD, BLOCK_TOO_SHORT
            k = state[ST_INTERFACES]
            if k >= if_link.size:
                return n, pos, BAD, TOO_MANY_INTERFACES
            _read_idb(buf, pos, blen, little, k, if_link, if_snap, if_resol, if_offset)
            state[ST_INTERFACES] = k + 1
        elif btype == 6 or btype == 2 or btype == 3:
            if btype == 3:
                if blen < 16:
                    return n, pos, BAD, BLOCK_TOO_SHORT
                iface = 0
                orig = _rd32(buf, pos + 8, little)
                cl = min(orig, blen - 16)
                data = pos + 12
            else:
                if blen < 32:
                    return n, pos, BAD, BLOCK_TOO_SHORT
                iface = _rd32(buf, pos + 8, little) if btype == 6 else _rd16(buf, pos + 8, little)
                cl = _rd32(buf, pos + 20, little)
                orig = _rd32(buf, pos + 24, little)
                data = pos + 28
                if cl > blen - 32:
                    return n, pos, BAD, CAPLEN_OVER_BLOCK
            if iface >= state[ST_INTERFACES]:
                if state[ST_BAD_IF] == 0:
                    state[ST_BAD_IF_AT] = pos
                state[ST_BAD_IF] += 1
            else:
                if btype == 3:
                    snap = if_snap[iface]
                    if snap > 0:
                        cl = min(cl, snap)
                    stamp = state[ST_LAST_TS]  # a simple packet block carries no time
                else:
                    hi = _rd32(buf, pos + 12, little)
                    lo = _rd32(buf, pos + 16, little)
                    stamp = (ticks_to_ns((hi << 32) | lo, if_resol[iface])
                             + if_offset[iface] * 1_000_000_000)
                    state[ST_LAST_TS] = stamp
                off[n] = data
                caplen[n] = cl
                wirelen[n] = orig
                link[n] = if_link[iface]
                ts[n] = stamp
                n += 1
        state[ST_BLOCKS] += 1
        pos += blen
    return n, pos, FULL, 0


# -- frame decoding ------------------------------------------------------------------


@njit(cache=True, inline="always")
def _ethertype_l3(buf: np.ndarray, p: int, e: int, et: int) -> tuple[int, int]:
    """Follow VLAN tags (802.1Q, QinQ), PPPoE and MPLS to the IP header: (offset, version)."""
    for _ in range(16):
        if et == 0x0800:
            return p, 4
        if et == 0x86DD:
            return p, 6
        if et == 0x8100 or et == 0x88A8 or et == 0x9100 or et == 0x9200:
            if p + 4 > e:
                return -1, 0
            et = _be16(buf, p + 2)
            p += 4
        elif et == 0x8864:  # PPPoE session: 6-byte header, then the PPP protocol
            if p + 8 > e:
                return -1, 0
            ppp = _be16(buf, p + 6)
            p += 8
            et = 0x0800 if ppp == 0x0021 else (0x86DD if ppp == 0x0057 else 0)
        elif et == 0x8847 or et == 0x8848:  # MPLS: labels up to bottom of stack, then IP
            while True:
                if p + 4 > e:
                    return -1, 0
                bottom = buf[p + 2] & 1
                p += 4
                if bottom:
                    break
            if p >= e:
                return -1, 0
            return p, 0
        else:
            return -1, 0
    return -1, 0


@njit(cache=True, inline="always")
def frame_l3(buf: np.ndarray, o: int, e: int, lt: int) -> tuple[int, int]:
    """Offset of the IP header in a frame and its expected version (0: read the nibble);
    (-1, 0) when the frame is not IP, (-2, 0) for an unknown link type."""
    if lt == 1:
        if e - o < 14:
            return -1, 0
        return _ethertype_l3(buf, o + 14, e, _be16(buf, o + 12))
    if lt == 113:
        if e - o < 16:
            return -1, 0
        return _ethertype_l3(buf, o + 16, e, _be16(buf, o + 14))
    if lt == 276:
        if e - o < 20:
            return -1, 0
        return _ethertype_l3(buf, o + 20, e, _be16(buf, o))
    if lt == 101 or lt == 12 or lt == 14:
        return o, 0
    if lt == 228:
        return o, 4
    if lt == 229:
        return o, 6
    if lt == 0 or lt == 108:  # BSD loopback: a 4-byte address family (host order for 0)
        if e - o < 4:
            return -1, 0
        fam = _be32(buf, o)
        if lt == 0 and fam > 0xFFFF:
            fam = _rd32(buf, o, 1)
        if fam == 2:
            return o + 4, 4
        if fam == 24 or fam == 28 or fam == 30:
            return o + 4, 6
        return -1, 0
    return -2, 0


@njit(cache=True, inline="always")
def _v6_transport(buf: np.ndarray, p: int, e: int, nh: int) -> tuple[int, int, int, int]:
    """Step over IPv6 extension headers from ``p``: (transport offset or -1, protocol,
    fragment flags, fragment id)."""
    frag = 0
    fid = 0
    for _ in range(16):
        if nh == 0 or nh == 43 or nh == 60:
            if p + 2 > e:
                return -1, nh, frag, fid
            nxt = _int(buf[p])
            p += (_int(buf[p + 1]) + 1) * 8
            nh = nxt
        elif nh == 44:
            if p + 8 > e:
                return -1, nh, frag, fid
            word = _be16(buf, p + 2)
            fid = _be32(buf, p + 4)
            nxt = _int(buf[p])
            p += 8
            nh = nxt
            if word & 1 or word >> 3:
                frag |= 1
            if word >> 3:
                frag |= 2
                return -1, nh, frag, fid
        else:
            return p, nh, frag, fid
    return -1, nh, frag, fid


@njit(cache=True, inline="always")
def _inner_ports(buf: np.ndarray, q: int, e: int, icmp6: bool) -> tuple[int, int, int]:
    """The protocol and ports of the packet an ICMP error quotes at ``q``, as captured."""
    if icmp6:
        if q + 40 > e:
            return 0, 0, 0
        t, proto, _frag, _fid = _v6_transport(buf, q + 40, e, _int(buf[q + 6]))
    else:
        if q + 10 > e:
            return 0, 0, 0
        proto = _int(buf[q + 9])
        ihl = (_int(buf[q]) & 15) * 4
        t = q + ihl
        if ihl < 20 or _be16(buf, q + 6) & 0x1FFF:
            t = -1
    if t >= 0 and t + 4 <= e and (proto == 6 or proto == 17 or proto == 132):
        return proto, _be16(buf, t), _be16(buf, t + 2)
    return proto, 0, 0


@njit(cache=True, inline="always")
def ip_start(buf: np.ndarray, o: int, e: int, lt: int) -> tuple[int, int]:
    """(offset, version) of the frame's IP header, (-1, 0) when it holds none: the link
    layer's claim (if any) must agree with the header's own version nibble."""
    p, ver = frame_l3(buf, o, e, lt)
    if p < 0 or p >= e:
        return -1, 0
    nib = _int(buf[p]) >> 4
    if ver == 0:
        ver = nib
    if nib != ver:
        return -1, 0
    return p, ver


@njit(cache=True, inline="always")
def _decode_frame(buf: np.ndarray, o: int, e: int, wire: int, lt: int, stamp: int,
                  r: Any) -> bool:
    """Decode the frame at ``buf[o:e]`` into the PACKET record ``r``, every field written
    (0 where the frame has none); False when it holds no IP packet (``r`` is then junk)."""
    p, ver = ip_start(buf, o, e, lt)
    if p < 0:
        return False
    src_hi = src_lo = dst_hi = dst_lo = np.uint64(0)
    ip_id = ttl = length = frag = 0
    if ver == 4:
        if p + 20 > e:
            return False
        ihl = (_int(buf[p]) & 15) * 4
        if ihl < 20:
            return False
        total = _be16(buf, p + 2)
        if total == 0:  # segmentation offload: the wire length tells
            total = max(wire - (p - o), 0)
        if total >= ihl:
            e = min(e, p + total)
        fw = _be16(buf, p + 6)
        proto = _int(buf[p + 9])
        src_lo = _MAPPED | np.uint64(_be32(buf, p + 12))
        dst_lo = _MAPPED | np.uint64(_be32(buf, p + 16))
        ip_id = _be16(buf, p + 4)
        ttl = _int(buf[p + 8])
        length = total
        t = p + ihl
        if fw & 0x3FFF:
            frag = _int(_FRAGMENT)
            if fw & 0x1FFF:
                frag = _int(_FRAGMENT | _NOT_FIRST)
                t = -1
    elif ver == 6:
        if p + 40 > e:
            return False
        plen = _be16(buf, p + 4)
        e = min(e, p + 40 + plen)
        src_hi = _be64(buf, p + 8)
        src_lo = _be64(buf, p + 16)
        dst_hi = _be64(buf, p + 24)
        dst_lo = _be64(buf, p + 32)
        ttl = _int(buf[p + 7])
        length = plen + 40
        t, proto, frag, fid = _v6_transport(buf, p + 40, e, _int(buf[p + 6]))
        if frag:
            ip_id = fid & 0xFFFF
    else:
        return False
    sport = dport = seq = ack = flags = icmp_type = icmp_code = 0
    inner_proto = inner_sport = inner_dport = 0
    if t >= 0:
        if proto == 6 or proto == 17:
            if t + 4 <= e:
                sport = _be16(buf, t)
                dport = _be16(buf, t + 2)
            if proto == 6:
                if t + 8 <= e:
                    seq = _be32(buf, t + 4)
                if t + 12 <= e:
                    ack = _be32(buf, t + 8)
                if t + 14 <= e:
                    flags = _int(buf[t + 13])
        elif (proto == 1 or proto == 58) and t + 2 <= e:
            icmp_type = _int(buf[t])
            icmp_code = _int(buf[t + 1])
            if (proto == 1 and (icmp_type == 3 or icmp_type == 4 or icmp_type == 5
                                or icmp_type == 11 or icmp_type == 12)) or (
                    proto == 58 and 1 <= icmp_type <= 4):
                inner_proto, inner_sport, inner_dport = _inner_ports(buf, t + 8, e, proto == 58)
    r.ts = stamp
    r.src_hi = src_hi
    r.src_lo = src_lo
    r.dst_hi = dst_hi
    r.dst_lo = dst_lo
    r.version = ver
    r.proto = proto
    r.sport = sport
    r.dport = dport
    r.tcp_flags = flags
    r.seq = seq
    r.ack = ack
    r.ip_id = ip_id
    r.ttl = ttl
    r.frag = frag
    r.icmp_type = icmp_type
    r.icmp_code = icmp_code
    r.inner_proto = inner_proto
    r.inner_sport = inner_sport
    r.inner_dport = inner_dport
    r.length = length
    r.count = 1
    r.sensor = 0
    return True


@njit(cache=True)
def decode_frames(buf: np.ndarray, off: np.ndarray, caplen: np.ndarray, wirelen: np.ndarray,
                  link: np.ndarray, ts: np.ndarray, n: int, out: np.ndarray) -> int:
    """Decode frames into PACKET rows (every field written, so ``out`` need not be
    zeroed); frames that are not IP are left out. Returns the rows written."""
    buf = borrowed(buf)
    k = 0
    for i in range(n):
        o = off[i]
        if _decode_frame(buf, o, o + caplen[i], wirelen[i], link[i], ts[i], out[k]):
            k += 1
    return k


@njit(cache=True)
def read_pcap(buf: np.ndarray, pos: int, little: int, nano: int, limit: int, linktype: int,
              out: np.ndarray) -> tuple[int, int, int, int, int]:
    """``walk_pcap`` and ``decode_frames`` in one pass, for classic pcap: each record is
    decoded as it is walked, into ``out`` (whose size bounds the records walked), with no
    arrays of offsets between the two. Returns (records, rows, position, status, detail)."""
    buf = borrowed(buf)
    end = buf.size
    n = 0
    k = 0
    while n < len(out):
        status, detail, cl, wire, stamp = _pcap_record(buf, pos, end, little, nano, limit)
        if status != FULL:
            return n, k, pos, status, detail
        if _decode_frame(buf, pos + 16, pos + 16 + cl, wire, linktype, stamp, out[k]):
            k += 1
        n += 1
        pos += 16 + cl
    return n, k, pos, FULL, 0


@njit(cache=True)
def udp_payloads(buf: np.ndarray, off: np.ndarray, caplen: np.ndarray, link: np.ndarray,
                 n: int, start: np.ndarray, length: np.ndarray, dport: np.ndarray,
                 source: np.ndarray, index: np.ndarray) -> int:
    """Where each unfragmented UDP datagram's payload lies, for flow exports carried in a
    capture: fills ``start``, ``length``, ``dport``, ``source`` (the exporter's address,
    low 63 bits, to keep templates apart) and ``index`` (of the frame) for UDP frames
    only; returns how many."""
    buf = borrowed(buf)
    k = 0
    for i in range(n):
        o = off[i]
        e = o + caplen[i]
        p, ver = ip_start(buf, o, e, link[i])
        if p < 0:
            continue
        if ver == 4:
            if p + 20 > e or buf[p + 9] != 17 or _be16(buf, p + 6) & 0x3FFF:
                continue
            t = p + (_int(buf[p]) & 15) * 4
            src = np.uint64(_be32(buf, p + 12))
        elif ver == 6:
            if p + 40 > e:
                continue
            t, proto, frag, _fid = _v6_transport(buf, p + 40, e, _int(buf[p + 6]))
            if proto != 17 or frag or t < 0:
                continue
            src = _be64(buf, p + 16) & np.uint64(0x7FFF_FFFF_FFFF_FFFF)
        else:
            continue
        if t + 8 > e:
            continue
        ulen = _be16(buf, t + 4) - 8
        avail = e - t - 8
        if ulen < 0 or ulen > avail:
            ulen = avail
        start[k] = t + 8
        length[k] = ulen
        dport[k] = _be16(buf, t + 2)
        source[k] = src
        index[k] = i
        k += 1
    return k
