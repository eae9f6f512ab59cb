"""`renkei plan audits …`: frameworks, campaigns, results and year-on-year comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from renkei.core.audit import current_actor
from renkei.core.cli_output import fail as _fail
from renkei.core.cli_output import literal, unit_of_work
from renkei.core.time import SystemClock

audits_app = typer.Typer(help="Audits of organisations against a framework (2.3(2)(ア)).",
                         no_args_is_help=True)
CampaignName = Annotated[str, typer.Argument(help="The campaign's name.")]
Org = Annotated[str, typer.Option("--org", help="The organisation assessed.")]


@audits_app.command("load")
def audits_load(
    path: Annotated[Path | None, typer.Argument(help="A framework file (YAML, docs/plan.md); default: the example renkei ships.")] = None,
) -> None:
    """Load a framework (requirement tree); loading the same file again changes nothing."""
    from renkei.plan import audits
    from renkei.plan.frameworks import MAX_FRAMEWORK_BYTES, shipped_frameworks
    from renkei.plan.load import PlanDataError, read_bytes

    chosen = path or shipped_frameworks()[0]
    with unit_of_work() as (session, _):
        try:
            data = read_bytes(chosen, MAX_FRAMEWORK_BYTES)
        except PlanDataError as exc:
            _fail(exc.translate(_), _)
        framework, new = audits.load_framework(session, SystemClock(), data, chosen.name,
                                               actor=current_actor())
        typer.echo(f"{framework.key}\t{framework.version}\t"
                   f"{_('loaded') if new else _('unchanged')}")


@audits_app.command("frameworks")
def audits_frameworks() -> None:
    """The frameworks loaded: key, version, title."""
    from renkei.plan import audits

    with unit_of_work() as (session, _):
        for framework in audits.frameworks(session):
            typer.echo(f"{framework.key}\t{framework.version}\t{framework.title}")


@audits_app.command("campaign")
def audits_campaign(
    name: CampaignName,
    framework: Annotated[str, typer.Option("--framework", help="The framework's key.")],
    year: Annotated[int, typer.Option("--year", help="The fiscal year audited.")],
    orgs: Annotated[list[str] | None, typer.Option("--org", help="An organisation to assess; may be repeated; default: every member.")] = None,
    version: Annotated[str | None, typer.Option("--version", help="The framework's version; default: the one loaded last.")] = None,
    title: Annotated[str, typer.Option("--title", help="What the campaign is.")] = "",
) -> None:
    """Create an audit campaign: one assessment per organisation."""
    from renkei.plan import audits

    with unit_of_work() as (session, _):
        campaign = audits.create_campaign(session, SystemClock(), name, framework, year,
                                          version=version, organisations=orgs or [],
                                          title=title, actor=current_actor())
        for _assessment, org in audits.assessments(session, campaign):
            typer.echo(f"{campaign.name}\t{org.name}")


@audits_app.command("result")
def audits_result(
    campaign: CampaignName,
    org: Org,
    requirement: Annotated[str, typer.Option("--requirement", help="The requirement's ref.")],
    result: Annotated[str, typer.Option("--result", help="compliant, partially_compliant, non_compliant, not_applicable or not_assessed.")],
    evidence: Annotated[str, typer.Option("--evidence", help="What the result rests on.")] = "",
    finding: Annotated[str, typer.Option("--finding", help="What the audit found.")] = "",
    recommendation: Annotated[str, typer.Option("--recommendation", help="What the organisation should do.")] = "",
) -> None:
    """Give one requirement of an organisation's assessment its result (appended)."""
    from renkei.plan import audits

    with unit_of_work() as (session, _):
        assessment = audits.get_assessment(session, campaign, org)
        row = audits.record_result(session, SystemClock(), assessment, requirement,
                                   audits.parse_outcome(result), evidence=evidence,
                                   findings=finding, recommendations=recommendation,
                                   actor=current_actor())
        typer.echo(f"{campaign}\t{org}\t{row.requirement_ref}\t{row.result}")


@audits_app.command("show")
def audits_show(
    campaign: CampaignName,
    org: Org,
    as_json: Annotated[bool, typer.Option("--json", help="Print the assessment as JSON.")] = False,
) -> None:
    """An organisation's assessment: every requirement with its result."""
    from renkei.plan import audits

    with unit_of_work() as (session, _):
        described = audits.describe(session, audits.get_assessment(session, campaign, org))
    if as_json:
        typer.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    # names and a framework's text are others': a rich title is markup even with markup=False
    table = Table(title=literal(f"{described['campaign']} · {described['organisation']}"))
    for header in (_("requirement"), _("title"), _("result"), _("findings")):
        table.add_column(header, overflow="fold")
    for item in described["requirements"]:
        if not item["group"]:
            table.add_row(literal(item["ref"]), literal(item["title"]), _(item["result"]),
                          literal(item["findings"].split("\n", 1)[0][:120]))
    Console().print(table, highlight=False)


@audits_app.command("compare")
def audits_compare(
    earlier: Annotated[str, typer.Argument(help="The earlier campaign.")],
    later: Annotated[str, typer.Argument(help="The later campaign.")],
    org: Org,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines: one requirement per line.")] = False,
) -> None:
    """An organisation's results in two campaigns, requirement by requirement."""
    from renkei.plan import audits

    with unit_of_work() as (session, _):
        rows = audits.compare(session, earlier, later, org)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row.as_json(), ensure_ascii=False))
        return
    table = Table(title=literal(f"{org}: {earlier} → {later}"))
    for header in (_("requirement"), _("title"), literal(earlier), literal(later), _("trend")):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(literal(row.ref), literal(row.title), _(row.before) if row.before else "—",
                      _(row.after) if row.after else "—", _(row.trend))
    Console().print(table, highlight=False)
