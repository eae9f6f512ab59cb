"""Charts and terminal views of a small darknet: two sensors, two days, a port that rises.

``darknet()`` builds the packets with numpy (no capture files) and runs the real analysis
on them, so these tests and test_report.py see what the pipeline would hand over.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from rich.console import Console

from renkei.sensors import plots
from renkei.sensors.analyse import analyse
from renkei.sensors.findings import Finding, FindingKind
from renkei.sensors.model import PACKET
from renkei.sensors.research import ResearchScanners
from renkei.sensors.rises import campaign_findings, campaigns, rise_findings, rises
from renkei.sensors.series import series

S = 1_000_000_000
T0 = datetime(2024, 4, 1, tzinfo=UTC)
HOURS = 48
RISE_FROM = 40                      # 8080/tcp jumps from 3 to 30 sources per hour
JST = timezone(timedelta(hours=9))
SIZES = [256, 256]
RESEARCH_LABEL = "Uni <b>scan</b>"
BACKGROUND = {23: 12, 22: 6, 445: 4, 8080: 3}   # port -> sources per hour per sensor


def _v4(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([int(ipaddress.IPv4Address(t)) for t in texts], dtype=np.uint64)
    return np.zeros(len(texts), np.uint64), values | np.uint64(0xFFFF_0000_0000)


def _rows(n: int, *, ts: np.ndarray, sensor: np.ndarray | int, src: list[str],
          dst: list[str], dport: np.ndarray | int, sport: int = 40000, flags: int = 0x02,
          ip_id: int = 0) -> np.ndarray:
    out = np.zeros(n, PACKET)
    out["ts"], out["sensor"], out["dport"], out["sport"] = ts, sensor, dport, sport
    out["src_hi"], out["src_lo"] = _v4(src)
    out["dst_hi"], out["dst_lo"] = _v4(dst)
    out["version"], out["proto"], out["tcp_flags"], out["ip_id"] = 4, 6, flags, ip_id
    out["count"], out["length"], out["ttl"] = 1, 40, 64
    return out


def packets() -> np.ndarray:
    parts = []
    for hour in range(HOURS):
        for sensor in (0, 1):
            for port, sources in BACKGROUND.items():
                k = 30 if port == 8080 and hour >= RISE_FROM else sources + hour % 2
                seconds = np.arange(k, dtype=np.int64) * 7 + port % 60
                parts.append(_rows(
                    k, ts=int(T0.timestamp()) * S + (hour * 3600 + seconds) * S, sensor=sensor,
                    src=[f"198.18.{i // 200}.{i % 200 + 1}" if port == 22 else
                         f"1.0.{port % 200}.{i + 1}" for i in range(k)],
                    dst=[f"100.64.{sensor}.{(i * 13 + hour) % 256}" for i in range(k)],
                    dport=port))
    # a ZMap scanner (IP id 54321) sweeping 40 addresses of sensor 0 on 6379/tcp
    base = int((T0 + timedelta(hours=30)).timestamp()) * S
    parts.append(_rows(40, ts=base + np.arange(40) * S, sensor=0, src=["8.8.8.8"] * 40,
                       dst=[f"100.64.0.{i}" for i in range(40)], dport=6379, ip_id=54321))
    # a DoS victim's SYN-ACKs from port 80 to 30 darknet addresses of sensor 1
    base = int((T0 + timedelta(hours=20)).timestamp()) * S
    parts.append(_rows(30, ts=base + np.arange(30) * S // 10, sensor=1,
                       src=["203.0.113.10"] * 30, dst=[f"100.64.1.{i}" for i in range(30)],
                       dport=np.arange(30) + 50000, sport=80, flags=0x12))
    return np.concatenate(parts)


@dataclass(frozen=True)
class Darknet:
    series: pl.DataFrame
    findings: list[Finding]


def darknet() -> Darknet:
    """The series and every kind of finding (scanner, backscatter, rise, campaign)."""
    research = ResearchScanners.from_mapping({RESEARCH_LABEL: ["198.18.0.0/24"]})
    data = packets()
    table = series(data, "1h", SIZES, research=research)
    risen = rises(table, window=24, min_history=12, min_sources=10)
    findings = [*analyse(data, SIZES, research=research), *rise_findings(risen),
                *campaign_findings(campaigns(risen))]
    return Darknet(table, findings)


@pytest.fixture(scope="module")
def net() -> Darknet:
    return darknet()


def test_the_sample_has_every_kind_of_finding(net: Darknet) -> None:
    kinds = {f.kind for f in net.findings}
    assert kinds == set(FindingKind)
    assert {f.ports[0] for f in net.findings if f.kind is FindingKind.RISE} == {8080}


# ---------------------------------------------------------------- data helpers


@pytest.mark.parametrize(("proto", "port", "label"), [
    (6, 23, "23/tcp"), (17, 53, "53/udp"), (1, 0, "icmp"), (58, 0, "icmpv6"), (47, 0, "47")])
def test_port_label(proto: int, port: int, label: str) -> None:
    assert plots.port_label(proto, port) == label


def test_country_names_in_both_languages() -> None:
    assert plots.country_name("JP", "ja") == "日本 (JP)"
    assert plots.country_name("kr", "en") == "South Korea (kr)"
    assert plots.country_name("QQ", "en") == "QQ"
    assert plots.country_name(None, "en") == "—"


def test_top_ports_rank_by_packets(net: Darknet) -> None:
    top = plots.top_ports(net.series, 3)
    assert top["port"].to_list() == [23, 8080, 22]
    row = top.row(0, named=True)
    assert row["sensors"] == 2
    assert row["peak_sources"] == 13                    # 12 + the odd hours' extra one
    assert row["packets"] == sum(2 * (12 + h % 2) for h in range(HOURS))
    assert plots.top_ports(net.series, 5, sensor=0)["port"].to_list() == [
        23, 8080, 22, 445, 6379]


def test_grid_is_dense_and_sums_sensors(net: Darknet) -> None:
    grid = plots.grid(net.series, [(6, 8080), (6, 9999)], zone=JST)
    assert len(grid.starts) == HOURS
    assert grid.starts[0] == T0.astimezone(JST)
    assert grid.step == timedelta(hours=1)
    assert grid.values[0, 0] == 6
    assert grid.values[0, -1] == 60
    assert not grid.values[1].any()                     # a port never seen: a row of zeros
    sources = plots.grid(net.series, [(6, 22)], measure="sources")
    assert not sources.values.any()                     # 22/tcp is all research scanners


def test_grid_merges_buckets_past_the_limit(net: Darknet,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "MAX_BUCKETS", 10)
    grid = plots.grid(net.series, [(6, 23)])
    assert len(grid.starts) == 10
    assert grid.step == timedelta(hours=5)
    assert grid.values.sum() == plots.top_ports(net.series, 1)["packets"][0]


def test_unknown_measure_is_refused(net: Darknet) -> None:
    with pytest.raises(ValueError, match="measure"):
        plots.grid(net.series, [(6, 23)], measure="bytes")


# ---------------------------------------------------------------- SVG


def texts(svg: str) -> list[str]:
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_top_ports_chart(net: Darknet) -> None:
    svg = plots.top_ports_svg(net.series, top=3, zone=JST)
    assert svg.startswith("<svg")
    labels = texts(svg)
    for label in ("23/tcp", "8080/tcp", "22/tcp", "Other ports", "Packets (per hour)",
                  "Time (UTC+09:00)"):
        assert label in labels


def test_charts_speak_japanese_as_svg_text(net: Darknet) -> None:
    svg = plots.top_ports_svg(net.series, lang="ja", top=3)
    assert "パケット数 (1時間ごと)" in texts(svg)
    assert "その他のポート" in texts(svg)
    assert 'font-family' in svg or "font:" in svg       # text left as text, not glyph paths


def test_heatmap_chart(net: Darknet) -> None:
    svg = plots.heatmap_svg(net.series, 0, top=5, title="tokyo-1")
    assert "<image" in svg
    assert "data:image/png;base64," in svg
    assert {"23/tcp", "8080/tcp", "6379/tcp", "22/tcp", "tokyo-1"} <= set(texts(svg))
    assert "mathdefault" not in svg                      # colour-bar ticks are plain numbers


def test_hostile_names_stay_text_in_charts(net: Darknet) -> None:
    name = '</text><script>alert(1)</script>\x1b[31m'
    svg = plots.heatmap_svg(net.series, 0, title=name)
    assert "<script" not in svg
    assert "&lt;/text&gt;&lt;script&gt;" in svg
    assert "\x1b" not in svg
    svg = plots.rising_ports_svg(net.series, net.findings, sensor_names={0: name})
    assert "<script" not in svg
    svg = plots.ranking_svg([name], [3], xlabel="Scanners")
    assert "<script" not in svg


def test_rising_ports_chart(net: Darknet) -> None:
    svg = plots.rising_ports_svg(net.series, net.findings, sensor_names={0: "tokyo-1",
                                                                         1: "osaka"})
    labels = texts(svg)
    assert "8080/tcp" in labels
    assert {"tokyo-1", "osaka"} <= set(labels)
    assert "Unique sources (research scanners left out)" in labels


def test_ranking_chart() -> None:
    svg = plots.ranking_svg(["日本 (JP)", "United States (US)"], [5, 2], xlabel="Scanners")
    assert {"日本 (JP)", "United States (US)", "5", "2"} <= set(texts(svg))


def test_empty_series_still_draws(net: Darknet) -> None:
    empty = net.series.clear()
    for svg in (plots.top_ports_svg(empty), plots.heatmap_svg(empty, 0),
                plots.rising_ports_svg(empty, [])):
        assert svg.startswith("<svg")


# ---------------------------------------------------------------- terminal


def render(renderable: object, width: int = 110) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_top_ports_table(net: Darknet) -> None:
    out = render(plots.top_ports_table(net.series, top=3, width=20))
    lines = out.splitlines()
    assert lines[0].startswith("Top ports")
    assert [line.split()[0] for line in lines[2:5]] == ["23/tcp", "8080/tcp", "22/tcp"]
    assert "█" in lines[2]
    assert lines[3].endswith("▂▂▂▆██")            # 8080/tcp: quiet, then the rise
    assert float(lines[2].split()[2].rstrip("%")) == pytest.approx(
        100 * 1200 / int(net.series["packets"].sum()), abs=0.05)


def test_top_ports_table_in_japanese(net: Darknet) -> None:
    out = render(plots.top_ports_table(net.series, lang="ja", top=2))
    assert "上位ポート" in out
    assert "パケット数" in out


def test_text_heatmap(net: Darknet) -> None:
    out = render(plots.heatmap_text(net.series, 1, top=3, width=24, zone=JST))
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["23/tcp", "8080/tcp", "22/tcp"]
    assert all(len(line.split()[1]) == 24 for line in lines[:3])
    assert "2024-04-01 09:00 → 2024-04-03 09:00 (UTC+09:00)" in lines[3]
    assert "█" in lines[1][-5:]                          # the rise, at the end of 8080's row


def test_text_heatmap_of_a_silent_sensor(net: Darknet) -> None:
    assert "No packets at this sensor." in render(plots.heatmap_text(net.series, 7))
