"""Reports of darknet observation (renkei's NICTER/TSUBAME-style report), English or Japanese.

One summary (:func:`summarise`) of a period's series and findings feeds two outputs: a
self-contained HTML file for analysts and the CSIRTs they brief, and JSON for tools. The
figures of the whole series (totals, each sensor's busiest port, the top ports, packets
per bucket) come from the table itself (``Figures.of``) or, for a report of the store,
from its aggregate queries (``sensors.stored_report``), which then hands over the series
of the charted ports only; findings are read once, so they may be a stream. What
the analysis knows is reported as it is: the series counts unique sources per (bucket,
sensor, port), and unique sources do not add across those, so the report gives peaks, the
number of scanners found, and a total only when the caller knows one (``unique_sources``).
Sensor names and research-scanner labels come from configuration files and are treated as
untrusted text: HTML is autoescaped and a CSP forbids scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from renkei.core.i18n import gettext_noop, translator
from renkei.core.text import visible
from renkei.sensors import plots
from renkei.sensors.findings import Finding, FindingKind
from renkei.sensors.geo import UNKNOWN, Geo, GeoInfo

#: (name, site, monitored IPv4 addresses) per sensor index of the series.
SensorInfo = tuple[str, str, int]

TOP_PORTS = 20
TOP_SCANNERS = 100          # rows in the HTML; JSON_TOP in the JSON
TOP_PLACES = 20
HEATMAPS = 12               # sensors drawn; the table lists every one
JSON_TOP = 1000
TOOL_NAMES = {"zmap": "ZMap", "masscan": "Masscan", "mirai": "Mirai"}
CLASS_NAMES = {
    "backscatter": gettext_noop("SYN-ACK / RST replies"),
    "icmp-error": gettext_noop("ICMP errors"),
}
NOTE_FINGERPRINTS = gettext_noop(
    "Tool fingerprints (ZMap, Masscan, Mirai) are marks in packet headers that anyone can "
    "copy: a hint, not proof of the tool.")
NOTE_BACKSCATTER = gettext_noop(
    "Estimated attack rates assume the attacker spoofed source addresses uniformly over the "
    "IPv4 space: the rate seen at a sensor is scaled by 2^32 over its monitored addresses.")


@dataclass(frozen=True, slots=True)
class SensorRow:
    index: int
    name: str
    site: str
    addresses: int
    packets: int
    per_address_day: float | None     # packets per monitored address per day
    busiest: str                      # the port with most packets
    scanners: int
    victims: int


@dataclass(frozen=True, slots=True)
class PortRow:
    proto: int
    port: int
    label: str
    packets: int
    share: float                      # of all packets, in %
    research_share: float             # of this port's packets, from listed research scanners
    peak_sources: int
    sensors: int


@dataclass(frozen=True, slots=True)
class RiseRow:
    """Consecutive risen buckets of one port at one sensor, told as one episode."""

    label: str
    sensor: int
    first: datetime
    last: datetime
    peak_sources: int
    baseline: float
    threshold: float
    packets: int

    @property
    def new(self) -> bool:
        """Nothing at all on this port before: a new port, not a busier one."""
        return self.baseline == 0


@dataclass(frozen=True, slots=True)
class CampaignRow:
    label: str
    first: datetime
    last: datetime
    sensors: list[int]
    peak_sources: int
    packets: int


@dataclass(slots=True)
class SourceRow:
    """A scanner or a DoS victim with its findings merged."""

    src: str
    packets: int = 0
    ports: dict[int, int] = field(default_factory=dict)     # port -> packets
    protocols: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    addresses: int = 0                # largest number of darknet addresses in one finding
    rate_pps: float = 0.0             # highest rate seen at a sensor
    estimated_pps: float | None = None
    tools: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    sensors: set[int] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    geo: GeoInfo = UNKNOWN

    def add(self, finding: Finding) -> None:
        self.packets += finding.packets
        for port in finding.ports:
            self.ports[port] = self.ports.get(port, 0) + finding.packets
        self.protocols.add(finding.protocol)
        if finding.packet_class:
            self.classes.add(finding.packet_class)
        self.addresses = max(self.addresses, finding.unique_dsts)
        self.rate_pps = max(self.rate_pps, finding.rate_pps)
        if finding.estimated_pps is not None:
            self.estimated_pps = max(self.estimated_pps or 0.0, finding.estimated_pps)
        self.tools.update(finding.fingerprints)
        self.labels.update(finding.labels)
        if finding.sensor is not None:
            self.sensors.add(finding.sensor)
        self.first = finding.first if self.first is None else min(self.first, finding.first)
        self.last = finding.last if self.last is None else max(self.last, finding.last)

    @property
    def top_ports(self) -> list[int]:
        return sorted(self.ports, key=lambda p: (-self.ports[p], p))


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """Scanners and victims of one country or one AS."""

    key: str                          # country code or AS number as text
    name: str
    scanners: int
    scanner_packets: int
    victims: int


@dataclass(frozen=True, slots=True)
class Summary:
    start: datetime
    end: datetime
    days: float
    packets: int
    research_packets: int
    per_address_day: float | None
    peak_sources: int
    unique_sources: int | None
    sensors: list[SensorRow]
    ports: list[PortRow]
    rises: list[RiseRow]
    campaigns: list[CampaignRow]
    scanners: list[SourceRow]
    victims: list[SourceRow]
    countries: list[PlaceRow] | None  # None: no geo data was given
    ases: list[PlaceRow] | None
    attributions: list[str]
    risen: list[Finding] = field(default_factory=list)    # the rise findings, for the chart


@dataclass(frozen=True)
class Figures:
    """What the summary and charts read of the whole series: totals, each sensor's packets
    and busiest port, the top ports (``plots.top_ports``'s table) and packets per bucket of
    every port (``bucket``, ``packets``) for the top-ports chart's grey layer."""

    packets: int
    research_packets: int
    peak_sources: int
    sensor_packets: dict[int, int]
    busiest: dict[int, str]
    ports: pl.DataFrame
    bucket_packets: pl.DataFrame | None = None

    @classmethod
    def of(cls, series: pl.DataFrame, top: int = TOP_PORTS) -> Figures:
        """The figures of a whole series table."""
        if series.is_empty():
            return cls(0, 0, 0, {}, {}, plots.top_ports(series, top))
        busiest = {int(r["sensor"]): plots.port_label(r["proto"], r["port"])
                   for r in (series.group_by("sensor", "proto", "port")
                             .agg(pl.col("packets").sum())
                             .sort(["packets", "proto", "port"], descending=[True, False, False])
                             .unique("sensor", keep="first", maintain_order=True)
                             .iter_rows(named=True))}
        return cls(
            packets=int(series["packets"].sum()),
            research_packets=int(series["research_packets"].sum()),
            peak_sources=int(series["sources"].max() or 0),  # type: ignore[arg-type]
            sensor_packets={int(k): int(v) for k, v in series.group_by("sensor")
                            .agg(pl.col("packets").sum()).iter_rows()},
            busiest=busiest, ports=plots.top_ports(series, top))


# ---------------------------------------------------------------- the summary


def _period(series: pl.DataFrame, moments: list[datetime],
            period: tuple[datetime, datetime] | None) -> tuple[datetime, datetime]:
    if period is not None:
        return period
    if not series.is_empty():
        width = timedelta(seconds=int(series["width"][0]))
        moments = [*moments, series["bucket"].min(), series["bucket"].max() + width]  # type: ignore[list-item, operator]
    if not moments:
        now = datetime.now(UTC)
        return now, now
    return min(moments), max(moments)


def _sensor_rows(figures: Figures, sensors: Sequence[SensorInfo], days: float,
                 scanners: list[SourceRow], victims: list[SourceRow]) -> list[SensorRow]:
    packets = figures.sensor_packets
    indexes = sorted(set(range(len(sensors))) | set(packets))
    rows = []
    for index in indexes:
        name, site, addresses = sensors[index] if index < len(sensors) else (f"#{index}", "", 0)
        count = int(packets.get(index, 0))
        rows.append(SensorRow(
            index, visible(name), visible(site), addresses, count,
            count / addresses / days if addresses > 0 and days > 0 else None,
            figures.busiest.get(index, "—"),
            sum(index in s.sensors for s in scanners), sum(index in v.sensors for v in victims)))
    return rows


def _port_rows(figures: Figures, top: int) -> list[PortRow]:
    total = figures.packets
    return [PortRow(
        int(r["proto"]), int(r["port"]), plots.port_label(r["proto"], r["port"]),
        int(r["packets"]), 100 * int(r["packets"]) / total if total else 0.0,
        100 * int(r["research_packets"]) / int(r["packets"]) if r["packets"] else 0.0,
        int(r["peak_sources"]), int(r["sensors"]))
        for r in figures.ports.head(top).iter_rows(named=True)]


def _port_of(finding: Finding) -> str:
    if finding.ports and finding.protocol in ("tcp", "udp"):
        return f"{finding.ports[0]}/{finding.protocol}"
    return finding.protocol


def _rise_rows(findings: Iterable[Finding]) -> list[RiseRow]:
    """Rises of the same port at the same sensor in touching buckets become one row."""
    rises = sorted((f for f in findings if f.kind is FindingKind.RISE),
                   key=lambda f: (f.sensor or 0, _port_of(f), f.first))
    rows: list[RiseRow] = []
    for f in rises:
        label, sensor = _port_of(f), f.sensor or 0
        last = rows[-1] if rows else None
        if last is not None and (last.label, last.sensor) == (label, sensor) \
                and f.first <= last.last:
            rows[-1] = RiseRow(label, sensor, last.first, max(last.last, f.last),
                               max(last.peak_sources, f.unique_srcs), last.baseline,
                               last.threshold, last.packets + f.packets)
        else:
            rows.append(RiseRow(label, sensor, f.first, f.last, f.unique_srcs,
                                f.baseline or 0.0, f.threshold or 0.0, f.packets))
    return sorted(rows, key=lambda r: (-r.peak_sources, r.first, r.label))


def _ranked(merged: dict[str, SourceRow]) -> list[SourceRow]:
    return sorted(merged.values(), key=lambda r: (-r.packets, r.src))


def _places(scanners: list[SourceRow], victims: list[SourceRow], lang: str,
            ) -> tuple[list[PlaceRow], list[PlaceRow]]:
    countries: dict[str, list[int]] = {}
    ases: dict[str, list[int]] = {}
    as_names: dict[str, str] = {}
    for rows, column in ((scanners, 0), (victims, 2)):
        for row in rows:
            country = row.geo.country or "—"
            asn = f"AS{row.geo.asn}" if row.geo.asn is not None else "—"
            if row.geo.as_name:
                as_names.setdefault(asn, row.geo.as_name)
            for table, key in ((countries, country), (ases, asn)):
                counts = table.setdefault(key, [0, 0, 0])
                counts[column] += 1
                if column == 0:
                    counts[1] += row.packets

    def ranked(table: dict[str, list[int]], name: dict[str, str]) -> list[PlaceRow]:
        rows = [PlaceRow(k, name.get(k, k), *v) for k, v in table.items()]
        return sorted(rows, key=lambda r: (r.key == "—", -r.scanners, -r.victims, r.key))

    country_names = {k: plots.country_name(k, lang) for k in countries if k != "—"}
    return ranked(countries, country_names), ranked(ases, {k: visible(v)
                                                           for k, v in as_names.items()})


def summarise(series: pl.DataFrame, findings: Iterable[Finding], *, lang: str = "en",
              sensors: Sequence[SensorInfo] = (), geo: Geo | None = None,
              period: tuple[datetime, datetime] | None = None,
              unique_sources: int | None = None, figures: Figures | None = None) -> Summary:
    """Everything both outputs show, computed once; ``findings`` are read once, in one
    pass (a stream of a month's scanners is never held as ``Finding`` objects)."""
    figures = figures if figures is not None else Figures.of(series)
    merged: dict[FindingKind, dict[str, SourceRow]] = {FindingKind.SCANNER: {},
                                                       FindingKind.BACKSCATTER: {}}
    risen: list[Finding] = []
    campaigns: list[CampaignRow] = []
    moments: list[datetime] = []
    for f in findings:
        if period is None:      # the findings' span: the first and the last moment
            moments = ([min(moments[0], f.first), max(moments[1], f.last)] if moments
                       else [f.first, f.last])
        if f.kind is FindingKind.RISE:
            risen.append(f)
        elif f.kind is FindingKind.CAMPAIGN:
            campaigns.append(CampaignRow(_port_of(f), f.first, f.last, list(f.sensors),
                                         f.unique_srcs, f.packets))
        elif f.src is not None:
            key = str(f.src)
            merged[f.kind].setdefault(key, SourceRow(key)).add(f)
    start, end = _period(series, moments, period)
    days = max((end - start).total_seconds() / 86_400, 0.0)
    scanners = _ranked(merged[FindingKind.SCANNER])
    victims = _ranked(merged[FindingKind.BACKSCATTER])
    countries = ases = None
    if geo is not None:
        rows = [*scanners, *victims]
        for row, info in zip(rows, geo.lookup_many([r.src for r in rows]), strict=True):
            row.geo = info
        countries, ases = _places(scanners, victims, lang)
    total = figures.packets
    sensor_rows = _sensor_rows(figures, sensors, days, scanners, victims)
    sized = [s for s in sensor_rows if s.addresses > 0]
    per_address = (sum(s.packets for s in sized) / sum(s.addresses for s in sized) / days
                   if sized and days > 0 else None)
    return Summary(
        start=start, end=end, days=days, packets=total,
        research_packets=figures.research_packets if total else 0,
        per_address_day=per_address,
        peak_sources=figures.peak_sources if total else 0,
        unique_sources=unique_sources, sensors=sensor_rows,
        ports=_port_rows(figures, TOP_PORTS), rises=_rise_rows(risen),
        campaigns=sorted(campaigns, key=lambda c: (c.first, c.label)),
        scanners=scanners, victims=victims, countries=countries, ases=ases,
        attributions=geo.attributions if geo is not None else [], risen=risen)


# ---------------------------------------------------------------- HTML


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("renkei.sensors", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _charts(series: pl.DataFrame, summary: Summary, lang: str, zone: tzinfo,
            totals: pl.DataFrame | None = None) -> dict[str, Markup | list[tuple[str, Markup]]]:
    """Inline SVG from renkei's own labels and escaped sensor names (see ``plots``)."""
    _ = translator(lang)
    made: dict[str, Markup | list[tuple[str, Markup]]] = {}
    if series.is_empty():
        return made
    names = {s.index: s.name for s in summary.sensors}
    made["ports"] = Markup(plots.top_ports_svg(  # noqa: S704  (our own SVG)
        series, lang=lang, zone=zone, totals=totals))
    made["heatmaps"] = [
        (s.name, Markup(plots.heatmap_svg(series, s.index, lang=lang, zone=zone)))  # noqa: S704
        for s in summary.sensors[:HEATMAPS] if s.packets]
    if summary.rises:
        made["rises"] = Markup(plots.rising_ports_svg(  # noqa: S704  (our own SVG)
            series, summary.risen, lang=lang, sensor_names=names, zone=zone))
    if summary.countries and any(r.key != "—" for r in summary.countries):
        shown = [r for r in summary.countries if r.key != "—" and r.scanners][:15]
        if shown:
            made["countries"] = Markup(plots.ranking_svg(  # noqa: S704
                [r.name for r in shown], [r.scanners for r in shown], xlabel=_("Scanners")))
    return made


def _when(moment: datetime | None, zone: tzinfo) -> str:
    return "—" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _rate(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def render_html(series: pl.DataFrame, findings: Iterable[Finding], *, lang: str,
                sensors: Sequence[SensorInfo], geo: Geo | None,
                period: tuple[datetime, datetime] | None = None, zone: tzinfo = UTC,
                unique_sources: int | None = None, figures: Figures | None = None) -> str:
    """One HTML file with no scripts or external assets: it opens anywhere, offline."""
    translator(lang)    # an unknown language is refused before any work
    summary = summarise(series, findings, lang=lang, sensors=sensors, geo=geo, period=period,
                        unique_sources=unique_sources, figures=figures)
    return html_of(summary, series, lang=lang, zone=zone,
                   totals=figures.bucket_packets if figures is not None else None)


def html_of(summary: Summary, series: pl.DataFrame, *, lang: str, zone: tzinfo = UTC,
            totals: pl.DataFrame | None = None) -> str:
    """``render_html`` of a summary made already (``series``: at least the charted ports';
    ``totals``: packets per bucket of every port, when ``series`` holds only those)."""
    _ = translator(lang)
    charts = _charts(series, summary, lang, zone, totals)
    names = {s.index: s.name for s in summary.sensors}
    return _environment().get_template("report.html.j2").render(
        _=_, lang=lang, s=summary, charts=charts, zone=plots.zone_name(zone),
        when=lambda moment: _when(moment, zone), rate=_rate,
        sensor_names=lambda indexes: ", ".join(names.get(i, f"#{i}") for i in sorted(indexes)),
        tool_names=lambda tools: [TOOL_NAMES.get(t, t) for t in sorted(tools)],
        class_name=lambda name: _(CLASS_NAMES[name]) if name in CLASS_NAMES else name,
        visible=visible, top_scanners=TOP_SCANNERS, top_places=TOP_PLACES,
        notes=[_(NOTE_FINGERPRINTS), _(NOTE_BACKSCATTER)])


# ---------------------------------------------------------------- JSON


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _source_json(row: SourceRow, geo: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "src": row.src, "packets": row.packets, "ports": row.top_ports,
        "protocols": sorted(row.protocols), "packet_classes": sorted(row.classes),
        "max_unique_dsts": row.addresses, "rate_pps": row.rate_pps,
        "estimated_pps": row.estimated_pps, "fingerprints": sorted(row.tools),
        "labels": sorted(row.labels), "sensors": sorted(row.sensors),
        "first": _iso(row.first), "last": _iso(row.last),
    }
    if geo:
        out.update(row.geo.to_json())
    return out


def _place_json(row: PlaceRow) -> dict[str, object]:
    return {"key": None if row.key == "—" else row.key, "name": row.name,
            "scanners": row.scanners, "scanner_packets": row.scanner_packets,
            "victims": row.victims}


def _port_series(series: pl.DataFrame, ports: list[PortRow]) -> list[dict[str, object]]:
    """Packets per bucket (summed over sensors) of each top port, empty buckets left out."""
    data = plots.grid(series, [(p.proto, p.port) for p in ports])
    return [{"label": port.label,
             "points": [{"start": start.isoformat(), "packets": int(value)}
                        for start, value in zip(data.starts, data.values[i], strict=True)
                        if value]}
            for i, port in enumerate(ports)]


def render_json(series: pl.DataFrame, findings: Iterable[Finding], *, lang: str,
                sensors: Sequence[SensorInfo], geo: Geo | None,
                period: tuple[datetime, datetime] | None = None, zone: tzinfo = UTC,
                unique_sources: int | None = None, figures: Figures | None = None,
                ) -> dict[str, object]:
    """The report as data: keys in English, names in ``lang``, times in ISO 8601 (UTC)."""
    translator(lang)
    s = summarise(series, findings, lang=lang, sensors=sensors, geo=geo, period=period,
                  unique_sources=unique_sources, figures=figures)
    return json_of(s, series, lang=lang, zone=zone)


def json_of(s: Summary, series: pl.DataFrame, *, lang: str, zone: tzinfo = UTC,
            ) -> dict[str, object]:
    """``render_json`` of a summary made already."""
    _ = translator(lang)
    geo = s.countries is not None
    return {
        "report": "renkei.sensors.report",
        "version": 1,
        "lang": lang,
        "zone": plots.zone_name(zone),
        "period": {"start": _iso(s.start), "end": _iso(s.end), "days": s.days},
        "summary": {
            "packets": s.packets, "research_packets": s.research_packets,
            "packets_per_address_per_day": s.per_address_day,
            "peak_sources": s.peak_sources, "unique_sources": s.unique_sources,
            "scanners": len(s.scanners), "backscatter_victims": len(s.victims),
            "rises": len(s.rises), "campaigns": len(s.campaigns),
        },
        "sensors": [{"index": r.index, "name": r.name, "site": r.site,
                     "addresses": r.addresses, "packets": r.packets,
                     "packets_per_address_per_day": r.per_address_day,
                     "busiest_port": r.busiest, "scanners": r.scanners,
                     "backscatter_victims": r.victims} for r in s.sensors],
        "top_ports": [{"proto": p.proto, "port": p.port, "label": p.label,
                       "packets": p.packets, "share_percent": p.share,
                       "research_percent": p.research_share, "peak_sources": p.peak_sources,
                       "sensors": p.sensors} for p in s.ports],
        "top_ports_over_time": _port_series(series, s.ports) if not series.is_empty() else [],
        "rises": [{"port": r.label, "sensor": r.sensor, "first": _iso(r.first),
                   "last": _iso(r.last), "peak_sources": r.peak_sources,
                   "baseline": r.baseline, "threshold": r.threshold, "packets": r.packets,
                   "new": r.new} for r in s.rises],
        "campaigns": [{"port": c.label, "first": _iso(c.first), "last": _iso(c.last),
                       "sensors": c.sensors, "peak_sources": c.peak_sources,
                       "packets": c.packets} for c in s.campaigns],
        "scanners": [_source_json(r, geo) for r in s.scanners[:JSON_TOP]],
        "backscatter_victims": [_source_json(r, geo) for r in s.victims[:JSON_TOP]],
        "countries": None if s.countries is None else [_place_json(r) for r in s.countries],
        "ases": None if s.ases is None else [_place_json(r) for r in s.ases],
        "geo_sources": s.attributions,
        "notes": [_(NOTE_FINGERPRINTS), _(NOTE_BACKSCATTER)],
    }
