"""The darknet report: every section in both languages, escaping, JSON, empty periods."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta

import pytest

from renkei.sensors import report
from renkei.sensors.findings import FindingKind
from renkei.sensors.geo import UNKNOWN, Geo, GeoInfo
from tests.sensors.test_plots import HOURS, JST, RESEARCH_LABEL, T0, Darknet, darknet

SENSORS = [("tokyo-1", "Koganei", 256), ("osaka", "Suita", 256)]
HOSTILE = "<script>alert(1)</script>"


class Places:
    """A geo source with fixed answers (the real sources are tested in test_geo.py)."""

    attribution = "test places"

    def __init__(self, answers: dict[str, GeoInfo]) -> None:
        self.answers = answers

    def lookup(self, addresses: Sequence[str]) -> list[GeoInfo]:
        return [self.answers.get(a, UNKNOWN) for a in addresses]


GEO = Geo([Places({"8.8.8.8": GeoInfo("US", 15169, "GOOGLE"),
                   "203.0.113.10": GeoInfo("JP", 64500, "Example JP")})])


@pytest.fixture(scope="module")
def net() -> Darknet:
    return darknet()


@pytest.fixture(scope="module")
def html_en(net: Darknet) -> str:
    return report.render_html(net.series, net.findings, lang="en", sensors=SENSORS, geo=GEO,
                              zone=JST)


@pytest.fixture(scope="module")
def html_ja(net: Darknet) -> str:
    return report.render_html(net.series, net.findings, lang="ja", sensors=SENSORS, geo=GEO,
                              zone=JST)


@pytest.fixture
def no_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests of the tables: drawing charts is most of a report's time."""
    monkeypatch.setattr(report, "_charts", lambda *args: {})


def plain(html: str) -> str:
    """The page's text without charts and tags, spaces collapsed."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.DOTALL)
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_html_in_english(html_en: str) -> None:
    text = plain(html_en)
    for heading in ("Darknet observation report", "Sensors", "Top ports over time",
                    "Ports over time at each sensor", "New and rising ports", "Campaigns",
                    "Top scanners", "DoS victims seen through backscatter",
                    "Countries and networks"):
        assert heading in text
    assert "Period: 2024-04-01 09:00 – 2024-04-03 09:00" in text
    assert "Times are in UTC+09:00" in text
    assert '<html lang="en">' in html_en


def test_html_in_japanese(html_ja: str) -> None:
    text = plain(html_ja)
    for heading in ("ダークネット観測レポート", "上位ポートの推移", "新規・急増ポート",
                    "上位のスキャン元", "バックスキャッタから見た DoS 被害ホスト", "国・地域別"):
        assert heading in text
    assert '<html lang="ja">' in html_ja
    assert "日本 (JP)" in text
    assert "アメリカ合衆国 (US)" in text


def test_html_is_self_contained(html_en: str) -> None:
    assert "Content-Security-Policy" in html_en
    assert "<script" not in html_en
    assert not re.search(r'(src|href)="(https?:)?//', html_en)
    assert html_en.count("<svg") == 5   # top ports, two heat maps, rises, countries


def test_summary_figures(html_en: str, net: Darknet) -> None:
    text = plain(html_en)
    packets = int(net.series["packets"].sum())
    assert f"Packets {packets:,}" in text
    per_address = packets / 512 / 2                     # two /24s over two days
    assert f"Packets per address per day {per_address:,.2f}" in text
    assert "Scanners 1 " in text
    assert "DoS victims (backscatter) 1 " in text
    research = 100 * int(net.series["research_packets"].sum()) / packets
    assert f"sent {research:.1f}% of the packets" in text


def test_rises_are_told_as_episodes(net: Darknet) -> None:
    summary = report.summarise(net.series, net.findings, sensors=SENSORS)
    rises = [f for f in net.findings if f.kind is FindingKind.RISE]
    assert len(rises) > 2
    assert [(r.label, r.sensor) for r in sorted(summary.rises, key=lambda r: r.sensor)] == [
        ("8080/tcp", 0), ("8080/tcp", 1)]
    first = summary.rises[0]
    assert first.first == T0 + timedelta(hours=HOURS - 8)
    assert first.last == T0 + timedelta(hours=HOURS)
    assert first.peak_sources == 30
    assert not first.new


def test_scanner_and_victim_rows(html_en: str) -> None:
    text = plain(html_en)
    assert re.search(r"8\.8\.8\.8 US AS15169 GOOGLE 40 6379 40 .* ZMap tokyo-1", text)
    victim = re.search(r"203\.0\.113\.10 JP AS64500 Example JP 80/tcp SYN-ACK / RST replies "
                       r"30 ([\d.,]+) ([\d,]+) osaka", text)
    assert victim is not None
    observed = float(victim.group(1).replace(",", ""))
    estimated = float(victim.group(2).replace(",", ""))
    assert estimated == pytest.approx(observed * 2**32 / 256, rel=1e-3)


def test_places_table(net: Darknet) -> None:
    summary = report.summarise(net.series, net.findings, sensors=SENSORS, geo=GEO, lang="en")
    assert summary.countries is not None
    assert summary.ases is not None
    assert [(r.key, r.name, r.scanners, r.scanner_packets, r.victims)
            for r in summary.countries] == [("US", "United States (US)", 1, 40, 0),
                                             ("JP", "Japan (JP)", 0, 0, 1)]
    assert [(r.key, r.name) for r in summary.ases] == [("AS15169", "GOOGLE"),
                                                       ("AS64500", "Example JP")]


def test_without_geo_there_is_no_country_column(net: Darknet, no_charts: None) -> None:
    html = report.render_html(net.series, net.findings, lang="en", sensors=SENSORS, geo=None)
    text = plain(html)
    assert "No geolocation data was used for this report." in text
    assert "<th>Country</th>" not in html


def test_shipped_geo_without_asn_says_how_to_add_it(net: Darknet, no_charts: None) -> None:
    html = report.render_html(net.series, net.findings, lang="en", sensors=SENSORS,
                              geo=Geo.default())
    text = plain(html)
    assert "No AS data was given" in text
    assert "8.8.8.8 US — 40" in text                     # country from the RIR data
    assert "delegation statistics" in text               # attribution in the footer


def test_hostile_names_and_labels_are_escaped(net: Darknet) -> None:
    findings = list(net.findings)
    for f in findings:
        if f.kind is FindingKind.SCANNER:
            f.labels = [HOSTILE, "x\u202eevil"]
    geo = Geo([Places({"8.8.8.8": GeoInfo("US", 1, HOSTILE)})])
    sensors = [(HOSTILE, '<img src=x onerror="alert(2)">', 256), ("b\x1b[2J", "s", 256)]
    html = report.render_html(net.series, findings, lang="en", sensors=sensors, geo=geo)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "\x1b" not in html
    assert "\u202e" not in html
    assert "x\\u202eevil" in html
    for f in findings:
        f.labels = []


def test_research_labels_are_shown(net: Darknet, no_charts: None) -> None:
    findings = list(net.findings)
    scanner = next(f for f in findings if f.kind is FindingKind.SCANNER)
    scanner.labels = [RESEARCH_LABEL]
    html = report.render_html(net.series, findings, lang="en", sensors=SENSORS, geo=None)
    scanner.labels = []
    assert '<span class="tag">Uni &lt;b&gt;scan&lt;/b&gt;</span>' in html


def test_empty_period_renders(net: Darknet) -> None:
    empty = net.series.clear()
    period = (T0, T0 + timedelta(days=1))
    html = report.render_html(empty, [], lang="ja", sensors=SENSORS, geo=GEO, period=period)
    text = plain(html)
    assert "この期間にはパケットが観測されていません。" in text
    assert "この期間にスキャン元は見つかりませんでした。" in text
    assert "<svg" not in html
    doc = report.render_json(empty, [], lang="en", sensors=SENSORS, geo=None, period=period)
    assert doc["summary"] == {"packets": 0, "research_packets": 0,
                              "packets_per_address_per_day": 0.0, "peak_sources": 0,
                              "unique_sources": None, "scanners": 0,
                              "backscatter_victims": 0, "rises": 0, "campaigns": 0}
    assert doc["countries"] is None


def test_unknown_sensor_index_and_given_unique_sources(net: Darknet, no_charts: None) -> None:
    html = report.render_html(net.series, net.findings, lang="en", sensors=SENSORS[:1],
                              geo=None, unique_sources=1234)
    text = plain(html)
    assert "Unique sources 1,234" in text
    assert "#1 " in text                                 # sensor 1 has no configured name


def test_unknown_language_is_refused(net: Darknet) -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        report.render_html(net.series, [], lang="fr", sensors=SENSORS, geo=None)


# ---------------------------------------------------------------- JSON


def test_json_report(net: Darknet) -> None:
    doc = report.render_json(net.series, net.findings, lang="ja", sensors=SENSORS, geo=GEO,
                             zone=JST)
    json.dumps(doc, ensure_ascii=False)                  # plain data only
    assert doc["report"] == "renkei.sensors.report"
    assert doc["lang"] == "ja"
    assert doc["period"] == {"start": "2024-04-01T00:00:00+00:00",
                             "end": "2024-04-03T00:00:00+00:00", "days": 2.0}
    summary = doc["summary"]
    assert isinstance(summary, dict)
    assert summary["packets"] == int(net.series["packets"].sum())
    assert (summary["scanners"], summary["backscatter_victims"], summary["rises"],
            summary["campaigns"]) == (1, 1, 2, 1)
    sensors = doc["sensors"]
    assert isinstance(sensors, list)
    assert [s["name"] for s in sensors] == ["tokyo-1", "osaka"]
    assert sensors[0]["busiest_port"] == "23/tcp"
    ports = doc["top_ports"]
    assert isinstance(ports, list)
    assert ports[0]["label"] == "23/tcp"
    assert ports[[p["label"] for p in ports].index("22/tcp")]["research_percent"] == 100.0
    over_time = doc["top_ports_over_time"]
    assert isinstance(over_time, list)
    points = over_time[0]["points"]
    assert len(points) == HOURS
    assert points[0]["start"] == "2024-04-01T00:00:00+00:00"
    scanners = doc["scanners"]
    assert isinstance(scanners, list)
    assert scanners[0] | {"rate_pps": 0, "first": "", "last": ""} == {
        "src": "8.8.8.8", "packets": 40, "ports": [6379], "protocols": ["tcp"],
        "packet_classes": ["syn-probe"], "max_unique_dsts": 40, "rate_pps": 0,
        "estimated_pps": None, "fingerprints": ["zmap"], "labels": [], "sensors": [0],
        "first": "", "last": "", "country": "US", "asn": 15169, "as_name": "GOOGLE"}
    victims = doc["backscatter_victims"]
    assert isinstance(victims, list)
    assert victims[0]["estimated_pps"] > 1e6
    campaigns = doc["campaigns"]
    assert isinstance(campaigns, list)
    assert campaigns[0]["port"] == "8080/tcp"
    assert campaigns[0]["sensors"] == [0, 1]
    assert doc["geo_sources"] == ["test places"]
    notes = doc["notes"]
    assert isinstance(notes, list)
    assert "ZMap" in notes[0]
    assert "証拠" in notes[0]


def test_json_rises(net: Darknet) -> None:
    doc = report.render_json(net.series, net.findings, lang="en", sensors=SENSORS, geo=None)
    rises = doc["rises"]
    assert isinstance(rises, list)
    assert {(r["port"], r["sensor"], r["peak_sources"], r["new"]) for r in rises} == {
        ("8080/tcp", 0, 30, False), ("8080/tcp", 1, 30, False)}
    assert "country" not in doc["scanners"][0]  # type: ignore[index]


def test_a_new_port_is_marked_new(net: Darknet, no_charts: None) -> None:
    rise = next(f for f in net.findings if f.kind is FindingKind.RISE)
    fresh = type(rise)(**{**{name: getattr(rise, name) for name in rise.__slots__},
                          "baseline": 0.0, "ports": [5555]})
    summary = report.summarise(net.series.clear(), [fresh])
    assert summary.rises[0].new
    assert summary.rises[0].label == "5555/tcp"
    html = report.render_html(net.series, [fresh], lang="ja", sensors=SENSORS, geo=None)
    assert '5555/tcp <span class="tag new">新規</span>' in html
