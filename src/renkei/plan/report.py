"""The yearly evaluation report, as one self-contained HTML file in Japanese or English:
progress by chapter and by responsible body (with charts), the delayed and dropped
measures, and the year's audit results compared with the campaign before.

Notes, findings and names are people's text: the template autoescapes everything and its
CSP forbids scripts; links are only the http(s) evidence URLs the status service accepted.
Charts are the logs domain's inline-SVG helpers, drawn from renkei's own labels and counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import Response

from renkei.core.i18n import Translate, gettext_noop, translator
from renkei.logs import charts
from renkei.plan import audits
from renkei.plan.model import AuditOutcome, NodeKind, Status
from renkei.plan.status import MeasureStatus, plan_for_year, statuses
from renkei.plan.store import Campaign, Framework

STATUS_NAMES: dict[Status | None, str] = {
    Status.DONE: gettext_noop("done"),
    Status.IN_PROGRESS: gettext_noop("in progress"),
    Status.PLANNED: gettext_noop("planned"),
    Status.DELAYED: gettext_noop("delayed"),
    Status.DROPPED: gettext_noop("dropped"),
    None: gettext_noop("not recorded"),
}
STATUS_COLORS: dict[Status | None, str] = {
    Status.DONE: "#1e7b3a", Status.IN_PROGRESS: "#5c93c4", Status.PLANNED: "#b7c4d1",
    Status.DELAYED: "#d9480f", Status.DROPPED: "#6b6f76", None: "#e4e6ea",
}
OUTCOME_NAMES: dict[AuditOutcome, str] = {
    AuditOutcome.COMPLIANT: gettext_noop("compliant"),
    AuditOutcome.PARTIAL: gettext_noop("partially compliant"),
    AuditOutcome.NON_COMPLIANT: gettext_noop("non-compliant"),
    AuditOutcome.NOT_APPLICABLE: gettext_noop("not applicable"),
    AuditOutcome.NOT_ASSESSED: gettext_noop("not assessed"),
}
TOP_OWNERS = 25
TEXT_LIMIT = 300


@dataclass(frozen=True)
class Row:
    label: str
    counts: dict[Status | None, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done_share(self) -> str:
        return f"{100 * self.counts.get(Status.DONE, 0) / self.total:.0f}%" if self.total else "—"


def _rows(groups: dict[str, list[MeasureStatus]]) -> list[Row]:
    return [Row(label, {s: sum(1 for m in items if m.status is s) for s in STATUS_NAMES})
            for label, items in groups.items()]


def _clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("renkei.plan", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _chart(rows: list[Row], _: Translate, xlabel: str) -> Markup:
    present = [s for s in STATUS_NAMES if any(r.counts[s] for r in rows)]
    return Markup(charts.stacked_bars_svg(  # noqa: S704  (our own SVG of our own labels)
        [r.label for r in rows],
        [charts.Series(_(STATUS_NAMES[s]), STATUS_COLORS[s], [r.counts[s] for r in rows])
         for s in present], xlabel=xlabel))


def _audits(session: Session, year: int) -> list[dict[str, Any]]:
    """Each campaign of the year: per organisation the counts of each result, and the
    trend against the same organisation's newest earlier campaign on the same framework."""
    found = []
    for campaign in audits.campaigns(session, year=year):
        framework = session.get(Framework, campaign.framework_id)
        assert framework is not None
        earlier = [c for c in audits.campaigns(session) if c.fiscal_year < year
                   and _framework_key(session, c) == framework.key]
        rows = []
        for assessment, org in audits.assessments(session, campaign):
            counts = audits.counts(session, assessment.id, framework.id)
            previous = next((c for c in reversed(earlier)
                             if audits.assessments(session, c, org.id)), None)
            trend: Counter[str] = Counter()
            if previous is not None:
                trend.update(c.trend for c in audits.compare(session, previous.name,
                                                             campaign.name, org.name))
            rows.append({"organisation": org.name, "counts": counts,
                         "previous": previous.name if previous else None,
                         "improved": trend["improved"], "worsened": trend["worsened"]})
        found.append({"name": campaign.name, "title": campaign.title,
                      "framework": f"{framework.title} ({framework.key} {framework.version})",
                      "rows": rows})
    return found


def _framework_key(session: Session, campaign: Campaign) -> str:
    framework = session.get(Framework, campaign.framework_id)
    return framework.key if framework else ""


def render_html(session: Session, year: int, lang: str, *, now: datetime,
                as_of: datetime | None = None) -> str:
    """The report of ``year`` as the records stood at ``as_of`` (default: now)."""
    _ = translator(lang)
    plan = plan_for_year(session, year)
    shown = statuses(session, year, as_of)
    by_chapter: dict[str, list[MeasureStatus]] = {}
    by_owner: dict[str, list[MeasureStatus]] = {}
    for item in shown:
        chapter = plan.chapter_of(item.measure)
        label = f"{chapter.id}. {chapter.title}" if chapter.kind is NodeKind.CHAPTER else chapter.id
        by_chapter.setdefault(label, []).append(item)
        for owner in item.measure.owners:
            by_owner.setdefault(owner, []).append(item)
    chapters = _rows(by_chapter)
    owners = sorted(_rows(by_owner), key=lambda r: (-r.total, r.label))[:TOP_OWNERS]
    totals = Row(_("all measures"), {s: sum(1 for m in shown if m.status is s)
                                     for s in STATUS_NAMES})
    flagged = [m for m in shown if m.status in (Status.DELAYED, Status.DROPPED)]
    template = _environment().get_template("report.html.j2")
    return template.render(
        _=_, lang=lang, year=year, title=plan.title, generated=now.strftime("%Y-%m-%d %H:%M UTC"),
        as_of=as_of.strftime("%Y-%m-%d %H:%M UTC") if as_of else None,
        statuses=list(STATUS_NAMES), status_names={s: _(n) for s, n in STATUS_NAMES.items()},
        status_keys={s: s.value if s else "none" for s in STATUS_NAMES},
        totals=totals, chapters=chapters, owners=owners, owners_shown=TOP_OWNERS,
        chapter_chart=_chart(chapters, _, _("Measures")) if shown else None,
        owner_chart=_chart(owners, _, _("Measures")) if owners else None,
        flagged=[{"id": m.measure.id, "status": _(STATUS_NAMES[m.status]),
                  "owners": "、".join(m.measure.owners), "text": _clip(m.measure.text),
                  "note": m.note, "evidence": m.evidence} for m in flagged],
        outcomes=list(AuditOutcome), outcome_names={o.value: _(n) for o, n in OUTCOME_NAMES.items()},
        campaigns=_audits(session, year),
    )


def report_response(html: str, year: int, fmt: str) -> Response:
    """The report as a download, HTML or PDF, for the API and the console alike."""
    from renkei.core.pdf import html_to_pdf

    if fmt == "pdf":
        return Response(html_to_pdf(html), media_type="application/pdf", headers={
            "content-disposition": f'attachment; filename="plan-report-{year}.pdf"'})
    return Response(html, media_type="text/html; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="plan-report-{year}.html"'})
