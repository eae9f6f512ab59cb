"""`analyse --json` says the same, byte for byte, whatever the sizes the run is cut into.

The reader's batches and chunks, the event kernel's buffers and tables and the series'
completion are sizes chosen for speed; none may change a finding. A generated two-sensor
capture (scanners with ZMap, Masscan and Mirai marks, one pausing past the idle timeout,
SYN-ACK, RST and ICMP-error backscatter, UDP probes, an IPv6 scanner, one-packet noise and
a port rising at both sensors at once) is analysed in one batch and in many small ones.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from renkei.cli import app
from renkei.sensors import open_events, pipeline, read
from tests.sensors.conftest import ether, icmp, ipv4, ipv6, pcap, tcp, udp

S = 1_000_000_000
T0 = 1_775_030_400 * S          # 2026-04-01T08:00:00Z
HOURS = 6
SYN, SYN_ACK, RST_ACK = 0x02, 0x12, 0x14
Frames = list[tuple[int, bytes]]


def _darknet(rng: np.random.Generator, sensor: int) -> str:
    return str(ipaddress.IPv4Address(f"203.0.{113 + sensor}.0") + int(rng.integers(1, 255)))


def _when(rng: np.random.Generator, begin_s: float, end_s: float) -> int:
    return T0 + int(rng.uniform(begin_s, end_s) * S)


def _scanners(rng: np.random.Generator, sensor: int) -> Frames:
    frames: Frames = []
    kinds = ("zmap", "masscan", "mirai", "plain", "plain", "pausing")
    for n, kind in enumerate(kinds):
        src = f"198.51.100.{10 + n + 20 * sensor}"
        port = (23, 80, 2323, 22, 445, 3389)[n]
        start = rng.uniform(0, 3600)
        for i in range(int(rng.integers(40, 90))):
            at = start + i * 20.0 + (601.0 if kind == "pausing" and i >= 30 else 0.0)
            dst = _darknet(rng, sensor)
            dst32 = int(ipaddress.IPv4Address(dst))
            seq = dst32 if kind == "mirai" else int(rng.integers(0, 1 << 32))
            ip_id = {"zmap": 54321, "masscan": (dst32 ^ seq ^ port) & 0xFFFF}.get(
                kind, int(rng.integers(0, 1 << 16)))
            packet = ipv4(src, dst, 6, tcp(int(rng.integers(1024, 65535)), port, seq=seq),
                          ip_id=ip_id)
            frames.append((T0 + int(at * S), ether(packet)))
    return frames


def _backscatter(rng: np.random.Generator, sensor: int) -> Frames:
    frames: Frames = []
    for i in range(40):
        at = _when(rng, 7200, 9000)
        dst = _darknet(rng, sensor)
        flags = SYN_ACK if i % 2 else RST_ACK
        frames.append((at, ether(ipv4("192.0.2.80", dst, 6, tcp(443, 50000 + i, flags=flags)))))
        quoted = ipv4(dst, "192.0.2.53", 17, udp(5353, 53))[:28]
        frames.append((at + 1, ether(ipv4("192.0.2.1", dst, 1, icmp(3, 3, bytes(4) + quoted)))))
    return frames


def _probes_and_noise(rng: np.random.Generator, sensor: int) -> Frames:
    frames: Frames = []
    for i in range(60):
        frames.append((_when(rng, 0, HOURS * 3600), ether(ipv4(
            f"192.0.2.{100 + i % 3}", _darknet(rng, sensor), 17, udp(5000, 161, b"x" * 8)))))
        frames.append((_when(rng, 0, HOURS * 3600), ether(ipv6(
            "2001:db8::9", f"2001:db8:ff::{int(rng.integers(1, 4000)):x}", 6, tcp(1, 443)))))
    for _ in range(300):
        src = str(ipaddress.IPv4Address(int(rng.integers(0x0100_0000, 0xDF00_0000))))
        flags = int(rng.choice([0x10, 0x01, 0x02]))
        frames.append((_when(rng, 0, HOURS * 3600), ether(ipv4(
            src, _darknet(rng, sensor), 6, tcp(int(rng.integers(1, 65535)),
                                               int(rng.integers(1, 65535)), flags=flags)))))
    return frames


def _rise(rng: np.random.Generator, sensor: int) -> Frames:
    """Port 5555: one or two sources every five minutes, then forty new ones at once."""
    frames: Frames = []
    for bucket in range(HOURS * 12 - 1):
        for k in range(1 + bucket % 2):
            frames.append((T0 + (bucket * 300 + 10 + k) * S, ether(ipv4(
                f"198.18.0.{k + 1}", _darknet(rng, sensor), 6, tcp(40000, 5555)))))
    for k in range(40):
        frames.append((T0 + ((HOURS * 12 - 1) * 300 + 20 + k) * S, ether(ipv4(
            f"198.18.{1 + sensor}.{k + 1}", _darknet(rng, sensor), 6, tcp(40000, 5555)))))
    return frames


def capture(sensor: int) -> bytes:
    rng = np.random.default_rng(11 + sensor)
    frames = [*_scanners(rng, sensor), *_backscatter(rng, sensor),
              *_probes_and_noise(rng, sensor), *_rise(rng, sensor)]
    return pcap(sorted(frames, key=lambda frame: frame[0]))


def analyse_json(paths: list[Path]) -> str:
    result = CliRunner().invoke(app, [
        "sensors", "analyse", *map(str, paths), "--json", "--sensor", "a", "--sensor", "b",
        "--sensor-size", "256", "--bucket", "5m"])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def captures(write_file: Callable[..., Path]) -> list[Path]:
    return [write_file(capture(sensor), f"sensor-{sensor}.pcap") for sensor in (0, 1)]


def test_generated_capture_finds_every_kind(renkei_home: Path, captures: list[Path]) -> None:
    findings = [json.loads(line) for line in analyse_json(captures).splitlines()]
    kinds = {finding["kind"] for finding in findings}
    assert kinds == {"scanner", "backscatter", "rise", "campaign"}
    fingerprints = {name for finding in findings for name in finding["fingerprints"]}
    assert fingerprints == {"zmap", "masscan", "mirai"}
    pausing = [f for f in findings if f["kind"] == "scanner" and f["ports"] == [3389]]
    assert len(pausing) == 4        # one per sensor and side of the pause


@pytest.mark.parametrize(("batch", "chunk", "complete", "tiny_tables"), [
    (7, 300, 16, True),
    (64, 4096, 1 << 18, False),
    (1000, 1 << 20, 100, True),
])
def test_analyse_json_is_the_same_whatever_the_batch_sizes(
        renkei_home: Path, captures: list[Path], monkeypatch: pytest.MonkeyPatch, batch: int,
        chunk: int, complete: int, tiny_tables: bool) -> None:
    whole = analyse_json(captures)
    monkeypatch.setattr(read, "BATCH", batch)
    monkeypatch.setattr(pipeline, "iter_packets",
                        functools.partial(read.iter_packets, chunk_bytes=chunk))
    monkeypatch.setattr(pipeline, "COMPLETE_ROWS", complete)
    if tiny_tables:
        monkeypatch.setattr(open_events, "_MIN_SLOTS", 2)
        monkeypatch.setattr(open_events, "_MIN_DSTS", 4)
        monkeypatch.setattr(open_events, "BUFFER_ROWS", 5)
    cut = analyse_json(captures)
    assert cut == whole
    assert len(whole.splitlines()) > 20
