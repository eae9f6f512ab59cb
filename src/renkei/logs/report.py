"""Reports of a web-log attack scan (renkei's iLogScanner report), in English or Japanese.

One summary (:func:`summarise`) feeds four outputs: a short terminal summary for whoever
ran the scan, one self-contained HTML file for the site's operator, and CSV and JSON with
every finding for a SOC's tools. Everything a log line carries is attacker-controlled:
HTML is autoescaped (and a CSP forbids scripts anyway), terminal text is shown with control
and bidi characters made visible, and CSV cells cannot start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from rich.cells import cell_len
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from renkei.core.i18n import Translate, gettext_noop, translator
from renkei.core.text import visible
from renkei.logs import charts
from renkei.logs.model import Category, Finding, ScanResult, Severity, file_name

CATEGORY_TEXT: dict[Category, tuple[str, str]] = {
    Category.SQLI: (
        gettext_noop("SQL injection"),
        gettext_noop("SQL written into a parameter to read, change or delete the site's "
                     "database, or to get past a login."),
    ),
    Category.XSS: (
        gettext_noop("Cross-site scripting"),
        gettext_noop("Script or HTML sent so that the site echoes it into other visitors' "
                     "browsers, to steal their sessions or deface pages."),
    ),
    Category.CMDI: (
        gettext_noop("OS command injection"),
        gettext_noop("Shell commands hidden in a parameter so that the server runs them."),
    ),
    Category.TRAVERSAL: (
        gettext_noop("Directory traversal"),
        gettext_noop("Paths such as ../ used to read files outside the web root, such as "
                     "password and configuration files."),
    ),
    Category.RFI: (
        gettext_noop("Remote file inclusion"),
        gettext_noop("The URL of the attacker's file given where the application includes "
                     "a file, so that it loads and runs the attacker's code."),
    ),
    Category.CODE_INJECTION: (
        gettext_noop("Code injection"),
        gettext_noop("Program code (PHP, expression languages and the like) sent for the "
                     "application to evaluate."),
    ),
    Category.JAVA: (
        gettext_noop("Attacks on Java applications"),
        gettext_noop("Exploits of Java frameworks and libraries: Log4Shell (JNDI lookups), "
                     "Struts OGNL, Spring4Shell, unsafe deserialisation."),
    ),
    Category.SHELLSHOCK: (
        gettext_noop("Shellshock"),
        gettext_noop("A bash function definition, () { :; };, put in a header to run "
                     "commands through CGI scripts (CVE-2014-6271)."),
    ),
    Category.SSTI: (
        gettext_noop("Server-side template injection"),
        gettext_noop("Template expressions such as ${...} or #{...} sent for the server's "
                     "template engine to evaluate; often leads to running code."),
    ),
    Category.SCANNER: (
        gettext_noop("Scanners and probing"),
        gettext_noop("Vulnerability scanners and other automated tools, known by their "
                     "user agent or their typical requests, mapping the site for weaknesses."),
    ),
    Category.SENSITIVE_FILE: (
        gettext_noop("Access to sensitive files"),
        gettext_noop("Requests for files that should never be public: .env, .git, backups, "
                     "configuration, database dumps, administration pages."),
    ),
    Category.BRUTE_FORCE: (
        gettext_noop("Brute force"),
        gettext_noop("Many login attempts from one source in a short time, to guess "
                     "passwords."),
    ),
    Category.ERROR_ANOMALY: (
        gettext_noop("Error bursts and anomalies"),
        gettext_noop("Unusual bursts of error responses (4xx, 5xx) for one source: a sign "
                     "of probing, or of an attack that breaks the application."),
    ),
}

SEVERITY_NAMES: dict[Severity, str] = {
    Severity.CRITICAL: gettext_noop("Critical"),
    Severity.HIGH: gettext_noop("High"),
    Severity.MEDIUM: gettext_noop("Medium"),
    Severity.LOW: gettext_noop("Low"),
    Severity.INFO: gettext_noop("Info"),
}
SEVERITIES = sorted(Severity, key=lambda s: s.rank, reverse=True)  # most severe first
SEVERITY_COLORS: dict[Severity, str] = {
    Severity.CRITICAL: "#8e1b2e",
    Severity.HIGH: "#d9480f",
    Severity.MEDIUM: "#f0a202",
    Severity.LOW: "#5c93c4",
    Severity.INFO: "#9aa3ad",
}
CATEGORY_COLORS: dict[Category, str] = dict(zip(Category, (
    "#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#bcbd22", "#17becf", "#7f7f7f", "#aec7e8", "#ff9896", "#c5b0d5",
), strict=True))
RICH_SEVERITY_STYLES: dict[Severity, str] = {
    Severity.CRITICAL: "bold white on dark_red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
OUTCOME_NAMES: dict[bool | None, str] = {
    True: gettext_noop("may have succeeded"),
    False: gettext_noop("probably failed"),
    None: gettext_noop("unknown"),
}
UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 1500  # a bogus year-1970 timestamp must not make a 20,000-day chart

TABLE_LIMIT = 2000  # findings rows in the HTML; the CSV and JSON carry every finding
SUCCEEDED_LIMIT = 500
ISSUE_SAMPLES_SHOWN = 50
TOP_SOURCES = 20
JSON_TOP_SOURCES = 100
TEXT_LIMIT = 240  # characters of a request, user agent or sample shown in HTML
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")  # full-width too
CSV_COLUMNS = (
    "file", "line", "category", "rule", "rule_title", "severity", "succeeded", "src", "time",
    "method", "target", "status", "size", "user_agent", "field", "fragment", "reason", "count",
    "engine",
)



# ---------------------------------------------------------------- the summary


@dataclass(frozen=True, slots=True)
class CategoryRow:
    category: Category
    findings: int
    succeeded: int
    by_severity: dict[Severity, int]


@dataclass(slots=True)
class SourceRow:
    src: str
    findings: int = 0
    succeeded: int = 0
    categories: Counter[Category] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """Findings per bucket (a minute, hour or day, chosen by the span) and requests per hour
    (per bucket for long spans) as context, in the logs' own UTC offset."""

    unit: str
    step: timedelta
    tz: timezone
    starts: list[datetime]
    attacks: dict[Category, list[int]]
    request_step: timedelta
    request_starts: list[datetime]
    requests: list[int]

    @property
    def totals(self) -> list[int]:
        return [sum(column) for column in zip(*self.attacks.values(), strict=True)] or [
            0 for _ in self.starts
        ]


@dataclass(frozen=True, slots=True)
class ReportSummary:
    files: int
    lines: int
    parsed: int
    skipped: int
    bytes_read: int
    seconds: float
    findings: int
    sources: int
    succeeded: int
    stored: int
    categories: list[CategoryRow]
    severities: dict[Severity, int]
    top_sources: list[SourceRow]
    succeeded_findings: list[Finding]
    first_seen: datetime | None
    last_seen: datetime | None
    zone: timezone  # the logs' own UTC offset, in which the report gives every time
    timeline: Timeline | None
    issue_counts: list[tuple[str, int]]


def _aware(moment: datetime) -> datetime:
    """Naive times are taken as UTC, so they compare and bucket with the others."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if unit in ("hour", "day"):
        moment = moment.replace(minute=0)
    if unit == "day":
        moment = moment.replace(hour=0)
    return moment


def _display_zone(findings: Iterable[Finding]) -> timezone:
    """The first offset found in the logs: a Tokyo site's report speaks Tokyo time."""
    for finding in findings:
        if finding.time is not None and (offset := finding.time.utcoffset()) is not None:
            return timezone(offset)
    return UTC


def _unit_for(span: timedelta) -> str:
    """Minutes for an incident-sized window, hours up to a month, days beyond: a few
    hundred buckets at most, whatever the logs cover."""
    if span <= timedelta(hours=6):
        return "minute"
    return "hour" if span <= timedelta(days=31) else "day"


def build_timeline(result: ScanResult) -> Timeline | None:
    """Dense buckets over the scanned period; ``None`` when nothing carries a time."""
    timed = [(_aware(f.time), f.category) for f in result.findings if f.time is not None]
    hours = sorted(h for h, n in result.requests_per_hour.items() if n > 0)
    if not timed and not hours:
        return None
    zone = _display_zone(result.findings)
    moments = [t for t, _ in timed]
    if hours:
        moments.append(datetime.fromtimestamp(hours[0] * 3600, UTC))
        moments.append(datetime.fromtimestamp(hours[-1] * 3600 + 3599, UTC))
    low, high = min(moments).astimezone(zone), max(moments).astimezone(zone)
    unit = _unit_for(high - low)
    step = UNITS[unit]
    start = _floor(low, unit)
    count = (_floor(high, unit) - start) // step + 1
    if count > MAX_BUCKETS:  # only in days: years of logs, or a nonsense timestamp
        step *= -(-count // MAX_BUCKETS)
        count = (_floor(high, unit) - start) // step + 1
    starts = [start + i * step for i in range(count)]
    attacks: dict[Category, list[int]] = {}
    for moment, category in sorted(timed, key=lambda item: list(Category).index(item[1])):
        index = (_floor(moment.astimezone(zone), unit) - start) // step
        attacks.setdefault(category, [0] * count)[index] += 1
    request_step = step if unit == "day" else UNITS["hour"]
    request_starts: list[datetime] = []
    requests: list[int] = []
    if hours and unit != "day":
        request_starts = [datetime.fromtimestamp(h * 3600, UTC).astimezone(zone)
                          for h in range(hours[0], hours[-1] + 1)]
        requests = [result.requests_per_hour.get(h, 0) for h in range(hours[0], hours[-1] + 1)]
    elif hours:
        request_starts, requests = starts, [0] * count
        for hour in hours:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone)
            requests[(_floor(moment, "day") - start) // step] += result.requests_per_hour[hour]
    return Timeline(unit, step, zone, starts, attacks, request_step, request_starts, requests)


def per(step: timedelta, _: Translate) -> str:
    """How a chart's counts are bucketed, in words."""
    if step == UNITS["minute"]:
        return _("per minute")
    if step == UNITS["hour"]:
        return _("per hour")
    if step == UNITS["day"]:
        return _("per day")
    return _("per {days} days").format(days=step.days)


def _severity_key(finding: Finding) -> tuple[int, bool, datetime, str, int]:
    """Most severe first, a possible success before the rest, then in time order."""
    moment = _aware(finding.time) if finding.time else datetime.max.replace(tzinfo=UTC)
    return (-finding.severity.rank, finding.succeeded is not True, moment, finding.file,
            finding.line)


def summarise(result: ScanResult, top: int = TOP_SOURCES) -> ReportSummary:
    """Everything the four outputs show, computed once from the scan's findings."""
    by_category = {c: Counter[Severity]() for c in Category}
    succeeded_by_category = Counter[Category]()
    sources: dict[str, SourceRow] = {}
    first: datetime | None = None
    last: datetime | None = None
    for finding in result.findings:
        by_category[finding.category][finding.severity] += 1
        row = sources.setdefault(finding.src, SourceRow(finding.src))
        row.findings += 1
        row.categories[finding.category] += 1
        if finding.succeeded is True:
            succeeded_by_category[finding.category] += 1
            row.succeeded += 1
        if finding.time is not None:
            moment = _aware(finding.time)
            row.first = moment if row.first is None else min(row.first, moment)
            row.last = moment if row.last is None else max(row.last, moment)
            first = moment if first is None else min(first, moment)
            last = moment if last is None else max(last, moment)
    categories = [
        CategoryRow(c, sum(by_category[c].values()), succeeded_by_category[c],
                    {s: by_category[c][s] for s in SEVERITIES})
        for c in Category
    ]
    severities = {s: sum(row.by_severity[s] for row in categories) for s in SEVERITIES}
    top_sources = sorted(sources.values(), key=lambda r: (-r.findings, -r.succeeded, r.src))
    succeeded = sorted((f for f in result.findings if f.succeeded is True), key=_severity_key)
    return ReportSummary(
        files=len(result.files),
        lines=result.lines,
        parsed=sum(f.parsed for f in result.files),
        skipped=sum(f.skipped for f in result.files),
        bytes_read=sum(f.bytes_read for f in result.files),
        seconds=result.seconds,
        findings=len(result.findings),
        sources=len(sources),
        succeeded=len(succeeded),
        stored=result.stored,
        categories=categories,
        severities=severities,
        top_sources=top_sources[:top],
        succeeded_findings=succeeded,
        first_seen=first,
        last_seen=last,
        zone=_display_zone(result.findings),
        timeline=build_timeline(result),
        issue_counts=result.issue_counts.most_common(),
    )


# ---------------------------------------------------------------- text helpers




def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_time(moment: datetime | None, zone: timezone, *, seconds: bool = True) -> str:
    """A time in the report's one zone, which is named once in its header."""
    if moment is None:
        return "—"
    return _aware(moment).astimezone(zone).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_offset(zone: timezone) -> str:
    offset = zone.utcoffset(None)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def highlight(text: str, fragment: str, limit: int = TEXT_LIMIT) -> Markup:
    """Escaped text with the matched fragment in ``<mark>``, clipped around the match."""
    text = visible(text)
    match = _find(text, visible(fragment))
    if match is None:
        return escape(clip(text, limit))
    where, after = match.span()
    begin = max(0, min(where - limit // 4, len(text) - limit)) if len(text) > limit else 0
    end = min(len(text), max(begin + limit, after))
    head = ("…" if begin else "") + text[begin:where]
    tail = text[after:end] + ("…" if end < len(text) else "")
    return Markup("{}<mark>{}</mark>{}").format(head, clip(match.group(), limit), tail)


def _find(text: str, fragment: str) -> re.Match[str] | None:
    """Case-blind, as the rules match lower-cased text; ``None`` for an empty fragment."""
    return re.search(re.escape(fragment), text, re.IGNORECASE) if fragment else None


# ---------------------------------------------------------------- terminal


_BLOCKS = " ▏▎▍▌▋▊▉█"
_SPARKS = "▁▂▃▄▅▆▇█"


def bar(value: int, most: int, width: int) -> str:
    """A horizontal bar in eighths of a character cell."""
    if most <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / most * width * 8))
    return "█" * (eighths // 8) + (_BLOCKS[eighths % 8] if eighths % 8 else "")


def sparkline(values: Sequence[int], width: int, style: str = "magenta") -> Text:
    """Values merged into at most ``width`` cells; an empty cell is a dim floor, so a quiet
    hour never looks like a small attack."""
    line = Text()
    if not values:
        return line
    size = -(-len(values) // width)
    cells = [sum(values[i:i + size]) for i in range(0, len(values), size)]
    most = max(cells)
    for value in cells:
        if value == 0:
            line.append(_SPARKS[0], style="dim")
        else:
            line.append(_SPARKS[1 + (value - 1) * 7 // most], style=style)
    return line


def _facts(summary: ReportSummary, _: Translate) -> Text:
    facts = Text()
    for label, value in (
        (_("Files"), f"{summary.files:,}"),
        (_("Lines"), f"{summary.lines:,}"),
        (_("Parsed"), f"{summary.parsed:,}"),
        (_("Skipped"), f"{summary.skipped:,}"),
        (_("Scan time"), f"{summary.seconds:,.1f} s"),
    ):
        facts.append(f"{label} ", style="dim").append(value, style="bold").append("   ")
    facts.append("\n")
    for label, count, style in (
        (_("Findings"), summary.findings, "bold"),
        (_("Sources"), summary.sources, "bold"),
        (_("May have succeeded"), summary.succeeded,
         "bold red" if summary.succeeded else "bold green"),
    ):
        facts.append(f"{label} ", style="dim").append(f"{count:,}", style=style).append("   ")
    if summary.first_seen and summary.last_seen:
        zone = summary.zone
        facts.append(f"\n{_('Attacks seen')} ", style="dim").append(
            f"{local_time(summary.first_seen, zone, seconds=False)} – "
            f"{local_time(summary.last_seen, zone, seconds=False)} ({format_offset(zone)})")
    return facts


def _succeeded_table(summary: ReportSummary, _: Translate, room: int) -> Table:
    """Category over request in one cell, clipped to the ``room`` left: rich, left to shrink
    no-wrap columns itself, silently drops some of them on a narrow terminal."""
    shown = summary.succeeded_findings[:10]
    sources = [Text(visible(f.src)) for f in shown]
    widths = [16, min(24, max(cell_len(_("Source")), *(s.cell_len for s in sources))),
              max(3, cell_len(_("Status")))]
    left = max(20, room - sum(widths) - 2 * len(widths))
    table = Table(title=_("Attacks that may have succeeded"), title_style="bold red",
                  title_justify="left", box=None, pad_edge=False, header_style="bold red")
    headers = (_("Time"), _("Source"), _("Status"), f"{_('Category')} / {_('Request')}")
    for header, width in zip(headers, [*widths, left], strict=True):
        table.add_column(header, no_wrap=True, overflow="ellipsis", width=width,
                         justify="right" if header == _("Status") else "left")
    for finding, source in zip(shown, sources, strict=True):
        attack = Text(_(CATEGORY_TEXT[finding.category][0]), style="bold")
        attack.truncate(left, overflow="ellipsis")
        request = Text(visible(f"{finding.method} {finding.target}"))
        request.truncate(left, overflow="ellipsis")
        table.add_row(local_time(finding.time, summary.zone, seconds=False), source,
                      str(finding.status or "—"), Text("\n").join([attack, request]))
    if summary.succeeded > len(shown):
        table.caption = _("and {count} more in the HTML, CSV and JSON reports").format(
            count=f"{summary.succeeded - len(shown):,}")
        table.caption_justify = "left"
    return table


def _category_table(summary: ReportSummary, _: Translate, width: int) -> Table:
    table = Table(title=_("Findings by category"), title_justify="left", title_style="bold",
                  box=None, pad_edge=False)
    table.add_column(_("Category"), ratio=1)
    table.add_column(_("Findings"), justify="right", min_width=cell_len(_("Findings")))
    table.add_column("", min_width=width, no_wrap=True)
    table.add_column(_("May have succeeded"), justify="right",
                     min_width=cell_len(_("May have succeeded")))
    rows = sorted((r for r in summary.categories if r.findings), key=lambda r: -r.findings)
    for row in rows:
        worst = next(s for s in SEVERITIES if row.by_severity[s])
        table.add_row(_(CATEGORY_TEXT[row.category][0]), f"{row.findings:,}",
                      Text(bar(row.findings, rows[0].findings, width),
                           style=RICH_SEVERITY_STYLES[worst]),
                      Text(f"{row.succeeded:,}", style="bold red") if row.succeeded else "")
    return table


def _sources_table(summary: ReportSummary, _: Translate, width: int) -> Table:
    table = Table(title=_("Top attacking sources"), title_justify="left", title_style="bold",
                  box=None, pad_edge=False)
    table.add_column(_("Source"), no_wrap=True, min_width=15, max_width=40, overflow="ellipsis")
    table.add_column(_("Findings"), justify="right", min_width=cell_len(_("Findings")))
    table.add_column("", min_width=width, no_wrap=True)
    table.add_column(_("Categories"), ratio=1)
    most = summary.top_sources[0].findings
    for source in summary.top_sources:
        table.add_row(Text(visible(source.src)), f"{source.findings:,}",
                      Text(bar(source.findings, most, width), style="magenta"),
                      ", ".join(str(c) for c, _n in source.categories.most_common(4)))
    return table


def print_summary(result: ScanResult, console: Console, lang: str) -> None:
    """A screenful for whoever ran the scan: what was read, what was found, what to look at
    first. Log text is shown through ``visible``: it must not drive the terminal."""
    _ = translator(lang)
    summary = summarise(result, top=5)
    width = max(10, min(30, console.width - 70))
    parts: list[Table | Text] = [_facts(summary, _)]
    if summary.succeeded:
        parts += [Text(), _succeeded_table(summary, _, console.width - 4)]  # panel edges
    if summary.findings:
        parts += [Text(), _category_table(summary, _, width)]
        severity_line = Text(f"{_('Severity')}  ", style="dim")
        for severity in SEVERITIES:
            if summary.severities[severity]:
                severity_line.append(f"{_(SEVERITY_NAMES[severity])} ",
                                     style=RICH_SEVERITY_STYLES[severity])
                severity_line.append(f"{summary.severities[severity]:,}   ")
        parts.append(severity_line)
        timeline = summary.timeline
        if timeline and timeline.attacks:
            line = Text(f"\n{_('Attacks over time')} ({per(timeline.step, _)})\n",
                        style="bold")
            line.append(local_time(timeline.starts[0], timeline.tz, seconds=False) + " ",
                        style="dim")
            line.append_text(sparkline(timeline.totals, max(10, console.width - 40)))
            line.append(" " + local_time(timeline.starts[-1] + timeline.step, timeline.tz,
                                         seconds=False), style="dim")
            parts.append(line)
        parts += [Text(), _sources_table(summary, _, width)]
    else:
        parts += [Text(), Text(_("No attack signs were found."), style="bold green")]
    if summary.issue_counts:
        line = Text(f"\n{_('Lines skipped or repaired, by reason')}", style="bold")
        for reason, count in summary.issue_counts[:5]:
            line.append(f"\n  {count:>9,}  ", style="yellow").append(visible(_(reason)))
        parts.append(line)
    console.print(Panel(Group(*parts), title=_("Web-log attack scan"), title_align="left",
                        border_style="red" if summary.succeeded else "blue"))


# ---------------------------------------------------------------- HTML


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("renkei.logs", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True, slots=True)
class FindingView:
    """A finding as one table row shows it: translated names, clipped and marked text."""

    where: str
    category: Category
    category_name: str
    rule: str
    rule_title: str
    severity: Severity
    severity_name: str
    src: str
    time: str
    request: Markup
    user_agent: Markup
    field: str
    status: str
    fragment: str
    outcome: str
    succeeded: bool | None
    reason: str
    count: int


def short_names(result: ScanResult) -> dict[str, str]:
    """A file's base name where it is unambiguous: table rows stay narrow, the files table
    has the full paths."""
    names = {f.file for f in result.files} | {f.file for f in result.findings}
    base = {name: file_name(name) for name in names}
    taken = Counter(base.values())
    return {name: short if taken[short] == 1 else name for name, short in base.items()}


def _reason(finding: Finding, _: Translate) -> str:
    """The judge's reason in the report's language (its templates are in report.po)."""
    if not finding.reason:
        return ""
    try:
        return _(finding.reason).format(**finding.reason_args)
    except (KeyError, IndexError, ValueError):
        return finding.reason_text


def _view(finding: Finding, _: Translate, names: dict[str, str], zone: timezone) -> FindingView:
    request = f"{finding.method} {finding.target}"
    in_request = _find(request, finding.fragment) is not None
    agent = "" if finding.user_agent in ("", "-") else finding.user_agent
    return FindingView(
        where=f"{visible(names.get(finding.file, finding.file))}:{finding.line}",
        category=finding.category,
        category_name=_(CATEGORY_TEXT[finding.category][0]),
        rule=visible(finding.rule),
        rule_title=clip(visible(finding.rule_title), 120),
        severity=finding.severity,
        severity_name=_(SEVERITY_NAMES[finding.severity]),
        src=clip(visible(finding.src), 64),
        time=local_time(finding.time, zone),
        request=highlight(request, finding.fragment),
        # The user agent only where the match was in it: it is what the analyst must see.
        user_agent=highlight(agent, finding.fragment, 160)
        if agent and not in_request and finding.field != "target" else Markup(""),
        field=visible(finding.field),
        status="—" if finding.status is None else str(finding.status),
        fragment=clip(visible(finding.fragment), 120),
        outcome=_(OUTCOME_NAMES[finding.succeeded]),
        succeeded=finding.succeeded,
        reason=clip(visible(_reason(finding, _)), 160),
        count=finding.count,
    )


def summary_charts(summary: ReportSummary, _: Translate) -> dict[str, Markup]:
    """The report's charts (findings by category and severity; over time) as inline SVG,
    made by matplotlib from renkei's own labels only (see ``charts``); the console draws a
    stored log's report with these too, so the two never differ."""
    made: dict[str, Markup] = {}
    rows = sorted((r for r in summary.categories if r.findings), key=lambda r: -r.findings)
    if rows:
        made["categories"] = Markup(charts.stacked_bars_svg(  # noqa: S704  (our own SVG)
            [_(CATEGORY_TEXT[r.category][0]) for r in rows],
            [charts.Series(_(SEVERITY_NAMES[s]), SEVERITY_COLORS[s],
                           [r.by_severity[s] for r in rows])
             for s in SEVERITIES if summary.severities[s]],
            xlabel=_("Findings"),
        ))
    timeline = summary.timeline
    if timeline is not None:
        made["timeline"] = Markup(charts.timeline_svg(  # noqa: S704  (our own SVG)
            timeline.starts,
            timeline.step,
            [charts.Series(_(CATEGORY_TEXT[c][0]), CATEGORY_COLORS[c], values)
             for c, values in timeline.attacks.items()],
            context_starts=timeline.request_starts,
            context_step=timeline.request_step,
            context=charts.Series(_("All requests"), "#9aa3ad", timeline.requests)
            if timeline.requests else None,
            ylabel=_("Findings") + f" ({per(timeline.step, _)})",
            context_ylabel=_("Requests") + f" ({per(timeline.request_step, _)})",
            xlabel=_("Log time") + f" ({format_offset(timeline.tz)})",
        ))
    return made


def render_html(result: ScanResult, lang: str) -> str:
    """One HTML file with no scripts or external assets: it opens anywhere, offline, and
    can be mailed to a site's operator as it is."""
    _ = translator(lang)
    summary = summarise(result)
    ordered = sorted(result.findings, key=_severity_key)[:TABLE_LIMIT]
    zone = summary.zone
    names = short_names(result)
    template = _environment().get_template("report.html.j2")
    return template.render(
        _=_,
        lang=lang,
        s=summary,
        files=result.files,
        started=result.started,
        charts=summary_charts(summary, _),
        succeeded=[_view(f, _, names, zone)
                   for f in summary.succeeded_findings[:SUCCEEDED_LIMIT]],
        findings=[_view(f, _, names, zone) for f in ordered],
        issues=[(visible(i.file), i.line, visible(_(i.reason)), clip(visible(i.sample)),
                 i.skipped) for i in result.issues[:ISSUE_SAMPLES_SHOWN]],
        issue_reasons=[(visible(_(r)), n) for r, n in summary.issue_counts],
        category_text={c: (_(name), _(text)) for c, (name, text) in CATEGORY_TEXT.items()},
        severity_names={s: _(SEVERITY_NAMES[s]) for s in SEVERITIES},
        severities=SEVERITIES,
        severity_colors=SEVERITY_COLORS,
        table_limit=TABLE_LIMIT,
        succeeded_limit=SUCCEEDED_LIMIT,
        visible=visible,
        zone=format_offset(zone),
        local_time=lambda moment, seconds=True: local_time(moment, zone, seconds=seconds),
        most_source=max((r.findings for r in summary.top_sources), default=1),
    )


# ---------------------------------------------------------------- CSV and JSON


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading ' defuses a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


def write_csv(result: ScanResult, out: TextIO) -> None:
    """One row per finding, in scan order, every field; for spreadsheets and SIEM imports."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for finding in result.findings:
        record = finding.to_json()
        writer.writerow([csv_cell(record[column]) for column in CSV_COLUMNS])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def write_json_report(result: ScanResult, out: TextIO, lang: str) -> None:
    """The whole report as data; names and explanations in ``lang``, keys always English.
    Findings use the public shape of ``logs scan --json`` (``Finding.to_json``)."""
    _ = translator(lang)
    summary = summarise(result, top=JSON_TOP_SOURCES)
    timeline = summary.timeline
    document: dict[str, object] = {
        "report": "renkei.logs.scan",
        "version": 1,
        "lang": lang,
        "summary": {
            "files": summary.files,
            "lines": summary.lines,
            "parsed": summary.parsed,
            "skipped": summary.skipped,
            "bytes_read": summary.bytes_read,
            "seconds": summary.seconds,
            "started": _iso(result.started),
            "finished": _iso(result.finished),
            "findings": summary.findings,
            "sources": summary.sources,
            "succeeded": summary.succeeded,
            "stored": summary.stored,
            "first_seen": _iso(summary.first_seen),
            "last_seen": _iso(summary.last_seen),
        },
        "files": [asdict(f) for f in result.files],
        "by_category": [
            {
                "category": str(row.category),
                "name": _(CATEGORY_TEXT[row.category][0]),
                "description": _(CATEGORY_TEXT[row.category][1]),
                "findings": row.findings,
                "succeeded": row.succeeded,
                "by_severity": {str(s): n for s, n in row.by_severity.items()},
            }
            for row in summary.categories
        ],
        "by_severity": {str(s): n for s, n in summary.severities.items()},
        "timeline": None if timeline is None else {
            "bucket_seconds": int(timeline.step.total_seconds()),
            "attacks": [
                {"start": start.isoformat(), "count": total,
                 "by_category": {str(c): v[i] for c, v in timeline.attacks.items() if v[i]}}
                for i, (start, total) in enumerate(zip(timeline.starts, timeline.totals,
                                                       strict=True))
                if total
            ],
            "requests_bucket_seconds": int(timeline.request_step.total_seconds()),
            "requests": [{"start": start.isoformat(), "count": n}
                         for start, n in zip(timeline.request_starts, timeline.requests,
                                             strict=True)],
        },
        "top_sources": [
            {"src": r.src, "findings": r.findings, "succeeded": r.succeeded,
             "categories": {str(c): n for c, n in r.categories.most_common()},
             "first_seen": _iso(r.first), "last_seen": _iso(r.last)}
            for r in summary.top_sources
        ],
        "parse_issues": {
            "counts": dict(summary.issue_counts),
            "samples": [asdict(i) for i in result.issues],
        },
        "succeeded": _Rows(f.to_json() for f in summary.succeeded_findings),
        "findings": _Rows(f.to_json() for f in result.findings),
    }
    out.write("{")
    for number, (key, value) in enumerate(document.items()):
        out.write(("\n " if number == 0 else ",\n ") + json.dumps(key) + ": ")
        if isinstance(value, _Rows | list):
            out.write("[")
            for index, item in enumerate(value.items if isinstance(value, _Rows) else value):
                out.write(("\n  " if index == 0 else ",\n  ") + _dumps(item))
            out.write("\n ]")
        else:
            out.write(_dumps(value))
    out.write("\n}\n")


@dataclass(frozen=True, slots=True)
class _Rows:
    """A JSON array written one element a line as it is made: a million findings are never
    all turned into dicts at once, and the file stays greppable."""

    items: Iterable[object]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
