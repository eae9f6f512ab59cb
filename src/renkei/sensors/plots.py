"""Charts of darknet observations: SVG for reports, rich renderables for the terminal.

What an analyst looks at first: which ports are probed and how that changes over time
(top ports), when each port is busy at each sensor (heat map of ports × time buckets),
which ports rose beyond their own baseline, and where the scanners are (countries, AS).
The SVG charts use ``logs.charts`` (its rc settings keep text as text, so Japanese labels
are drawn by the browser's fonts even where matplotlib has no CJK font); the heat map is
a small embedded raster, since a month of hourly cells as vector shapes would be megabytes.
Every function takes the series table of ``series.series`` and a language; labels are
renkei's words, except sensor names, which are shown through ``visible``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
import polars as pl
from babel import Locale
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from renkei.core.i18n import Translate, gettext_noop, translator
from renkei.core.text import visible
from renkei.logs import charts
from renkei.logs.report import bar, format_offset, sparkline
from renkei.sensors.findings import Finding, FindingKind, protocol_name

PORT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#17becf", "#bcbd22", "#393b79")
OTHER_COLOR = "#c7ccd1"
MAX_BUCKETS = 2000      # columns of a chart; longer series are merged into wider buckets
_SHADES = " ░▒▓█"
Counts = npt.NDArray[np.float64]

MEASURES = {
    "packets": gettext_noop("Packets"),
    "sources": gettext_noop("Unique sources"),
}


def port_label(proto: int, port: int) -> str:
    """``23/tcp``, ``53/udp``; ICMP and other protocols have no port: ``icmp``."""
    name = protocol_name(proto)
    return f"{port}/{name}" if name in ("tcp", "udp") else name


def country_name(code: str | None, lang: str) -> str:
    """The country's name in ``lang`` (Babel's CLDR data), else its code."""
    if not code:
        return "—"
    name = Locale(lang).territories.get(code.upper())
    return f"{name} ({code})" if name else code


@dataclass(frozen=True, slots=True)
class Grid:
    """Counts per (row, time bucket) on a dense time axis in the display zone."""

    starts: list[datetime]
    step: timedelta
    rows: list[tuple[int, int]]     # (proto, port) per row
    values: Counts                  # rows × buckets


def _value(measure: str) -> pl.Expr:
    if measure == "packets":
        return pl.col("packets").cast(pl.Float64)
    if measure == "sources":
        return (pl.col("sources").cast(pl.Float64)
                - pl.col("research_sources").cast(pl.Float64))
    raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")


def top_ports(series: pl.DataFrame, top: int = 10, *, sensor: int | None = None) -> pl.DataFrame:
    """The ``top`` (proto, port) by packets: packets, research_packets, peak_sources (the most
    unique sources at one sensor in one bucket; sources do not add across them), sensors."""
    frame = series if sensor is None else series.filter(pl.col("sensor") == sensor)
    return (frame.group_by("proto", "port")
            .agg(pl.col("packets").sum(), pl.col("research_packets").sum(),
                 pl.col("sources").max().alias("peak_sources"),
                 pl.col("sensor").n_unique().alias("sensors"))
            .sort(["packets", "proto", "port"], descending=[True, False, False])
            .head(top))


def grid(series: pl.DataFrame, rows: Sequence[tuple[int, int]], *, measure: str = "packets",
         sensor: int | None = None, zone: tzinfo = UTC,
         span: tuple[int, int] | None = None) -> Grid:
    """The measure per chosen (proto, port) and bucket, summed over sensors (or one), from
    the series' first bucket to its last, or over ``span`` (first and last bucket start in
    ns, which must hold the series' buckets)."""
    frame = series if sensor is None else series.filter(pl.col("sensor") == sensor)
    if series.is_empty():
        return Grid([], timedelta(hours=1), list(rows), np.zeros((len(rows), 0)))
    step_s = int(series["width"][0])
    ns = series["bucket"].dt.epoch("ns")
    first, last = span if span is not None else (int(ns.min()), int(ns.max()))  # type: ignore[arg-type]
    count = (last - first) // (step_s * 10**9) + 1
    merge = -(-count // MAX_BUCKETS)
    step_s *= merge
    count = -(-count // merge)
    values = np.zeros((len(rows), count))
    index = {row: i for i, row in enumerate(rows)}
    chosen = frame.with_columns(_value(measure).alias("_v"),
                                pl.col("bucket").dt.epoch("ns").alias("_ns"))
    for (proto, port), part in chosen.group_by("proto", "port"):
        row = index.get((int(proto), int(port)))
        if row is None:
            continue
        t = (part["_ns"].to_numpy() - first) // (step_s * 10**9)
        np.add.at(values[row], t, part["_v"].to_numpy())
    start = datetime.fromtimestamp(first / 1e9, UTC).astimezone(zone)
    step = timedelta(seconds=step_s)
    return Grid([start + i * step for i in range(count)], step, list(rows), values)


def _per(step: timedelta, _: Translate) -> str:
    if step == timedelta(minutes=5):
        return _("per 5 minutes")
    if step == timedelta(hours=1):
        return _("per hour")
    if step == timedelta(days=1):
        return _("per day")
    return _("per {minutes} minutes").format(minutes=int(step.total_seconds() // 60))


def zone_name(zone: tzinfo) -> str:
    """``UTC+09:00``, as the web-log report names a zone (its offset now)."""
    return format_offset(timezone(datetime.now(zone).utcoffset() or timedelta(0)))


def _time_label(zone: tzinfo, _: Translate) -> str:
    return _("Time") + f" ({zone_name(zone)})"


def _totals_rest(totals: pl.DataFrame, data: Grid, first: int) -> Counts:
    """Packets per grid bucket of every port (``totals``: bucket, packets) less the
    grid's rows."""
    step_ns = int(data.step.total_seconds()) * 10**9
    whole = np.zeros(len(data.starts))
    t = (totals["bucket"].dt.epoch("ns").to_numpy() - first) // step_ns
    np.add.at(whole, t, totals["packets"].cast(pl.Float64).to_numpy())
    rest: Counts = np.maximum(whole - data.values.sum(axis=0), 0.0)
    return rest


def top_ports_svg(series: pl.DataFrame, *, lang: str = "en", top: int = 8,
                  measure: str = "packets", zone: tzinfo = UTC,
                  totals: pl.DataFrame | None = None) -> str:
    """The busiest ports over time, stacked, with every other port as one grey layer.

    A caller whose ``series`` holds only some ports (a report of the store) gives the
    packets per bucket of every port as ``totals`` (bucket, packets): the grey layer is
    then the rest of those."""
    _ = translator(lang)
    chosen = [(int(r["proto"]), int(r["port"]))
              for r in top_ports(series, top).iter_rows(named=True)]
    if (totals is not None and measure == "packets" and not totals.is_empty()
            and not series.is_empty()):
        ns = [*series["bucket"].dt.epoch("ns").to_list(),
              *totals["bucket"].dt.epoch("ns").to_list()]
        span = (min(ns), max(ns))
        data = grid(series, chosen, zone=zone, span=span)
        rest = _totals_rest(totals, data, span[0])
        others = True
    else:
        everything = series.select("proto", "port").unique().rows()
        data = grid(series, [*chosen, *(r for r in everything if r not in chosen)],
                    measure=measure, zone=zone)
        rest = data.values[len(chosen):].sum(axis=0)
        others = len(data.rows) > len(chosen)
    layers = [charts.Series(port_label(*row), PORT_COLORS[i % len(PORT_COLORS)],
                            [round(v) for v in data.values[i]])
              for i, row in enumerate(chosen)]
    if others and rest.any():
        layers.append(charts.Series(_("Other ports"), OTHER_COLOR, [round(v) for v in rest]))
    return charts.timeline_svg(
        data.starts, data.step, layers, context_starts=[], context_step=data.step,
        context=None, ylabel=f"{_(MEASURES[measure])} ({_per(data.step, _)})",
        context_ylabel="", xlabel=_time_label(zone, _))


def _date_axis(ax: object) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    formatter = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, formats=["%Y", "%m", "%m-%d", "%H:%M", "%H:%M", "%S"],
        zero_formats=["", "%Y", "%m-%d", "%m-%d", "%H:%M", "%H:%M"], show_offset=False)
    axis = ax.xaxis  # type: ignore[attr-defined]
    axis.set_major_locator(locator)
    axis.set_major_formatter(formatter)


def heatmap_svg(series: pl.DataFrame, sensor: int, *, lang: str = "en", top: int = 20,
                title: str = "", zone: tzinfo = UTC) -> str:
    """One sensor's busiest ports (rows) over time buckets (columns), packets on a log
    colour scale so that a quiet port's bursts still show next to telnet's flood."""
    _ = translator(lang)
    rows = [(int(r["proto"]), int(r["port"]))
            for r in top_ports(series, top, sensor=sensor).iter_rows(named=True)]
    data = grid(series, rows, sensor=sensor, zone=zone)
    charts._quiet_fonts()
    with matplotlib.rc_context(charts.RC):
        fig = Figure(figsize=(10, 1.2 + 0.22 * max(len(rows), 3)))
        ax = fig.subplots()
        ax.grid(visible=False)
        if rows and data.starts:
            naive = [s.replace(tzinfo=None) for s in data.starts]
            left = mdates.date2num(naive[0])  # type: ignore[no-untyped-call]
            right = mdates.date2num(naive[-1] + data.step)  # type: ignore[no-untyped-call]
            shown = np.ma.masked_less_equal(data.values, 0)
            image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="magma_r",
                              norm=LogNorm(vmin=1, vmax=max(1.0, float(data.values.max()))),
                              extent=(left, right, len(rows) - 0.5, -0.5))
            ax.set_yticks(range(len(rows)), [port_label(*r) for r in rows])
            _date_axis(ax)
            scale = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.03)
            scale.set_label(f"{_('Packets')} ({_per(data.step, _)})")
            # Plain numbers: with TeX parsing off, the default 10^n labels print as source.
            scale.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
            scale.ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(visible(title), loc="left", fontsize=9, color="#333333")
        ax.set_xlabel(_time_label(zone, _))
        return charts.to_svg(fig)


def rising_ports_svg(series: pl.DataFrame, rises: Sequence[Finding], *, lang: str = "en",
                     top: int = 6, sensor_names: dict[int, str] | None = None,
                     zone: tzinfo = UTC) -> str:
    """One small panel per risen port: its unique sources per bucket at each sensor where it
    rose (research scanners left out, as the rise test does), each rise a dot over the
    threshold it beat (a short dash)."""
    _ = translator(lang)
    names = sensor_names or {}
    found = [f for f in rises if f.kind is FindingKind.RISE]
    peaks: dict[tuple[str, int], int] = {}
    for f in found:
        key = (f.protocol, f.ports[0] if f.ports else 0)
        peaks[key] = max(peaks.get(key, 0), f.unique_srcs)
    chosen = sorted(peaks, key=lambda k: (-peaks[k], k))[:top]
    charts._quiet_fonts()
    with matplotlib.rc_context(charts.RC):
        columns = 2 if len(chosen) > 1 else 1
        lines = max(1, -(-len(chosen) // columns))
        fig = Figure(figsize=(10, 0.4 + 2.1 * lines), layout="constrained")
        axes = fig.subplots(lines, columns, squeeze=False)
        protos = {protocol_name(p): p for p in series["proto"].unique().to_list()} \
            if not series.is_empty() else {}
        for ax, (protocol, port) in zip(axes.flat, chosen, strict=False):
            proto = protos.get(protocol)
            mine = [f for f in found if f.protocol == protocol
                    and (f.ports[0] if f.ports else 0) == port]
            sensors = sorted({f.sensor for f in mine if f.sensor is not None})[:4]
            for i, sensor in enumerate(sensors):
                color = PORT_COLORS[i % len(PORT_COLORS)]
                label = visible(names.get(sensor, f"#{sensor}"))
                if proto is not None:
                    data = grid(series, [(proto, port)], measure="sources", sensor=sensor,
                                zone=zone)
                    if data.starts:
                        edges = [s.replace(tzinfo=None) for s in data.starts]
                        ax.step([*edges, edges[-1] + data.step],
                                [*data.values[0], data.values[0][-1]], where="post",
                                color=color, linewidth=1.0, label=label)
                for f in (f for f in mine if f.sensor == sensor):
                    moment = f.first.astimezone(zone).replace(tzinfo=None)
                    ax.plot([moment], [f.unique_srcs], "o", color=color, markersize=4)
                    if f.threshold is not None:
                        ax.plot([moment], [f.threshold], "_", color="#333333", markersize=9)
            ax.set_title(f"{port}/{protocol}" if protocol in ("tcp", "udp") else protocol,
                         loc="left", fontsize=9, fontweight="bold")
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            _date_axis(ax)
            ax.legend(loc="upper left", fontsize=7, handlelength=1.0)
        for ax in list(axes.flat)[len(chosen):]:
            ax.set_visible(False)
        fig.supylabel(_("Unique sources (research scanners left out)"), fontsize=8)
        fig.supxlabel(_time_label(zone, _), fontsize=8)
        return charts.to_svg(fig)


def ranking_svg(labels: Sequence[str], values: Sequence[int], *, xlabel: str,
                color: str = "#4c72b0") -> str:
    """Horizontal bars, largest first (countries, AS), through ``logs.charts``."""
    return charts.stacked_bars_svg([visible(label) for label in labels],
                                   [charts.Series(xlabel, color, list(values))], xlabel=xlabel)


# ---------------------------------------------------------------- terminal


def top_ports_table(series: pl.DataFrame, *, lang: str = "en", top: int = 10,
                    width: int = 24, zone: tzinfo = UTC) -> Table:
    """The busiest ports with a bar for their share and a sparkline of packets over time."""
    _ = translator(lang)
    ports = top_ports(series, top)
    rows = [(int(r["proto"]), int(r["port"])) for r in ports.iter_rows(named=True)]
    data = grid(series, rows, zone=zone)
    total = max(1, int(series["packets"].sum())) if not series.is_empty() else 1
    table = Table(title=_("Top ports"), title_justify="left", title_style="bold", box=None,
                  pad_edge=False)
    table.add_column(_("Port"), no_wrap=True)
    table.add_column(_("Packets"), justify="right", min_width=cell_len(_("Packets")))
    table.add_column(_("Share"), justify="right", min_width=cell_len(_("Share")))
    table.add_column("", min_width=width, no_wrap=True)
    table.add_column(_("Peak sources"), justify="right", min_width=cell_len(_("Peak sources")))
    table.add_column(_("Over time"), no_wrap=True)
    most = int(ports["packets"].max() or 1) if ports.height else 1  # type: ignore[arg-type]
    for i, row in enumerate(ports.iter_rows(named=True)):
        packets = int(row["packets"])
        table.add_row(port_label(row["proto"], row["port"]), f"{packets:,}",
                      f"{100 * packets / total:.1f}%",
                      Text(bar(packets, most, width), style="magenta"),
                      f"{int(row['peak_sources']):,}",
                      sparkline([int(v) for v in data.values[i]], width, style="cyan"))
    return table


def heatmap_text(series: pl.DataFrame, sensor: int, *, lang: str = "en", top: int = 10,
                 width: int = 60, zone: tzinfo = UTC) -> Text:
    """A text heat map of one sensor: a row per port, a cell per group of buckets, shaded
    by packets on a log scale; an idle cell is a dim dot, so quiet never looks busy."""
    _ = translator(lang)
    rows = [(int(r["proto"]), int(r["port"]))
            for r in top_ports(series, top, sensor=sensor).iter_rows(named=True)]
    data = grid(series, rows, sensor=sensor, zone=zone)
    text = Text()
    if not rows or not data.starts:
        return text.append(_("No packets at this sensor."), style="dim")
    size = -(-len(data.starts) // width)
    cells = np.add.reduceat(data.values, np.arange(0, len(data.starts), size), axis=1)
    scale = np.log1p(cells) / np.log1p(max(1.0, float(cells.max())))
    labels = [port_label(*r) for r in rows]
    pad = max(cell_len(label) for label in labels)
    for label, line in zip(labels, scale, strict=True):
        text.append(label.rjust(pad) + " ", style="bold")
        for value in line:
            if value <= 0:
                text.append("·", style="dim")
            else:
                shade = _SHADES[min(4, 1 + int(value * 3.999))]
                text.append(shade, style="red" if value > 0.75 else "yellow")
        text.append("\n")
    end = data.starts[-1] + data.step
    text.append(" " * (pad + 1) + data.starts[0].strftime("%Y-%m-%d %H:%M") + " → "
                + end.strftime("%Y-%m-%d %H:%M") + f" ({zone_name(zone)})", style="dim")
    return text
