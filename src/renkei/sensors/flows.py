"""Flow records as PACKET rows: NetFlow v5/v9 and IPFIX export packets, nfdump CSV.

A flow row's ``count`` is its packets and ``length`` its bytes. Export packets are few
next to captured packets (one carries up to hundreds of flows), so each packet is parsed
in Python and its records are gathered column-wise with numpy. v9 and IPFIX templates
are kept per exporter, source id / observation domain and template id, as the exporter
numbers them; data that arrives before its template is counted and reported once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import BinaryIO

import numpy as np

from renkei.sensors.model import IPV4_MAPPED, PACKET, ReadProblem, ReadStats

FLOW_PORTS = frozenset({2055, 2056, 4739, 9995, 9996})
MAX_EXPORT = 65535          # an export packet is one UDP datagram
CSV_BATCH = 65536
MAX_ROW_PROBLEMS = 20
NTP_TO_UNIX = 2_208_988_800

# Information elements read (NetFlow v9 and IPFIX share the numbers).
OCTETS, PACKETS, PROTOCOL, TCP_FLAGS, SRC_PORT, SRC_V4, DST_PORT, DST_V4 = 1, 2, 4, 6, 7, 8, 11, 12
FIRST_UPTIME, SRC_V6, DST_V6, ICMP_V4, TTL_MIN = 22, 27, 28, 32, 52
OCTETS_TOTAL, PACKETS_TOTAL, ICMP_V6 = 85, 86, 139
START_S, START_MS, START_US, START_NS, INIT_MS = 150, 152, 154, 156, 160
ICMP_TYPE_V4, ICMP_CODE_V4, ICMP_TYPE_V6, ICMP_CODE_V6, TTL = 176, 177, 178, 179, 192
WANTED = frozenset({OCTETS, PACKETS, PROTOCOL, TCP_FLAGS, SRC_PORT, SRC_V4, DST_PORT, DST_V4,
                    FIRST_UPTIME, SRC_V6, DST_V6, ICMP_V4, TTL_MIN, OCTETS_TOTAL,
                    PACKETS_TOTAL, ICMP_V6, START_S, START_MS, START_US, START_NS, INIT_MS,
                    ICMP_TYPE_V4, ICMP_CODE_V4, ICMP_TYPE_V6, ICMP_CODE_V6, TTL})
VARIABLE = 0xFFFF

_V5 = np.dtype({
    "names": ["src", "dst", "pkts", "octets", "first", "sport", "dport", "flags", "proto"],
    "formats": [">u4", ">u4", ">u4", ">u4", ">u4", ">u2", ">u2", "u1", "u1"],
    "offsets": [0, 4, 16, 20, 24, 32, 34, 37, 38],
    "itemsize": 48,
})
_U32 = np.uint64(0xFFFF_FFFF)

Column = Callable[[int], "np.ndarray | None"]   # an element's values in a data set, if present


class FlowError(ValueError):
    """One export packet is malformed; the reason says how."""


def _be(data: bytes, at: int, size: int = 2) -> int:
    return int.from_bytes(data[at : at + size], "big")


def export_length(data: bytes, pos: int, eof: bool) -> int:
    """Length of the export packet at ``pos``: 0 when more bytes are needed, -1 when
    this is not an export packet. v9 packets carry no length: they end where the next
    header (version 5, 9 or 10 where a flowset id would be) or the data does."""
    end = len(data)
    left = end - pos
    if left < 4:
        return 0
    version = _be(data, pos)
    if version == 5:
        count = _be(data, pos + 2)
        size = 24 + 48 * count
        return -1 if count > 30 else (size if left >= size else 0)
    if version == 10:
        size = _be(data, pos + 2)
        return -1 if size < 16 else (size if left >= size else 0)
    if version != 9:
        return -1
    p = pos + 20
    while True:
        if p - pos > MAX_EXPORT:
            return -1
        if p >= end:
            return p - pos if eof and p == end else 0
        if end - p < 4:
            return 0
        set_id = _be(data, p)
        if set_id in (5, 9, 10):
            return p - pos
        set_len = _be(data, p + 2)
        if set_len < 4 or 1 < set_id < 256:
            return -1
        p += set_len


@dataclass(frozen=True, slots=True)
class Template:
    fields: tuple[tuple[int, int], ...]   # (element id, or -1 for enterprise ones; length)
    size: int                              # record length; -1 when some field varies
    options: bool                          # option records describe the exporter, not flows


def _template(fields: list[tuple[int, int]], options: bool) -> Template:
    varies = any(length == VARIABLE for _, length in fields)
    return Template(tuple(fields), -1 if varies else sum(ln for _, ln in fields), options)


def _uint(data: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Big-endian unsigned values of ``length`` bytes at ``starts`` (the last 8 bytes)."""
    value = np.zeros(starts.size, np.uint64)
    for k in range(max(0, length - 8), length):
        value = (value << np.uint64(8)) | data[starts + k].astype(np.uint64)
    return value


class FlowDecoder:
    """Export packets to flow rows, with templates remembered from packet to packet."""

    def __init__(self) -> None:
        self.templates: dict[tuple[int, int, int, int], Template] = {}
        self._missing: set[tuple[int, int, int, int]] = set()
        self._notes: list[str] = []

    def take_notes(self) -> list[str]:
        """Things worth one report each (data before its template …), since last asked."""
        notes, self._notes = self._notes, []
        return notes

    def decode(self, packet: bytes, exporter: int = 0) -> np.ndarray:
        if len(packet) < 4:
            raise FlowError("export packet shorter than its header")
        version = _be(packet, 0)
        if version == 5:
            return self._v5(packet)
        if version == 9:
            return self._sets(packet, exporter, 9)
        if version == 10:
            return self._sets(packet, exporter, 10)
        raise FlowError(f"unknown export version {version}")

    def _v5(self, packet: bytes) -> np.ndarray:
        count = _be(packet, 2)
        if len(packet) < 24 + 48 * count:
            raise FlowError(f"NetFlow v5 packet of {len(packet)} bytes cannot hold {count} records")
        recs = np.frombuffer(packet, _V5, count, offset=24)
        uptime, secs, nsecs = _be(packet, 4, 4), _be(packet, 8, 4), _be(packet, 12, 4)
        rows = np.zeros(count, PACKET)
        rows["ts"] = secs * 1_000_000_000 + nsecs - _since(uptime, recs["first"]) * 1_000_000
        rows["version"] = 4
        rows["src_lo"] = IPV4_MAPPED | recs["src"].astype(np.uint64)
        rows["dst_lo"] = IPV4_MAPPED | recs["dst"].astype(np.uint64)
        rows["proto"] = recs["proto"]
        rows["sport"] = recs["sport"]
        rows["dport"] = recs["dport"]
        rows["tcp_flags"] = recs["flags"]
        rows["count"] = recs["pkts"]
        rows["length"] = recs["octets"]
        _icmp_from_port(rows)
        return rows

    def _sets(self, packet: bytes, exporter: int, version: int) -> np.ndarray:
        head = 20 if version == 9 else 16
        if len(packet) < head:
            raise FlowError(f"export packet shorter than its {head}-byte header")
        if version == 9:
            end = len(packet)
            domain = _be(packet, 16, 4)
            clock = {"uptime": _be(packet, 4, 4), "secs": _be(packet, 8, 4)}
        else:
            end = _be(packet, 2)
            if end > len(packet) or end < head:
                raise FlowError(f"IPFIX message length {end} but {len(packet)} bytes")
            domain = _be(packet, 12, 4)
            clock = {"secs": _be(packet, 4, 4)}
        rows: list[np.ndarray] = []
        p = head
        while p + 4 <= end:
            set_id, set_len = _be(packet, p), _be(packet, p + 2)
            if set_len < 4 or p + set_len > end:
                raise FlowError(f"set {set_id} at byte {p} has length {set_len}, "
                                f"{end - p} bytes left")
            body = packet[p + 4 : p + set_len]
            key = (version, exporter, domain)
            if set_id in ((0, 1) if version == 9 else (2, 3)):
                self._read_templates(body, key, options=set_id in (1, 3), version=version)
            elif set_id >= 256:
                tpl = self.templates.get((*key, set_id))
                if tpl is None:
                    if (*key, set_id) not in self._missing:
                        self._missing.add((*key, set_id))
                        self._notes.append(f"data for template {set_id} (domain {domain}) "
                                           "came before the template; those records are skipped")
                elif not tpl.options:
                    rows.append(_records(body, tpl, version, clock))
            p += set_len
        return np.concatenate(rows) if rows else np.zeros(0, PACKET)

    def _read_templates(self, body: bytes, key: tuple[int, int, int], *, options: bool,
                        version: int) -> None:
        q = 0
        while q + 4 <= len(body):
            tid, count = _be(body, q), _be(body, q + 2)
            q += 4
            if version == 9 and options:   # scope and option field lengths, in bytes
                if q + 2 > len(body):
                    raise FlowError("options template cut short")
                count = (count + _be(body, q)) // 4
                q += 2
            elif version == 10 and options:
                q += 2
            if tid < 256:
                if tid == 0 and count == 0:
                    return   # padding
                raise FlowError(f"template id {tid} is reserved")
            if count == 0:  # IPFIX withdrawal
                self.templates.pop((*key, tid), None)
                continue
            fields: list[tuple[int, int]] = []
            for _ in range(count):
                if q + 4 > len(body):
                    raise FlowError(f"template {tid} cut short")
                element, length = _be(body, q), _be(body, q + 2)
                q += 4
                if version == 10 and element & 0x8000:
                    q += 4
                    element = -1
                fields.append((element, length))
            self.templates[(*key, tid)] = _template(fields, options)
            self._missing.discard((*key, tid))


def _since(uptime: int, first: np.ndarray) -> np.ndarray:
    """Milliseconds from ``first`` to ``uptime`` on a 32-bit clock that wraps."""
    diff = (np.int64(uptime) - first.astype(np.int64)) & 0xFFFF_FFFF
    return np.where(diff >= 1 << 31, diff - (1 << 32), diff)


def _icmp_from_port(rows: np.ndarray) -> None:
    """NetFlow puts ICMP type and code in the destination port (type * 256 + code)."""
    icmp = (rows["proto"] == 1) | (rows["proto"] == 58)
    if icmp.any():
        code = rows["dport"][icmp]
        rows["icmp_type"][icmp] = code >> 8
        rows["icmp_code"][icmp] = code & 0xFF
        rows["sport"][icmp] = 0
        rows["dport"][icmp] = 0


def _record_starts(body: bytes, tpl: Template) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, int]]]:
    """Where each record and each wanted field of it begin in a data set."""
    if tpl.size > 0:
        n = len(body) // tpl.size
        starts = np.arange(n, dtype=np.int64) * tpl.size
        where: dict[int, tuple[np.ndarray, int]] = {}
        at = 0
        for element, length in tpl.fields:
            if element in WANTED and element not in where:
                where[element] = (starts + at, length)
            at += length
        return starts, where
    columns: dict[int, list[int]] = {}
    lengths: dict[int, int] = {}
    starts_list: list[int] = []
    minimum = sum(1 if ln == VARIABLE else ln for _, ln in tpl.fields)
    q = 0
    while minimum and len(body) - q >= minimum:
        begin = q
        spots: dict[int, int] = {}
        for element, length in tpl.fields:
            size = length
            if length == VARIABLE:
                size = body[q]
                q += 1
                if size == 255:
                    size = _be(body, q)
                    q += 2
            elif element in WANTED and element not in spots:
                spots[element] = q
                lengths[element] = length
            q += size
        if q > len(body):
            break
        starts_list.append(begin)
        for element, spot in spots.items():
            columns.setdefault(element, []).append(spot)
    n = len(starts_list)
    return (np.array(starts_list, np.int64),
            {e: (np.array(v, np.int64), lengths[e]) for e, v in columns.items() if len(v) == n})


def _records(body: bytes, tpl: Template, version: int, clock: dict[str, int]) -> np.ndarray:
    if tpl.size == 0:
        return np.zeros(0, PACKET)
    data = np.frombuffer(body, np.uint8)
    starts, where = _record_starts(body, tpl)
    n = starts.size

    def col(element: int) -> np.ndarray | None:
        if element not in where:
            return None
        at, length = where[element]
        return _uint(data, at, length)

    rows = np.zeros(n, PACKET)
    if SRC_V6 in where and DST_V6 in where:
        rows["src_hi"], rows["src_lo"] = (_uint(data, where[SRC_V6][0], 8),
                                          _uint(data, where[SRC_V6][0] + 8, 8))
        rows["dst_hi"], rows["dst_lo"] = (_uint(data, where[DST_V6][0], 8),
                                          _uint(data, where[DST_V6][0] + 8, 8))
        rows["version"] = 6
    src4, dst4 = col(SRC_V4), col(DST_V4)
    if src4 is not None and dst4 is not None:
        v4 = (rows["version"] == 0) | ((rows["src_hi"] == 0) & (rows["src_lo"] == 0))
        rows["src_lo"][v4] = IPV4_MAPPED | src4[v4]
        rows["dst_lo"][v4] = IPV4_MAPPED | dst4[v4]
        rows["src_hi"][v4] = 0
        rows["dst_hi"][v4] = 0
        rows["version"][v4] = 4
    for element, name in ((PROTOCOL, "proto"), (SRC_PORT, "sport"), (DST_PORT, "dport"),
                          (TCP_FLAGS, "tcp_flags")):
        value = col(element)
        if value is not None:
            rows[name] = value & np.uint64(0xFF if name in ("proto", "tcp_flags") else 0xFFFF)
    ttl = col(TTL) if TTL in where else col(TTL_MIN)
    if ttl is not None:
        rows["ttl"] = ttl & np.uint64(0xFF)
    packets = col(PACKETS) if PACKETS in where else col(PACKETS_TOTAL)
    octets = col(OCTETS) if OCTETS in where else col(OCTETS_TOTAL)
    rows["count"] = np.minimum(packets, _U32) if packets is not None else 1
    if octets is not None:
        rows["length"] = np.minimum(octets, _U32)
    rows["ts"] = _flow_start(col, version, clock, n)
    _icmp_fields(rows, col)
    return rows[rows["version"] > 0]


def _flow_start(get: Column, version: int, clock: dict[str, int], n: int) -> np.ndarray:
    secs = np.full(n, clock["secs"] * 1_000_000_000, np.int64)
    if version == 9:
        first = get(FIRST_UPTIME)
        if first is not None:
            start: np.ndarray = secs - _since(clock["uptime"], first) * 1_000_000
            return start
    for element, scale in ((START_MS, 1_000_000), (START_S, 1_000_000_000)):
        value = get(element)
        if value is not None:
            return value.astype(np.int64) * scale
    for element in (START_NS, START_US):
        value = get(element)
        if value is not None:
            whole = (value >> np.uint64(32)).astype(np.int64) - NTP_TO_UNIX
            frac = ((value & _U32) * np.uint64(1_000_000_000)) >> np.uint64(32)
            return whole * 1_000_000_000 + frac.astype(np.int64)
    uptime, init = get(FIRST_UPTIME), get(INIT_MS)
    if uptime is not None and init is not None:
        return (init.astype(np.int64) + uptime.astype(np.int64)) * 1_000_000
    return secs


def _icmp_fields(rows: np.ndarray, get: Column) -> None:
    icmp = (rows["proto"] == 1) | (rows["proto"] == 58)
    if not icmp.any():
        return
    both = get(ICMP_V4) if get(ICMP_V4) is not None else get(ICMP_V6)
    kind = get(ICMP_TYPE_V4) if get(ICMP_TYPE_V4) is not None else get(ICMP_TYPE_V6)
    code = get(ICMP_CODE_V4) if get(ICMP_CODE_V4) is not None else get(ICMP_CODE_V6)
    if both is not None:
        rows["icmp_type"][icmp] = (both[icmp] >> np.uint64(8)) & np.uint64(0xFF)
        rows["icmp_code"][icmp] = both[icmp] & np.uint64(0xFF)
        rows["sport"][icmp] = 0
        rows["dport"][icmp] = 0
    elif kind is not None:
        rows["icmp_type"][icmp] = kind[icmp] & np.uint64(0xFF)
        if code is not None:
            rows["icmp_code"][icmp] = code[icmp] & np.uint64(0xFF)
    else:
        _icmp_from_port(rows)


# -- nfdump CSV -------------------------------------------------------------------------

_PROTOCOLS = {"ICMP": 1, "IGMP": 2, "IPIP": 4, "TCP": 6, "UDP": 17, "IPV6": 41, "GRE": 47,
              "ESP": 50, "AH": 51, "ICMP6": 58, "IPV6-ICMP": 58, "SCTP": 132}
_FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40,
              "C": 0x80}
_NEEDED = ("ts", "sa", "da", "sp", "dp", "pr")


def is_nfdump_header(line: bytes) -> bool:
    names = {n.strip() for n in line.lstrip(b"\xef\xbb\xbf").strip().split(b",")}
    return {b"ts", b"sa", b"da", b"pr"} <= names


@lru_cache(maxsize=65536)
def _address(text: str) -> tuple[int, int, int]:
    """(version, high 64 bits, low 64 bits), IPv4 mapped into IPv6."""
    addr = ipaddress.ip_address(text.strip())
    if addr.version == 4:
        return 4, 0, int(IPV4_MAPPED) | int(addr)
    value = int(addr)
    return 6, value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def _flags(text: str) -> int:
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text) & 0xFF
    if text.lower().startswith("0x"):
        return int(text, 16) & 0xFF
    bits = 0
    for char in text:
        if char != ".":
            bits |= _FLAG_BITS[char]
    return bits


def _time_ns(text: str) -> int:
    text = text.strip()
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return int(float(text) * 1_000_000_000)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)   # nfdump prints local time: run it with TZ=UTC
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _csv_row(values: list[str], index: dict[str, int]) -> tuple[int, ...]:
    version, src_hi, src_lo = _address(values[index["sa"]])
    dversion, dst_hi, dst_lo = _address(values[index["da"]])
    if version != dversion:
        raise ValueError("source and destination are of different IP versions")
    proto_text = values[index["pr"]].strip().upper()
    proto = int(proto_text) if proto_text.isascii() and proto_text.isdigit() else _PROTOCOLS[proto_text]
    sport_text, dport_text = values[index["sp"]].strip(), values[index["dp"]].strip()
    icmp_type = icmp_code = 0
    if "." in dport_text or proto in (1, 58):
        kind, _, code = dport_text.partition(".")
        number = int(float(dport_text)) if not code else 0
        icmp_type, icmp_code = (int(kind), int(code)) if code else (number >> 8, number & 0xFF)
        sport = dport = 0
    else:
        sport, dport = int(float(sport_text or 0)), int(float(dport_text or 0))
    flags = _flags(values[index["flg"]]) if "flg" in index else 0
    packets = int(float(values[index["ipkt"]])) if "ipkt" in index else 1
    octets = int(float(values[index["ibyt"]])) if "ibyt" in index else 0
    return (_time_ns(values[index["ts"]]), src_hi, src_lo, dst_hi, dst_lo, version, proto,
            sport & 0xFFFF, dport & 0xFFFF, flags, icmp_type & 0xFF, icmp_code & 0xFF,
            min(packets, 0xFFFF_FFFF), min(octets, 0xFFFF_FFFF))


_CSV_COLUMNS = ("ts", "src_hi", "src_lo", "dst_hi", "dst_lo", "version", "proto", "sport",
                "dport", "tcp_flags", "icmp_type", "icmp_code", "count", "length")


def _csv_batch(parsed: list[tuple[int, ...]]) -> np.ndarray:
    rows = np.zeros(len(parsed), PACKET)
    for name, values in zip(_CSV_COLUMNS, zip(*parsed, strict=True), strict=True):
        rows[name] = np.array(values, dtype=np.uint64 if name.endswith(("hi", "lo")) else np.int64)
    return rows


def read_nfdump_csv(stream: BinaryIO, stats: ReadStats) -> Iterator[np.ndarray]:
    """Rows of ``nfdump -o csv`` up to its Summary block; a bad row is counted, reported
    (the first few) and skipped."""
    offset = 0
    header = stream.readline()
    offset += len(header)
    names = [n.strip() for n in header.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
             .strip().split(",")]
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
    width = max(index[n] for n in _NEEDED if n in index) + 1
    parsed: list[tuple[int, ...]] = []
    bad = 0
    record = 0
    for line in stream:
        text = line.decode("utf-8", "replace").strip()
        if not text or text.startswith("Summary"):
            break
        values = text.split(",")
        try:
            if len(values) < width or any(n not in index for n in _NEEDED):
                raise ValueError(f"{len(values)} values, fewer than the header's columns")
            parsed.append(_csv_row(values, index))
        except (ValueError, KeyError, IndexError) as exc:
            bad += 1
            stats.skipped += 1
            if bad <= MAX_ROW_PROBLEMS:
                stats.problems.append(ReadProblem(stats.path, offset, record,
                                                  f"unreadable flow row ({exc})"))
        offset += len(line)
        record += 1
        if len(parsed) >= CSV_BATCH:
            yield _csv_batch(parsed)
            parsed = []
    if parsed:
        yield _csv_batch(parsed)
    if bad > MAX_ROW_PROBLEMS:
        stats.problems.append(ReadProblem(stats.path, offset, record,
                                          f"{bad} unreadable flow rows in all"))
