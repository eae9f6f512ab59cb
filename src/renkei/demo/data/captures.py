"""Darknet captures for the demo's sensors: a pcap per sensor and day, written with numpy.

A darknet block receives only unsolicited traffic: scanners sweeping one port (some with
ZMap's fixed IP id, a Mirai-like wave on telnet in the last ten days, partly from two
members' customer ranges), UDP probes, a member's web server answering a spoofed SYN flood
(backscatter) on a few days, and one-off noise. Every frame is a 60-byte Ethernet frame
(IPv4 with TCP or UDP, padded), so a capture is one byte matrix: no loop over packets.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from renkei.demo.cast import SENSORS, DemoSensor

DAYS = 30
FRAME = 60
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
SYN, SYN_ACK = 0x02, 0x12
TCP, UDP = 6, 17
ZMAP_IP_ID = 54321
SCAN_PORTS = (22, 80, 443, 445, 3389, 8080, 6379, 9200, 5900, 3306, 8443, 21)
UDP_PORTS = (53, 123, 161, 1900, 5060, 11211)
#: a member's web server flooded with spoofed SYNs on these days: its SYN-ACKs reach the darknet
BACKSCATTER_DAYS = (12, 13, 25, 26, 27)
VICTIM = "192.0.2.10"  # in Sakura Bank's range
#: infected customers of two members scanning for telnet in the last ten days
INFECTED = ("203.0.113.45", "203.0.113.77", "198.51.100.23", "198.51.100.140")
#: the wave's hosts start within this hour (UTC) of each day, as a botnet's sweep does:
#: their unique sources on telnet rise beyond the port's baseline at both sensors
WAVE_HOUR = 3


@dataclass(frozen=True)
class Actor:
    """One source's packets: ``count`` of them, spread over ``duration`` seconds."""

    kind: str  # syn, zmap, mirai, udp, backscatter, noise
    src: int
    port: int
    start: float  # seconds since the epoch
    duration: float
    count: int


@dataclass(frozen=True)
class Capture:
    sensor: DemoSensor
    name: str
    data: bytes


def _address(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def scanner_pool(size: int = 48, seed: int = 5) -> np.ndarray:
    """Recurring external scanners: addresses in the shared address space 100.64.0.0/10."""
    rng = np.random.default_rng(seed)
    return (0x6440_0000 + rng.integers(0, 1 << 22, size)).astype(np.uint32)


def day_actors(sensor: int, day: int, day_start: float, days: int = DAYS) -> list[Actor]:
    """Who reaches sensor ``sensor`` on day ``day`` (0 the oldest), from ``day_start``."""
    rng = np.random.default_rng(1000 * sensor + day)
    pool = scanner_pool()
    actors: list[Actor] = []
    for _ in range(int(rng.integers(6, 11))):
        who = int(rng.integers(0, len(pool)))
        kind = "zmap" if who % 5 == 0 else "syn"
        actors.append(Actor(kind, int(pool[who]), SCAN_PORTS[who % len(SCAN_PORTS)],
                            day_start + float(rng.uniform(0, 20 * 3600)),
                            float(rng.uniform(600, 3 * 3600)), int(rng.integers(20, 70))))
    wave = day - (days - 10)
    if wave >= 0:
        for i in range(2 + 2 * wave):
            src = (_address(INFECTED[i % len(INFECTED)]) if i < len(INFECTED) and wave >= i
                   else int(pool[(7 * i + day) % len(pool)]) ^ 0x5A)
            actors.append(Actor("mirai", src, 23 if i % 4 else 2323,
                                day_start + WAVE_HOUR * 3600 + float(rng.uniform(0, 3600)),
                                float(rng.uniform(900, 7200)), int(rng.integers(25, 60))))
    for i in range(3):
        actors.append(Actor("udp", int(pool[(day + 11 * i) % len(pool)]) ^ 0x33,
                            UDP_PORTS[(day + i) % len(UDP_PORTS)],
                            day_start + float(rng.uniform(0, 22 * 3600)), 1800.0,
                            int(rng.integers(15, 40))))
    if day in BACKSCATTER_DAYS:
        actors.append(Actor("backscatter", _address(VICTIM), 443,
                            day_start + 14 * 3600 + 600 * sensor, 5400.0, 220))
    actors.append(Actor("noise", 0, 0, day_start, 86_000.0, 150))
    return actors


def _be(matrix: np.ndarray, at: int, values: np.ndarray, width: int) -> None:
    """Write ``values`` big-endian into bytes ``at``..``at + width`` of each row."""
    dtype = {1: ">u1", 2: ">u2", 4: ">u4"}[width]
    matrix[:, at:at + width] = values.astype(dtype).view(np.uint8).reshape(-1, width)


def _columns(actors: list[Actor], sensor: DemoSensor, block_size: int,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per packet: time, addresses, ports, protocol, flags, IP id and sequence number."""
    counts = np.array([a.count for a in actors])
    n = int(counts.sum())
    who = np.repeat(np.arange(len(actors)), counts)
    kinds = np.array([a.kind for a in actors])[who]
    start = np.array([a.start for a in actors])[who]
    duration = np.array([a.duration for a in actors])[who]
    ts = start + rng.random(n) * duration
    dst = (sensor.first_address + rng.integers(1, block_size - 1, n)).astype(np.uint32)
    noise = kinds == "noise"
    src = np.array([a.src for a in actors], dtype=np.uint32)[who]
    src[noise] = (0x6440_0000 + rng.integers(0, 1 << 22, int(noise.sum()))).astype(np.uint32)
    port = np.array([a.port for a in actors], dtype=np.uint16)[who]
    port[noise] = rng.integers(1, 65535, int(noise.sum()))
    sport = rng.integers(1024, 65535, n).astype(np.uint16)
    flags = np.full(n, SYN, np.uint8)
    proto = np.full(n, TCP, np.uint8)
    proto[(kinds == "udp") | (noise & (rng.random(n) < 0.3))] = UDP
    flags[noise] = rng.choice(np.array([0x10, 0x01, 0x04, 0x18], np.uint8), int(noise.sum()))
    seq = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    ip_id = rng.integers(0, 1 << 16, n).astype(np.uint16)
    ip_id[kinds == "zmap"] = ZMAP_IP_ID
    mirai = kinds == "mirai"
    seq[mirai] = dst[mirai]  # Mirai's fingerprint: the sequence number is the destination
    back = kinds == "backscatter"
    sport[back], port[back] = port[back], sport[back]  # the victim answers from its port
    flags[back] = SYN_ACK
    order = np.argsort(ts, kind="stable")
    return {k: v[order] for k, v in {"ts": ts, "src": src, "dst": dst, "sport": sport,
                                      "port": port, "proto": proto, "flags": flags,
                                      "seq": seq, "ip_id": ip_id}.items()}


def build_pcap(actors: list[Actor], sensor: DemoSensor, seed: int) -> bytes:
    """A classic pcap (microseconds, Ethernet) of every actor's packets, in time order."""
    rng = np.random.default_rng(seed)
    block_size = ipaddress.IPv4Network(sensor.block).num_addresses
    c = _columns(actors, sensor, block_size, rng)
    n = len(c["ts"])
    records = np.zeros((n, 16 + FRAME), np.uint8)
    seconds = np.floor(c["ts"]).astype(np.int64)
    head = records[:, :16].view("<u4")
    head[:, 0] = seconds
    head[:, 1] = ((c["ts"] - seconds) * 1e6).astype(np.int64).clip(0, 999_999)
    head[:, 2] = head[:, 3] = FRAME
    f = records[:, 16:]
    f[:, 0:6], f[:, 6:12] = 0x02, 0x04
    _be(f, 12, np.full(n, 0x0800), 2)
    f[:, 14] = 0x45
    udp = c["proto"] == UDP
    _be(f, 16, np.where(udp, 28, 40), 2)
    _be(f, 18, c["ip_id"], 2)
    f[:, 22] = rng.integers(30, 250, n)
    f[:, 23] = c["proto"]
    _be(f, 26, c["src"], 4)
    _be(f, 30, c["dst"], 4)
    _be(f, 34, c["sport"], 2)
    _be(f, 36, c["port"], 2)
    _be(f, 38, c["seq"], 4)
    f[:, 46] = 0x50
    f[:, 47] = c["flags"]
    u = f[udp]
    u[:, 38:48] = 0
    _be(u, 38, np.full(len(u), 8), 2)  # the UDP length: a header and no payload
    f[udp] = u
    return PCAP_HEADER + records.tobytes()


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def day_captures(now: datetime, day: int, days: int = DAYS) -> list[Capture]:
    """Each sensor's capture of day ``day`` (0 is ``days - 1`` days before ``now``); the
    last day's is cut at ``now``."""
    midnight = _midnight(now - timedelta(days=days - 1 - day))
    out = []
    for index, sensor in enumerate(SENSORS):
        actors = day_actors(index, day, midnight.timestamp(), days)
        latest = now.timestamp() - 60
        kept = [Actor(a.kind, a.src, a.port, min(a.start, latest - a.duration), a.duration,
                      a.count) for a in actors]
        out.append(Capture(sensor, f"{sensor.name}-{midnight:%Y%m%d}.pcap",
                           build_pcap(kept, sensor, seed=7919 * index + day)))
    return out


def living_capture(now: datetime, step: int) -> Capture:
    """The last minute at one sensor: a scanner, perhaps an infected member host, noise."""
    sensor = SENSORS[step % len(SENSORS)]
    pool = scanner_pool()
    begin = now.timestamp() - 60
    who = step % len(pool)
    actors = [Actor("zmap" if who % 5 == 0 else "syn", int(pool[who]),
                    SCAN_PORTS[who % len(SCAN_PORTS)], begin, 55.0, 30),
              Actor("noise", 0, 0, begin, 55.0, 20)]
    if step % 3 == 0:
        actors.append(Actor("mirai", _address(INFECTED[step % len(INFECTED)]), 23, begin, 55.0,
                            25))
    return Capture(sensor, f"{sensor.name}-live-{now:%Y%m%d-%H%M%S}-{step}.pcap",
                   build_pcap(actors, sensor, seed=50_000 + step))
