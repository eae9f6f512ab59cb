"""Charts of a web-log scan as inline SVG, so an HTML report is one self-contained file.

Text stays text (``svg.fonttype = none``): the browser draws it with its own fonts, which
is what makes Japanese labels work on a machine where matplotlib has no CJK font. The
``Figure`` API with an Agg canvas is used instead of pyplot, so no global figure state,
no ``matplotlib.use`` and no GUI backend are touched (safe in a web worker). Labels are
renkei's own words and numbers, never text taken from a log.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "renkei",  # stable element ids, so the same scan gives the same file
    "text.parse_math": False,  # a "$" in a label is a dollar sign, not TeX
    "font.family": "sans-serif",
    "font.sans-serif": [
        "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", "Meiryo",
        "IPAexGothic", "DejaVu Sans",
    ],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8a8f98",
    "axes.labelcolor": "#333333",
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "axes.grid": True,
    "grid.color": "#e4e6ea",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
}


_DECIMAL = re.compile(r"-?\d+\.\d+")


@dataclass(frozen=True, slots=True)
class Series:
    """One coloured layer of a stacked chart."""

    label: str
    color: str
    values: Sequence[int]


def to_svg(fig: Figure) -> str:
    """The ``<svg>`` element alone: no XML prolog, doctype or metadata, ready to inline."""
    FigureCanvasAgg(fig)
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font matplotlib warns per missing glyph; the browser draws them.
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    svg = re.sub(r'width="[\d.]+pt" height="[\d.]+pt" ', "", svg, count=1)
    return re.sub(r'd="([^"]*)"', _compact_path, svg)


def _compact_path(match: re.Match[str]) -> str:
    """Path data on one line with 0.1-unit precision: a third of the bytes, same picture."""
    data = _DECIMAL.sub(lambda n: f"{float(n.group()):.1f}".removesuffix(".0"), match.group(1))
    return 'd="' + " ".join(data.split()) + '"'


def _quiet_fonts() -> None:
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _steps(starts: Sequence[datetime], step: timedelta) -> list[datetime]:
    """Bucket edges for a step fill: each start, then the end of the last bucket."""
    return [*starts, starts[-1] + step]


def timeline_svg(
    starts: Sequence[datetime],
    step: timedelta,
    layers: Sequence[Series],
    *,
    context_starts: Sequence[datetime],
    context_step: timedelta,
    context: Series | None,
    ylabel: str,
    context_ylabel: str,
    xlabel: str,
) -> str:
    """Attacks per bucket stacked by category, under the site's whole traffic for context.

    Step areas rather than bars: one path per category, so a month of hourly buckets
    stays a small file.
    """
    _quiet_fonts()
    # Naive wall-clock times: matplotlib would otherwise label the axis in UTC.
    starts = [s.replace(tzinfo=None) for s in starts]
    context_starts = [s.replace(tzinfo=None) for s in context_starts]
    with matplotlib.rc_context(RC):
        has_context = context is not None and len(context_starts) > 0
        fig = Figure(figsize=(10, 4.6 if has_context else 3.4))
        if has_context:
            top, bottom = fig.subplots(
                2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2.6], "hspace": 0.25}
            )
            assert context is not None
            edges = _steps(context_starts, context_step)
            values = [*context.values, context.values[-1]]
            top.fill_between(edges, values, step="post", color=context.color, alpha=0.55,
                             linewidth=0)
            top.step(edges, values, where="post", color=context.color, linewidth=0.8)
            top.set_title(context_ylabel, loc="left", fontsize=9, color="#333333")
            top.set_ylim(bottom=0)
            top.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            top.tick_params(labelbottom=False)
        else:
            bottom = fig.subplots()
        if starts:
            edges = _steps(starts, step)
            base = [0] * (len(starts) + 1)
            for layer in layers:
                upper = [b + v for b, v in zip(base, [*layer.values, layer.values[-1]],
                                               strict=True)]
                bottom.fill_between(edges, base, upper, step="post", color=layer.color,
                                    linewidth=0, label=layer.label)
                base = upper
            bottom.set_ylim(bottom=0, top=max(1, max(base)) * 1.08)
        bottom.set_title(ylabel, loc="left", fontsize=9, color="#333333")
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts, not 0.5 attacks
        bottom.set_xlabel(xlabel)
        # matplotlib.dates has no type annotations; the calls are plain constructors.
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
            locator,
            formats=["%Y", "%m", "%m-%d", "%H:%M", "%H:%M", "%S"],
            zero_formats=["", "%Y", "%m-%d", "%m-%d", "%H:%M", "%H:%M"],
            show_offset=False,  # day boundaries already carry the date
        ))
        if layers:
            bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28 if starts else -0.2),
                          ncol=min(4, len(layers)), fontsize=8, handlelength=1.2)
        return to_svg(fig)


def stacked_bars_svg(labels: Sequence[str], layers: Sequence[Series], *, xlabel: str) -> str:
    """Horizontal bars, one per label, split into coloured layers; the first label on top."""
    _quiet_fonts()
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(8, 0.9 + 0.34 * max(1, len(labels))))
        ax = fig.subplots()
        rows = list(range(len(labels)))
        left = [0] * len(labels)
        for layer in layers:
            ax.barh(rows, layer.values, left=left, color=layer.color, label=layer.label,
                    height=0.66)
            left = [a + b for a, b in zip(left, layer.values, strict=True)]
        for row, total in zip(rows, left, strict=True):
            ax.annotate(f"{total:,}", (total, row), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8, color="#333333")
        ax.set_yticks(rows, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max(1, max(left, default=1)) * 1.12)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right", fontsize=8, ncol=len(layers), handlelength=1.2,
                  bbox_to_anchor=(1.0, 1.0))
        return to_svg(fig)
