"""`renkei plan status|year|report`: measures' statuses per fiscal year, new years, and the
yearly evaluation report (these need the database)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from renkei.core.audit import current_actor
from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal, unit_of_work
from renkei.core.i18n import Translate
from renkei.core.time import SystemClock

status_app = typer.Typer(help="Each measure's status per fiscal year, with notes and evidence.",
                         no_args_is_help=True)
year_app = typer.Typer(help="The fiscal years followed, and starting a new one.",
                       no_args_is_help=True)

Year = Annotated[int, typer.Option("--year", help="The fiscal year.")]
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="As the records stood then: a date (its end, UTC) or an ISO date and time.")]


def moment(text: str | None, _: Translate) -> datetime | None:
    """A date means the end of that day (UTC); a date and time without offset is UTC."""
    if text is None:
        return None
    try:
        if len(text.strip()) == 10:
            return datetime.combine(date.fromisoformat(text.strip()), time.max, tzinfo=UTC)
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(_("{value}: not a date (YYYY-MM-DD) or date and time").format(value=text[:40]), _)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def day(text: str | None, _: Translate) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        _fail(_("{value}: not a date (YYYY-MM-DD)").format(value=text[:40]), _)


@status_app.command("set")
def status_set(
    measure: Annotated[str, typer.Argument(help="The measure's id, e.g. 2.3(1)(キ).")],
    year: Year,
    status: Annotated[str, typer.Option("--status", help="planned, in_progress, done, delayed or dropped.")],
    note: Annotated[str, typer.Option("--note", help="What happened, for the record.")] = "",
    evidence: Annotated[list[str] | None, typer.Option("--evidence", help="A link (http or https) to the evidence; may be repeated.")] = None,
    files: Annotated[list[Path] | None, typer.Option("--file", help="A file kept as evidence (at most 4 MiB); may be repeated.")] = None,
    evidence_date: Annotated[str | None, typer.Option("--evidence-date", help="The date the evidence is from (YYYY-MM-DD), apart from today's upload.")] = None,
) -> None:
    """Record a measure's status for a fiscal year (appended: the history is kept)."""
    from renkei.plan import status as service
    from renkei.plan.load import PlanDataError, read_bytes

    with unit_of_work() as (session, _):
        given = []
        for path in files or []:
            try:
                given.append(service.EvidenceFile(path.name, read_bytes(
                    path, service.MAX_EVIDENCE_BYTES)))
            except PlanDataError as exc:
                _fail(exc.translate(_), _)
        event = service.set_status(
            session, SystemClock(), measure, year, service.parse_status(status), note=note,
            links=evidence or [], files=given, evidence_date=day(evidence_date, _),
            actor=current_actor())
        typer.echo(f"{event.fiscal_year}\t{event.measure_id}\t{event.status}")


@status_app.command("show")
def status_show(
    year: Annotated[int, typer.Option("--year", help="The fiscal year.")] = 2015,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one measure per line.")] = False,
    only: Annotated[str | None, typer.Option("--status", help="Only measures with this status (none: not recorded).")] = None,
) -> None:
    """Every measure of a year with its status, as of now or an earlier moment."""
    from renkei.plan import status as service

    with unit_of_work() as (session, _):
        wanted = None if only in (None, "none") else service.parse_status(only or "")
        shown = [m for m in service.statuses(session, year, moment(as_of, _))
                 if only is None or m.status is wanted]
    if as_json:
        for item in shown:
            sys.stdout.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
        return
    table = Table(title=_("fiscal year {year}: {count} measures").format(year=year, count=len(shown)))
    for header in (_("id"), _("status"), _("since the year before"), _("owners"), _("note")):
        table.add_column(header, overflow="fold")
    for item in shown:
        table.add_row(literal(item.measure.id), _(item.status.value) if item.status else "—",
                      _(item.mark) if item.mark else "", literal("、".join(item.measure.owners)),
                      literal(item.note.split("\n", 1)[0][:120]))
    Console().print(table, highlight=False)


@status_app.command("history")
def status_history(
    measure: Annotated[str, typer.Argument(help="The measure's id.")],
    year: Year,
) -> None:
    """Every status a measure was given in a year, with its evidence, oldest first."""
    from renkei.plan import status as service

    with unit_of_work() as (session, _):
        for event, evidence in service.history(session, year, measure):
            typer.echo(f"{event.recorded_at:%Y-%m-%dT%H:%M:%SZ}\t{event.status}\t"
                       f"{event.change or '-'}\t{event.actor}\t{event.note}")
            for item in evidence:
                when = item.evidence_date.isoformat() if item.evidence_date else "-"
                typer.echo(f"\t{item.kind}\t{item.url or item.filename}\t{when}")


@year_app.command("start")
def year_start(
    year: Annotated[int, typer.Argument(help="The new fiscal year.")],
    from_year: Annotated[int, typer.Option("--from", help="The year whose statuses are copied.")],
    plan_path: Annotated[Path | None, typer.Option("--plan", help="The new year's plan file (YAML); default: the same plan as before.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was copied as JSON.")] = False,
) -> None:
    """Start a fiscal year as a copy of an earlier one, with changes marked."""
    from renkei.plan import status as service
    from renkei.plan.load import PlanDataError, decode, read_bytes

    with unit_of_work() as (session, _):
        text = None
        if plan_path is not None:
            try:
                text = decode(read_bytes(plan_path), plan_path)
            except PlanDataError as exc:
                _fail(exc.translate(_), _)
        started = service.start_year(session, SystemClock(), year, from_year, plan_text=text,
                                     actor=current_actor())
    if as_json:
        typer.echo(json.dumps(started.as_json(), ensure_ascii=False))
        return
    typer.echo(_("fiscal year {year} started: {carried} carried, {reworded} reworded, {new} "
                 "new, {removed} no longer in the plan").format(
        year=year, carried=started.carried, reworded=started.reworded, new=started.new,
        removed=len(started.removed)))


@year_app.command("list")
def year_list() -> None:
    """The fiscal years followed: year, plan title, the year it was started from."""
    from renkei.plan import status as service

    with unit_of_work() as (session, _):
        for year, title, started_from in service.years(session):
            typer.echo(f"{year}\t{title}\t{started_from or '-'}")


def report(
    year: Year,
    out: Annotated[Path, typer.Option(
        "--out", help="The file to write: HTML, or PDF when its name ends in .pdf.")],
    lang: Annotated[str | None, typer.Option("--lang", help="ja or en; default: RENKEI_LANG.")] = None,
    as_of: AsOf = None,
) -> None:
    """The yearly evaluation report as one HTML or PDF file: progress by chapter and by
    responsible body with charts, delayed measures, audit results."""
    from renkei.core.config import load_config
    from renkei.plan.report import render_html

    with unit_of_work() as (session, _):
        language = lang or load_config().lang
        if language not in ("ja", "en"):
            _fail(_("--lang is ja or en"), _)
        html = render_html(session, year, language, now=SystemClock().now(),
                           as_of=moment(as_of, _))
    if out.suffix.lower() == ".pdf":
        from renkei.core.pdf import PdfUnavailableError, html_to_pdf

        try:
            out.write_bytes(html_to_pdf(html))
        except PdfUnavailableError as error:
            _fail(error.translate(_), _)
    else:
        out.write_text(html, encoding="utf-8")
    typer.echo(str(out))
