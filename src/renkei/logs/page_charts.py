"""The console's charts of stored alerts, drawn by the web-log report's own chart code
(``logs.charts``, and ``report``'s charts for a stored log's report)."""

from __future__ import annotations

from datetime import timedelta

from markupsafe import Markup

from renkei.core.i18n import Translate
from renkei.logs import charts, report
from renkei.logs.model import Category, ScanResult, Severity
from renkei.logs.reads import DailyCounts


def category_name(category: str, _: Translate) -> str:
    """A stored category in the reader's language (as the report names it)."""
    try:
        return _(report.CATEGORY_TEXT[Category(category)][0])
    except ValueError:
        return category


def severity_name(severity: str, _: Translate) -> str:
    """A stored severity in the reader's language."""
    try:
        return _(report.SEVERITY_NAMES[Severity(severity)])
    except (ValueError, KeyError):
        return severity


def daily_svg(counts: DailyCounts, _: Translate) -> str:
    """Alerts per day stacked by category, in the report's colours."""
    colours = {str(c): colour for c, colour in report.CATEGORY_COLORS.items()}
    layers = [charts.Series(category_name(c, _), colours.get(c, "#7f7f7f"), values)
              for c, values in counts.by_category.items()]
    return charts.timeline_svg(
        counts.days, timedelta(days=1), layers, context_starts=[], context_step=timedelta(days=1),
        context=None, ylabel=_("Alerts") + f" ({_('per day')})", context_ylabel="",
        xlabel=_("Log time") + " (UTC)")


def report_charts(result: ScanResult, _: Translate) -> dict[str, Markup]:
    """The report's two charts (attacks by category and severity; over time), as SVG, drawn
    by the report's own code rather than a copy of it."""
    return report.summary_charts(report.summarise(result), _)
