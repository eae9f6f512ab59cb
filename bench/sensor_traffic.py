"""Synthetic darknet traffic for ``bench/sensors.py``: a pcap written with numpy, chunk by chunk.

A /16 IPv4 darknet (198.18.0.0/16, the benchmarking range) and an IPv6 /64 watched for three
days. Actors, each with a start, an end and a rate:

- ZMap (IP id 54321), Masscan (IP id = dst ⊕ dport ⊕ seq) and plain SYN scanners sweeping one
  port each over the /16, some fast (a whole sweep within hours), most slow;
- a Mirai-like botnet (seq = destination) on telnet ports that grows on the third day;
- UDP probes (DNS, NTP, SNMP, SSDP, SIP, memcached …) and ICMP echo sweeps;
- DoS victims answering spoofed packets: SYN-ACK and RST from web, DNS and game servers,
  and ICMP port/host-unreachable errors quoting the forged packet;
- IPv6 SYN scanners (a few % of packets);
- noise: one-off packets from random sources (stray ACKs, FINs, UDP to random ports).

Every frame is 74 captured bytes (Ethernet padding after shorter IP packets, as on a real
wire), so a chunk of records is one ``(n, 90)`` byte matrix whose columns are written as
vectors: no Python loop over packets. Timestamps are sorted within and across chunks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FRAME = 74
RECORD = 16 + FRAME
DAYS = 3
SPAN_S = DAYS * 86_400
T0 = 1_735_689_600            # 2025-01-01T00:00:00Z
DARKNET = 0xC612_0000         # 198.18.0.0/16
DARKNET6_HI = 0x2001_0DB8_0000_0000

ZMAP, MASSCAN, SYN_SCAN, MIRAI, UDP, PING, SYNACK, ICMP_ERR, V6, NOISE = range(10)
_UDP_PORTS = np.array([53, 123, 161, 1900, 5060, 11211, 37810, 47808, 500, 19])
_TCP_PORTS = np.array([22, 23, 80, 443, 445, 3389, 8080, 2323, 5555, 6379, 9200, 8443, 21,
                       25, 3306, 5900, 37215, 52869, 7547, 81])
_VICTIM_PORTS = np.array([80, 443, 53, 25565, 27015, 22, 8080, 3074])


@dataclass(frozen=True)
class Actors:
    kind: np.ndarray
    src: np.ndarray          # uint32 (IPv4) or the low 64 bits (IPv6)
    port: np.ndarray
    start: np.ndarray        # seconds from T0
    end: np.ndarray
    rate: np.ndarray         # relative packet rate while active


def make_actors(rng: np.random.Generator) -> Actors:
    counts = {ZMAP: 60, MASSCAN: 60, SYN_SCAN: 4000, MIRAI: 30_000, UDP: 2000, PING: 400,
              SYNACK: 300, ICMP_ERR: 120, V6: 150}
    rates = {ZMAP: 60.0, MASSCAN: 80.0, SYN_SCAN: 0.6, MIRAI: 0.25, UDP: 1.0, PING: 1.5,
             SYNACK: 6.0, ICMP_ERR: 4.0, V6: 10.0}
    kind = np.concatenate([np.full(n, k) for k, n in counts.items()])
    n = len(kind)
    start = rng.uniform(-0.2 * SPAN_S, SPAN_S, n)
    duration = np.exp(rng.uniform(np.log(600), np.log(2 * 86_400), n))
    mirai = kind == MIRAI
    start[mirai] = 2 * 86_400 + rng.exponential(6 * 3600, int(mirai.sum()))   # the third day
    duration[mirai] = rng.uniform(3600, 86_400, int(mirai.sum()))
    rate = np.array([rates[int(k)] for k in kind]) * rng.lognormal(0, 0.7, n)
    port = np.where(np.isin(kind, (UDP,)), rng.choice(_UDP_PORTS, n),
                    np.where(np.isin(kind, (SYNACK, ICMP_ERR)), rng.choice(_VICTIM_PORTS, n),
                             rng.choice(_TCP_PORTS, n)))
    port[mirai] = rng.choice([23, 2323], int(mirai.sum()), p=[0.85, 0.15])
    src = rng.integers(0x0100_0000, 0xDF00_0000, n, dtype=np.uint64)
    v6 = kind == V6
    src[v6] = rng.integers(1, 1 << 63, int(v6.sum()), dtype=np.uint64)
    return Actors(kind, src, port, start, start + duration, rate)


def _be(matrix: np.ndarray, at: int, values: np.ndarray, width: int) -> None:
    """Write ``values`` big-endian into bytes ``at``..``at + width`` of each row."""
    dtype = {1: ">u1", 2: ">u2", 4: ">u4", 8: ">u8"}[width]
    matrix[:, at:at + width] = values.astype(dtype).view(np.uint8).reshape(-1, width)


def chunk(rng: np.random.Generator, actors: Actors, n: int, begin_s: float, end_s: float,
          noise: float = 0.08) -> np.ndarray:
    """``n`` pcap records (header + frame) with sorted times in ``[begin_s, end_s)``."""
    active = np.flatnonzero((actors.start < end_s) & (actors.end > begin_s))
    overlap = np.minimum(actors.end[active], end_s) - np.maximum(actors.start[active], begin_s)
    weight = actors.rate[active] * overlap
    who = active[np.searchsorted(np.cumsum(weight) / weight.sum(), rng.random(n), side="right")
                 .clip(0, len(active) - 1)]
    is_noise = rng.random(n) < noise
    kind = np.where(is_noise, NOISE, actors.kind[who])
    ts = np.sort(rng.uniform(begin_s, end_s, n))
    # an actor's packets fall inside its own active interval
    ts = np.where(is_noise, ts, np.clip(ts, actors.start[who], actors.end[who] - 1e-6))
    order = np.argsort(ts, kind="stable")
    ts, kind, who = ts[order], kind[order], who[order]

    src = np.where(kind == NOISE, rng.integers(0x0100_0000, 0xDF00_0000, n, dtype=np.uint64),
                   actors.src[who]).astype(np.uint64)
    dst = (DARKNET | rng.integers(0, 1 << 16, n)).astype(np.uint32)
    port = actors.port[who].astype(np.uint16)
    seq = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    ip_id = rng.integers(0, 1 << 16, n).astype(np.uint16)
    sport = rng.integers(1024, 65536, n).astype(np.uint16)
    flags = np.full(n, 0x02, np.uint8)
    proto = np.full(n, 6, np.uint8)
    total = np.full(n, 40, np.uint16)

    ip_id[kind == ZMAP] = 54321
    sport[kind == ZMAP] = 54321
    m = kind == MASSCAN
    ip_id[m] = (dst[m] ^ seq[m] ^ port[m]).astype(np.uint16)
    sport[m] = 61000
    m = kind == MIRAI
    seq[m] = dst[m]
    m = kind == SYNACK
    sport[m], port[m] = port[m], sport[m]       # the victim answers from its service port
    flags[m] = rng.choice(np.array([0x12, 0x04, 0x14], np.uint8), int(m.sum()), p=[0.6, 0.3, 0.1])
    m = kind == NOISE
    noise_udp = m & (rng.random(n) < 0.3)
    flags[m] = rng.choice(np.array([0x10, 0x01, 0x11, 0x18, 0x00, 0x29], np.uint8), int(m.sum()))
    port[m] = rng.integers(1, 65536, int(m.sum()))
    udp = (kind == UDP) | noise_udp
    proto[udp], total[udp] = 17, 60
    icmp = (kind == PING) | (kind == ICMP_ERR)
    proto[icmp], total[icmp] = 1, np.where(kind[icmp] == PING, 60, 56)

    records = np.zeros((n, RECORD), np.uint8)
    seconds = (T0 + ts).astype(np.int64)
    micros = ((T0 + ts - seconds) * 1e6).astype(np.int64).clip(0, 999_999)
    head = records[:, :16].view("<u4")
    head[:, 0], head[:, 1], head[:, 2], head[:, 3] = seconds, micros, FRAME, FRAME
    f = records[:, 16:]
    f[:, 0:6] = 0x02
    f[:, 6:12] = 0x04
    v6 = kind == V6
    v4 = ~v6
    _be(f, 12, np.where(v6, 0x86DD, 0x0800), 2)

    g = f[v4]
    ttl = rng.integers(30, 250, len(g))
    g[:, 14] = 0x45
    _be(g, 16, total[v4], 2)
    _be(g, 18, ip_id[v4], 2)
    g[:, 22] = ttl
    g[:, 23] = proto[v4]
    _be(g, 26, src[v4].astype(np.uint32), 4)
    _be(g, 30, dst[v4], 4)
    _be(g, 34, sport[v4], 2)                    # TCP/UDP source port (ICMP: rewritten below)
    _be(g, 36, port[v4], 2)
    _be(g, 38, seq[v4], 4)
    g[:, 46] = 0x50
    g[:, 47] = flags[v4]
    kind4 = kind[v4]
    u = proto[v4] == 17
    gu = g[u]
    _be(gu, 38, np.full(len(gu), 40, np.uint16), 2)   # UDP length; payload left zero
    gu[:, 40:46] = 0
    g[u] = gu
    ping = kind4 == PING
    gp = g[ping]
    gp[:, 34:38] = (8, 0, 0, 0)
    g[ping] = gp
    err = kind4 == ICMP_ERR
    ge = g[err]
    k = len(ge)
    ge[:, 34:] = 0
    ge[:, 34] = 3
    ge[:, 35] = rng.choice(np.array([1, 3, 13], np.uint8), k)
    ge[:, 42] = 0x45                                    # the quoted forged packet:
    _be(ge, 44, np.full(k, 40, np.uint16), 2)
    ge[:, 50] = 64
    ge[:, 51] = rng.choice(np.array([6, 17], np.uint8), k)
    _be(ge, 54, ge[:, 30:34].copy().view(">u4").reshape(-1), 4)   # from a darknet address
    _be(ge, 58, ge[:, 26:30].copy().view(">u4").reshape(-1), 4)   # to the victim
    _be(ge, 62, rng.integers(1024, 65536, k), 2)
    _be(ge, 64, port[v4][err], 2)
    g[err] = ge
    f[v4] = g

    h = f[v6]
    k = len(h)
    h[:, 14] = 0x60
    _be(h, 18, np.full(k, 20, np.uint16), 2)
    h[:, 20] = 6
    h[:, 21] = 64
    _be(h, 22, np.full(k, 0x2A02_0000_0000_0000, np.uint64), 8)
    _be(h, 30, src[v6], 8)
    _be(h, 38, np.full(k, DARKNET6_HI, np.uint64), 8)
    _be(h, 46, rng.integers(0, 1 << 16, k, dtype=np.uint64), 8)
    _be(h, 54, sport[v6], 2)
    _be(h, 56, port[v6], 2)
    _be(h, 58, seq[v6], 4)
    h[:, 66] = 0x50
    h[:, 67] = 0x02
    f[v6] = h
    return records


def write_capture(path: Path, packets: int, seed: int = 7, per_chunk: int = 1 << 20) -> None:
    """A pcap of ``packets`` records over three days, written chunk by chunk."""
    rng = np.random.default_rng(seed)
    actors = make_actors(rng)
    chunks = max(1, -(-packets // per_chunk))
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(chunks):
            n = min(per_chunk, packets - i * per_chunk)
            begin = SPAN_S * i / chunks
            out.write(chunk(rng, actors, n, begin, SPAN_S * (i + 1) / chunks).tobytes())
